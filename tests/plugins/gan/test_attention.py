"""The SAGAN self-attention block against eqs. 1-3 of Zhang et al. 2019, written out by hand."""

from __future__ import annotations

import torch

from labcore_builtins.gan.attention import SelfAttention


def test_starts_as_the_identity():
    block = SelfAttention(16)
    x = torch.randn(2, 16, 4, 4)
    assert torch.equal(block(x), x)


def test_matches_the_equations_position_by_position():
    torch.manual_seed(0)
    block = SelfAttention(8).double()
    with torch.no_grad():
        block.gamma.fill_(0.7)
    x = torch.randn(2, 8, 3, 2, dtype=torch.float64)
    out = block(x)
    w = {name: getattr(block, name).weight[:, :, 0, 0] for name in "fghv"}
    for n in range(2):
        positions = x[n].flatten(1).T  # (HW, C)
        f, g, h = (positions @ w[k].T for k in "fgh")
        for j in range(positions.shape[0]):
            s = torch.stack([f[i] @ g[j] for i in range(positions.shape[0])])
            beta = torch.softmax(s, dim=0)
            o = w["v"] @ (beta[:, None] * h).sum(dim=0)
            expected = 0.7 * o + positions[j]
            assert torch.allclose(out[n].flatten(1)[:, j], expected)
