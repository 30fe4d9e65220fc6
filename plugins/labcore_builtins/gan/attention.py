"""The self-attention block of SAGAN (Zhang et al. 2019), for generators and discriminators."""

from __future__ import annotations

import torch
from torch import nn


class SelfAttention(nn.Module):
    """Self-attention over the positions of a feature map (Zhang et al. 2019, section 3).

    With :math:`x_i \\in \\mathbb{R}^C` the features at position :math:`i` of the ``H x W`` map and
    the 1x1 convolutions :math:`f, g` (to :math:`C/8` channels), :math:`h` (to :math:`C/2`) and
    :math:`v` (back to :math:`C`),

    .. math::
        \\beta_{j,i} = \\frac{\\exp(s_{ij})}{\\sum_i \\exp(s_{ij})}, \\quad
        s_{ij} = f(x_i)^\\top g(x_j), \\qquad
        o_j = v\\Big(\\sum_i \\beta_{j,i}\\, h(x_i)\\Big), \\qquad
        y_j = \\gamma\\, o_j + x_j

    (eqs. 1-3). :math:`\\gamma` is a learned scalar initialised to 0, so the block starts as the
    identity and the network learns how much non-local evidence to use. The paper's :math:`h`
    keeps :math:`C` channels; :math:`C/2`, as in the authors' code, halves the cost.

    Shapes: ``(N, C, H, W) -> (N, C, H, W)``; ``C`` at least 8.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        if channels < 8:
            raise ValueError(f"SelfAttention needs at least 8 channels, got {channels}")
        self.f = nn.Conv2d(channels, channels // 8, 1, bias=False)
        self.g = nn.Conv2d(channels, channels // 8, 1, bias=False)
        self.h = nn.Conv2d(channels, channels // 2, 1, bias=False)
        self.v = nn.Conv2d(channels // 2, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, height, width = x.shape
        f = self.f(x).flatten(2)  # (N, C/8, HW): positions i
        g = self.g(x).flatten(2)  # (N, C/8, HW): positions j
        h = self.h(x).flatten(2)  # (N, C/2, HW)
        beta = torch.bmm(g.transpose(1, 2), f).softmax(dim=2)  # (N, j, i), rows sum to 1 over i
        attended = torch.bmm(h, beta.transpose(1, 2))  # (N, C/2, j) = sum_i beta[j, i] h_i
        o = self.v(attended.view(n, c // 2, height, width))
        return x + self.gamma * o
