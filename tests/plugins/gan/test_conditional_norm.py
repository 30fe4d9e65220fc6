"""Conditional batch norm: batch norm's statistics, the affine parameters of the class."""

from __future__ import annotations

import torch

from labcore_builtins.gan.conditional_norm import ConditionalBatchNorm2d


def test_each_example_gets_its_class_scale_and_shift():
    torch.manual_seed(0)
    norm = ConditionalBatchNorm2d(3, num_classes=5).double()
    with torch.no_grad():
        norm.scale.weight.copy_(torch.randn(5, 3))
        norm.shift.weight.copy_(torch.randn(5, 3))
    x = torch.randn(6, 3, 4, 4, dtype=torch.float64)
    y = torch.tensor([0, 4, 2, 2, 1, 4])
    out = norm(x, y)
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = x.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    normalised = (x - mean) / torch.sqrt(var + norm.norm.eps)
    for i, label in enumerate(y):
        gamma = norm.scale.weight[label][:, None, None]
        beta = norm.shift.weight[label][:, None, None]
        assert torch.allclose(out[i], gamma * normalised[i] + beta)


def test_starts_as_plain_batch_norm_and_learns_only_the_classes_it_sees():
    norm = ConditionalBatchNorm2d(2, num_classes=3)
    x = torch.randn(4, 2, 3, 3)
    plain = torch.nn.functional.batch_norm(x, None, None, training=True)
    y = torch.tensor([0, 0, 1, 1])
    out = norm(x, y)
    assert torch.allclose(out, plain, atol=1e-6)
    out.pow(2).sum().backward()
    assert norm.scale.weight.grad[2].abs().sum() == 0 and norm.scale.weight.grad[:2].abs().sum() > 0
