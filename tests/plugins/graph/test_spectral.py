"""The spectral machinery: Fourier basis, its cache, the eigenbasis filter against ChebConv."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import laplacian as scipy_laplacian
from torch_geometric.datasets import KarateClub
from torch_geometric.nn import ChebConv
from torch_geometric.utils import erdos_renyi_graph

from labcore_builtins.graph.spectral import (
    ClenshawChebConv,
    EigenbasisConv,
    FourierBasisCache,
    GraphTooLargeError,
    chebyshev_basis,
    filter_response,
    fourier_basis,
    spline_basis,
)


def random_graph(n: int = 30, p: float = 0.15, seed: int = 0) -> torch.Tensor:
    torch.manual_seed(seed)
    return erdos_renyi_graph(n, p)


def scipy_normalized_laplacian(edge_index: torch.Tensor, n: int) -> np.ndarray:
    """The reference: scipy's normalised Laplacian of the adjacency matrix."""
    rows, cols = edge_index.numpy()
    adjacency = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)).toarray()
    return scipy_laplacian(adjacency, normed=True)


def test_fourier_basis_diagonalises_scipys_normalized_laplacian():
    edge_index = KarateClub()[0].edge_index
    basis = fourier_basis(edge_index, 34, max_nodes=100)
    reference = scipy_normalized_laplacian(edge_index, 34)
    u, lam = basis.eigenvectors.numpy(), basis.eigenvalues.numpy()
    np.testing.assert_allclose(u @ np.diag(lam) @ u.T, reference, atol=1e-10)
    np.testing.assert_allclose(u.T @ u, np.eye(34), atol=1e-10)
    np.testing.assert_allclose(lam, np.linalg.eigvalsh(reference), atol=1e-10)
    assert lam[0] == pytest.approx(0.0, abs=1e-10) and lam[-1] <= 2.0
    assert np.all(np.diff(lam) >= 0)


def test_too_large_graph_is_refused_with_a_pointer_to_chebnet():
    with pytest.raises(GraphTooLargeError, match="chebnet.*max_nodes"):
        fourier_basis(random_graph(30), 30, max_nodes=20)


def test_cache_diagonalises_each_graph_once():
    cache = FourierBasisCache(max_nodes=100, capacity=2)
    a, b, c = random_graph(seed=0), random_graph(seed=1), random_graph(seed=2)
    first = cache(a, 30)
    assert cache(a.clone(), 30) is first  # same graph, another tensor: a hit
    assert cache.misses == 1
    cache(b, 30)
    cache(c, 30)  # evicts a (capacity 2)
    assert cache.misses == 3
    cache(a, 30)
    assert cache.misses == 4
    assert cache(a, 30, torch.float64).eigenvectors.dtype == torch.float64


def test_free_filter_with_response_lambda_is_the_laplacian():
    """The convolution theorem: U diag(g(lambda)) U^T x with g(lambda) = lambda is L x."""
    edge_index, n = random_graph(), 30
    layer = EigenbasisConv(1, 1, K=0, filter="free", num_nodes=n, bias=False).double()
    eigenvalues = layer.bases(edge_index, n, torch.float64).eigenvalues
    with torch.no_grad():
        layer.weight.copy_(eigenvalues.view(n, 1, 1))
    x = torch.randn(n, 1, dtype=torch.float64)
    expected = torch.from_numpy(scipy_normalized_laplacian(edge_index, n)) @ x
    torch.testing.assert_close(layer(x, edge_index), expected, atol=1e-10, rtol=0)


def chebconv_twin(cheb: ChebConv, bases: FourierBasisCache | None = None) -> EigenbasisConv:
    """An EigenbasisConv with a Chebyshev response and ChebConv's coefficients."""
    twin = EigenbasisConv(
        cheb.in_channels, cheb.out_channels, len(cheb.lins), "chebyshev", bases=bases
    )
    with torch.no_grad():
        twin.weight.copy_(torch.stack([lin.weight.T for lin in cheb.lins]))
        twin.bias.copy_(cheb.bias)
    return twin


