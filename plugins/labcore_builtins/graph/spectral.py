r"""Graph Fourier analysis: the eigenbasis of the normalised Laplacian and filters defined in it.

The normalised graph Laplacian of a graph with adjacency :math:`\mathbf{A}` and degrees
:math:`\mathbf{D}` is

.. math::
    \mathbf{L} = \mathbf{I} - \mathbf{D}^{-1/2} \mathbf{A} \mathbf{D}^{-1/2}
    = \mathbf{U} \boldsymbol{\Lambda} \mathbf{U}^\top,

a symmetric matrix whose eigenvalues :math:`0 = \lambda_1 \le \dots \le \lambda_N \le 2` are
the graph's frequencies and whose orthonormal eigenvectors :math:`\mathbf{U}` are its Fourier
basis. The graph Fourier transform of a node signal :math:`\mathbf{x}` is
:math:`\hat{\mathbf{x}} = \mathbf{U}^\top \mathbf{x}`; a spectral filter multiplies each frequency
component by a response :math:`g(\lambda)` and transforms back (the convolution theorem):
:math:`g \star \mathbf{x} = \mathbf{U}\, g(\boldsymbol{\Lambda})\, \mathbf{U}^\top \mathbf{x}`
(Bruna et al., "Spectral Networks and Locally Connected Networks on Graphs", ICLR 2014).

:class:`EigenbasisConv` is that filter with learned responses; :func:`filter_response` reads the
response of an :class:`EigenbasisConv` or of PyG's :class:`~torch_geometric.nn.ChebConv` as a
function of frequency, for plots.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections import OrderedDict
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import ChebConv
from torch_geometric.utils import get_laplacian, to_dense_adj

FilterKind = Literal["chebyshev", "spline", "free"]

LAMBDA_MAX = 2.0
"""Upper bound of the normalised Laplacian's spectrum; frequencies live in ``[0, LAMBDA_MAX]``."""


class GraphTooLargeError(ValueError):
    """The graph has too many nodes for a dense eigendecomposition."""


@dataclasses.dataclass
class FourierBasis:
    r"""The eigendecomposition :math:`\mathbf{L} = \mathbf{U} \boldsymbol{\Lambda} \mathbf{U}^\top`.

    Attributes:
        eigenvalues: ``(N,)`` graph frequencies :math:`\lambda_i`, ascending, in ``[0, 2]``.
        eigenvectors: ``(N, N)`` orthonormal Fourier basis :math:`\mathbf{U}`, one column per
            frequency.
    """

    eigenvalues: torch.Tensor
    eigenvectors: torch.Tensor

    @property
    def num_nodes(self) -> int:
        return self.eigenvalues.shape[0]

    def to(self, device: torch.device, dtype: torch.dtype) -> FourierBasis:
        return FourierBasis(
            self.eigenvalues.to(device, dtype), self.eigenvectors.to(device, dtype)
        )


def normalized_laplacian(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    r"""The dense ``(N, N)`` float64 matrix :math:`\mathbf{I} - \mathbf{D}^{-1/2} \mathbf{A}
    \mathbf{D}^{-1/2}` (an isolated node gets a 1 on the diagonal, as in PyG's ``get_laplacian``).
    """
    index, weight = get_laplacian(
        edge_index, normalization="sym", dtype=torch.float64, num_nodes=num_nodes
    )
    return to_dense_adj(index, edge_attr=weight, max_num_nodes=num_nodes)[0]


def check_graph_size(num_nodes: int, max_nodes: int) -> None:
    """Raise :class:`GraphTooLargeError` when ``num_nodes`` exceeds ``max_nodes``."""
    if num_nodes > max_nodes:
        raise GraphTooLargeError(
            f"the graph has {num_nodes} nodes, more than max_nodes={max_nodes} for a dense "
            f"eigendecomposition (O(N^3) time, O(N^2) memory); use the 'chebnet' model, whose "
            f"polynomial filters need no eigenvectors, or raise model.max_nodes"
        )


def fourier_basis(edge_index: torch.Tensor, num_nodes: int, max_nodes: int) -> FourierBasis:
    """Diagonalise the normalised Laplacian of a graph (in float64, on the edges' device).

    Args:
        edge_index: ``(2, E)`` edges of an undirected graph.
        num_nodes: ``N``.
        max_nodes: the largest ``N`` accepted; the dense decomposition costs ``O(N^3)`` time and
            ``O(N^2)`` memory.

    Raises:
        GraphTooLargeError: when ``N > max_nodes``.
    """
    check_graph_size(num_nodes, max_nodes)
    eigenvalues, eigenvectors = torch.linalg.eigh(normalized_laplacian(edge_index, num_nodes))
    return FourierBasis(eigenvalues.clamp(0.0, LAMBDA_MAX), eigenvectors)


class FourierBasisCache:
    """Computes the :class:`FourierBasis` of each graph once and keeps the latest few.

    A graph is recognised by its node count and the content of its ``edge_index`` (a hash), so
    another tensor holding the same graph (another split's copy, a clone) hits the cache. Each
    device and dtype gets its own entry.
    """

    def __init__(self, max_nodes: int, capacity: int = 4) -> None:
        self.max_nodes = max_nodes
        self.capacity = capacity
        self._bases: OrderedDict[tuple, FourierBasis] = OrderedDict()
        self.misses = 0

    def __call__(
        self, edge_index: torch.Tensor, num_nodes: int, dtype: torch.dtype = torch.float32
    ) -> FourierBasis:
        digest = hashlib.blake2b(edge_index.detach().cpu().numpy().tobytes()).hexdigest()
        key = (num_nodes, digest, edge_index.device, dtype)
        if key in self._bases:
            self._bases.move_to_end(key)
            return self._bases[key]
        self.misses += 1
        basis = fourier_basis(edge_index, num_nodes, self.max_nodes)
        basis = basis.to(edge_index.device, dtype)
        self._bases[key] = basis
        while len(self._bases) > self.capacity:
            self._bases.popitem(last=False)
        return basis


def chebyshev_basis(lam: torch.Tensor, K: int) -> torch.Tensor:
    r"""``(len(lam), K)`` Chebyshev polynomials :math:`T_k(2\lambda/\lambda_{max} - 1)`,
    ``k = 0..K-1``, by the recurrence :math:`T_k = 2 x T_{k-1} - T_{k-2}` (Defferrard et al. 2016,
    eq. 4). These are the responses of ChebConv's terms :math:`T_k(\tilde{\mathbf{L}})`.
    """
    x = 2.0 * lam / LAMBDA_MAX - 1.0
    terms = [torch.ones_like(x), x]
    for _ in range(2, K):
        terms.append(2.0 * x * terms[-1] - terms[-2])
    return torch.stack(terms[:K], dim=1)


def spline_basis(lam: torch.Tensor, K: int) -> torch.Tensor:
    r"""``(len(lam), K)`` cubic B-splines centred on ``K`` evenly spaced frequencies of
    ``[0, 2]``: smooth spectral multipliers, which give spatially localised filters (Bruna et al.
    2014, section 3.2).

    The cardinal cubic B-spline with knot spacing :math:`h = 2/(K-1)` is
    :math:`\beta(u) = (4 - 6u^2 + 3|u|^3)/6` for :math:`|u| < 1`, :math:`(2 - |u|)^3/6` for
    :math:`1 \le |u| < 2`, else 0, evaluated at :math:`u = (\lambda - c_k)/h`.
    """
    if K < 2:
        raise ValueError(f"a spline filter needs K >= 2 control frequencies, got K={K}")
    centres = torch.linspace(0.0, LAMBDA_MAX, K, dtype=lam.dtype, device=lam.device)
    u = ((lam[:, None] - centres[None, :]) / (LAMBDA_MAX / (K - 1))).abs()
    inner = (4.0 - 6.0 * u**2 + 3.0 * u**3) / 6.0
    outer = (2.0 - u).clamp(min=0.0) ** 3 / 6.0
    return torch.where(u < 1.0, inner, outer)


class EigenbasisConv(nn.Module):
    r"""A spectral graph convolution computed in the graph Fourier basis (Bruna et al. 2014,
    section 3.2):

    .. math::
        \mathbf{X}' = \mathbf{U} \Big( \sum_{k=1}^{K} \operatorname{diag}\big(b_k(
        \boldsymbol{\lambda})\big)\, \mathbf{U}^\top \mathbf{X}\, \boldsymbol{\Theta}_k
        \Big) + \mathbf{b},

    so that the response from input channel :math:`i` to output channel :math:`j` at frequency
    :math:`\lambda` is :math:`g_{ij}(\lambda) = \sum_k b_k(\lambda)\, \Theta_{k,ij}`. The basis
    functions :math:`b_k` depend on ``filter``:

    - ``"chebyshev"``: :math:`b_k = T_{k-1}(\lambda - 1)`, a polynomial filter; with equal
      coefficients this layer computes exactly what ``ChebConv(K)`` computes (Defferrard et al.
      2016), without its recurrence.
    - ``"spline"``: cubic B-splines in :math:`\lambda` (:func:`spline_basis`), Bruna's smooth
      multipliers.
    - ``"free"``: one coefficient per eigenvalue (:math:`K = N`, :math:`b_k(\lambda_i) =
      \delta_{ik}`), Bruna's non-parametric filter; it is tied to one graph of ``num_nodes`` nodes.

    The eigendecomposition comes from ``bases`` (a :class:`FourierBasisCache`, shared by the layers
    of a model), so it is computed once per graph.

    Args:
        in_channels: :math:`F_{in}`.
        out_channels: :math:`F_{out}`.
        K: number of basis functions (ignored for ``"free"``).
        filter: ``"chebyshev"``, ``"spline"`` or ``"free"``.
        bases: where eigendecompositions come from; a new cache with ``max_nodes=2000`` if None.
        num_nodes: ``N`` of the graph, required for ``"free"``.
        bias: learn the additive bias :math:`\mathbf{b}`.

    Shapes:
        - input: node features ``(N, F_in)``, edge indices ``(2, E)``
        - output: node features ``(N, F_out)``
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        K: int,
        filter: FilterKind = "spline",
        bases: FourierBasisCache | None = None,
        num_nodes: int | None = None,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if filter == "free":
            if num_nodes is None:
                raise ValueError("filter='free' needs num_nodes: it has one weight per eigenvalue")
            K = num_nodes
        elif K < 1:
            raise ValueError(f"K must be >= 1, got {K}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.K = K
        self.filter = filter
        self.bases = bases if bases is not None else FourierBasisCache(max_nodes=2000)
        self.weight = nn.Parameter(torch.empty(K, in_channels, out_channels))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Glorot-uniform coefficients per basis function (as ChebConv's ``lins``), zero bias."""
        bound = math.sqrt(6.0 / (self.in_channels + self.out_channels))
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def basis_functions(self, lam: torch.Tensor) -> torch.Tensor:
        r"""``(len(lam), K)`` values :math:`b_k(\lambda)` (``"free"``: ``lam`` must be the graph's
        ``N`` eigenvalues, and the result is the identity)."""
        if self.filter == "chebyshev":
            return chebyshev_basis(lam, self.K)
        if self.filter == "spline":
            return spline_basis(lam, self.K)
        if lam.shape[0] != self.K:
            raise ValueError(
                f"a 'free' filter has one weight per eigenvalue of its {self.K}-node graph; got "
                f"{lam.shape[0]} frequencies"
            )
        return torch.eye(self.K, dtype=lam.dtype, device=lam.device)

    def response(self, lam: torch.Tensor) -> torch.Tensor:
        r"""``(len(lam), F_in, F_out)`` responses :math:`g_{ij}(\lambda)` at frequencies ``lam``."""
        basis = self.basis_functions(lam.to(self.weight.dtype))
        return torch.einsum("lk,kio->lio", basis, self.weight)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        basis = self.bases(edge_index, n, x.dtype)
        u = basis.eigenvectors
        if self.filter == "free":
            if n != self.K:
                raise ValueError(
                    f"this 'free' filter was built for a {self.K}-node graph; got {n} nodes"
                )
            out_hat = torch.einsum("ni,nio->no", u.T @ x, self.weight)
        else:
            coefficients = self.weight.permute(1, 0, 2).reshape(self.in_channels, -1)
            # U^T X Theta: associate so that the N x N product meets the narrower matrix.
            if self.K * self.out_channels < self.in_channels:
                projected = u.T @ (x @ coefficients)
            else:
                projected = (u.T @ x) @ coefficients
            projected = projected.view(n, self.K, self.out_channels)
            out_hat = torch.einsum("nk,nko->no", self.basis_functions(basis.eigenvalues), projected)
        out = u @ out_hat
        return out + self.bias if self.bias is not None else out

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, K={self.K}, filter={self.filter!r}"


class ClenshawChebConv(ChebConv):
    r"""PyG's :class:`~torch_geometric.nn.ChebConv` (Defferrard et al. 2016), evaluated by
    Clenshaw's recurrence on linearly mapped features.

    ``ChebConv`` computes :math:`\sum_{k=0}^{K-1} T_k(\tilde{\mathbf{L}}) \mathbf{X}
    \boldsymbol{\Theta}_k` by propagating the :math:`F_{in}`-wide input :math:`K-1` times, then
    applying its :math:`K` linear maps. The same sum is :math:`\sum_k T_k(\tilde{\mathbf{L}})
    \mathbf{P}_k` with :math:`\mathbf{P}_k = \mathbf{X} \boldsymbol{\Theta}_k`, which Clenshaw's
    recurrence sums with :math:`K-1` propagations of :math:`F_{out}`-wide features:

    .. math::
        \mathbf{B}_k = \mathbf{P}_k + 2 \tilde{\mathbf{L}} \mathbf{B}_{k+1} - \mathbf{B}_{k+2}
        \quad (k = K-1, \dots, 1;\ \mathbf{B}_K = \mathbf{B}_{K+1} = 0), \qquad
        \mathbf{X}' = \mathbf{P}_0 + \tilde{\mathbf{L}} \mathbf{B}_1 - \mathbf{B}_2 + \mathbf{b}.

    On wide inputs such as Cora's 1433 word counts (:math:`F_{in} \gg F_{out}`) that is many times
    cheaper, and a sparse COO input works, since the input only meets the linear maps. Parameters,
    ``state_dict`` keys and the Laplacian's normalisation are ``ChebConv``'s.

    Shapes: node features ``(N, F_in)`` (dense or sparse COO), edges ``(2, E)``; output
    ``(N, F_out)``.
    """

    def forward(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        edge_weight: torch.Tensor | None = None,
        batch: torch.Tensor | None = None,
        lambda_max: torch.Tensor | None = None,
    ) -> torch.Tensor:
        edge_index, norm = self.__norm__(
            edge_index, x.size(self.node_dim), edge_weight, self.normalization, lambda_max,
            dtype=x.dtype, batch=batch,
        )
        weights = torch.cat([lin.weight for lin in self.lins])  # one product for all K maps
        projected = F.linear(x, weights).split(self.out_channels, dim=-1)
        out = projected[0]
        if len(projected) > 1:
            b1, b2 = projected[-1], torch.zeros_like(projected[-1])
            for p in reversed(projected[1:-1]):
                b1, b2 = p + 2.0 * self.propagate(edge_index, x=b1, norm=norm) - b2, b1
            out = out + self.propagate(edge_index, x=b1, norm=norm) - b2
        return out + self.bias if self.bias is not None else out


def filter_response(layer: nn.Module, lam: torch.Tensor) -> torch.Tensor:
    r"""``(len(lam), F_in, F_out)`` frequency responses of a spectral layer at frequencies ``lam``.

    For :class:`EigenbasisConv` this is :meth:`EigenbasisConv.response`. For PyG's
    ``ChebConv`` (symmetric normalisation, :math:`\lambda_{max} = 2`) it is
    :math:`\sum_k T_k(\lambda - 1)\, \boldsymbol{\Theta}_k` with
    :math:`\boldsymbol{\Theta}_k` the transposed weight of ``lins[k]``.
    """
    if isinstance(layer, EigenbasisConv):
        return layer.response(lam)
    if isinstance(layer, ChebConv):
        thetas = torch.stack([lin.weight.T for lin in layer.lins])
        basis = chebyshev_basis(lam.to(thetas.dtype), len(layer.lins))
        return torch.einsum("lk,kio->lio", basis, thetas)
    raise TypeError(f"{type(layer).__name__} is not a spectral layer with a frequency response")