@pytest.mark.parametrize("K", [1, 2, 3, 5])
@pytest.mark.parametrize("channels", [(6, 4), (40, 3)])  # both association orders of U^T X Theta
def test_eigenbasis_chebyshev_filter_equals_chebconv(K, channels):
    """The eigenbasis filter with a polynomial parameterisation computes ChebConv (to 1e-5)."""
    torch.manual_seed(K)
    edge_index = random_graph(40, 0.1, seed=K)
    edge_index = edge_index[:, edge_index.max(0).values < 39]  # node 39 is isolated
    cheb = ChebConv(*channels, K=K)
    with torch.no_grad():
        cheb.bias.normal_()
    twin = chebconv_twin(cheb)
    x = torch.randn(40, channels[0])
    expected = cheb(x, edge_index)
    torch.testing.assert_close(twin(x, edge_index), expected, atol=1e-5, rtol=0)
    lam = torch.linspace(0, 2, 11)
    torch.testing.assert_close(filter_response(twin, lam), filter_response(cheb, lam))


def test_eigenbasis_filter_trains_like_chebconv():
    """Gradients agree as well: one Adam step on each leaves the coefficients equal."""
    torch.manual_seed(0)
    edge_index, x = KarateClub()[0].edge_index, torch.randn(34, 5)
    cheb = ChebConv(5, 3, K=3)
    twin = chebconv_twin(cheb)
    for layer in (cheb, twin):
        optimizer = torch.optim.Adam(layer.parameters(), lr=0.1)
        layer(x, edge_index).pow(2).sum().backward()
        optimizer.step()
    torch.testing.assert_close(
        twin.weight, torch.stack([lin.weight.T for lin in cheb.lins]), atol=1e-5, rtol=0
    )


def test_chebyshev_basis_is_cos_k_theta():
    lam = torch.linspace(0, 2, 9, dtype=torch.float64)
    theta = torch.arccos(lam - 1)
    expected = torch.stack([torch.cos(k * theta) for k in range(6)], dim=1)
    torch.testing.assert_close(chebyshev_basis(lam, 6), expected)


def test_spline_basis_is_the_cubic_b_spline():
    """Compared with scipy's cardinal cubic B-spline, centred on 5 knots over [0, 2]."""
    from scipy.interpolate import BSpline

    lam = torch.linspace(0, 2, 41, dtype=torch.float64)
    cardinal = BSpline.basis_element([-2, -1, 0, 1, 2], extrapolate=False)
    centres, h = np.linspace(0, 2, 5), 0.5
    expected = np.nan_to_num(cardinal((lam.numpy()[:, None] - centres) / h))
    np.testing.assert_allclose(spline_basis(lam, 5).numpy(), expected, atol=1e-12)


def test_free_filter_is_tied_to_its_graph_size():
    layer = EigenbasisConv(2, 2, K=0, filter="free", num_nodes=30)
    with pytest.raises(ValueError, match="30-node graph; got 20 nodes"):
        layer(torch.randn(20, 2), random_graph(20))
    with pytest.raises(ValueError, match="needs num_nodes"):
        EigenbasisConv(2, 2, K=0, filter="free")


@pytest.mark.parametrize("K", [1, 2, 3, 6])
@pytest.mark.parametrize("channels", [(50, 4), (3, 8)])
def test_clenshaw_chebconv_equals_chebconv(K, channels):
    """Mapping first and summing by Clenshaw's recurrence gives ChebConv's output and gradients."""
    torch.manual_seed(K)
    edge_index = random_graph(40, 0.1, seed=K)
    edge_index = edge_index[:, edge_index.max(0).values < 39]  # node 39 is isolated
    edge_weight = torch.rand(edge_index.shape[1])
    reference = ChebConv(*channels, K=K)
    with torch.no_grad():
        reference.bias.normal_()
    clenshaw = ClenshawChebConv(*channels, K=K)
    clenshaw.load_state_dict(reference.state_dict())
    x = torch.randn(40, channels[0]) * (torch.rand(40, channels[0]) < 0.2)
    expected = reference(x, edge_index)
    torch.testing.assert_close(clenshaw(x, edge_index), expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(clenshaw(x.to_sparse(), edge_index), expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(
        clenshaw(x, edge_index, edge_weight), reference(x, edge_index, edge_weight),
        atol=1e-5, rtol=1e-5,
    )
    reference(x, edge_index).square().sum().backward()
    clenshaw(x, edge_index).square().sum().backward()
    for (name, a), b in zip(reference.named_parameters(), clenshaw.parameters()):
        torch.testing.assert_close(b.grad, a.grad, atol=1e-4, rtol=1e-4, msg=name)
