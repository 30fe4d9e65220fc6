"""Building blocks shared by the classifiers: normalisation layers and initialisation by name."""

from __future__ import annotations

from typing import Literal

from torch import nn

Norm = Literal["batch", "group", "none"]
Init = Literal["default", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal"]


def group_count(channels: int, max_groups: int) -> int:
    """The largest divisor of ``channels`` that is at most ``max_groups``."""
    return max(g for g in range(1, min(channels, max_groups) + 1) if channels % g == 0)


def make_norm(kind: Norm, channels: int, dims: int = 2, max_groups: int = 8) -> nn.Module:
    """A normalisation layer over ``channels`` features of ``(N, C, H, W)`` (``dims=2``) or
    ``(N, C)`` (``dims=1``) inputs.

    ``batch``: batch normalisation (Ioffe and Szegedy 2015); ``group``: group normalisation (Wu and
    He 2018) with the largest divisor of ``channels`` up to ``max_groups`` as the group count;
    ``none``: the identity.
    """
    if kind == "batch":
        return nn.BatchNorm2d(channels) if dims == 2 else nn.BatchNorm1d(channels)
    if kind == "group":
        return nn.GroupNorm(group_count(channels, max_groups), channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; use batch, group or none")


def init_weights(module: nn.Module, scheme: Init) -> None:
    """Re-initialise the weights of every convolution and linear layer in ``module`` by name.

    ``xavier_*`` (Glorot and Bengio 2010, eq. 16): variance ``2 / (fan_in + fan_out)``;
    ``kaiming_*`` (He et al. 2015, eq. 10, for ReLU): variance ``2 / fan_in``. ``*_uniform``
    draws from ``U(-a, a)`` with ``a = sqrt(3) * std``, ``*_normal`` from ``N(0, std^2)``. Biases
    are set to zero. ``default`` keeps PyTorch's initialisation.
    """
    if scheme == "default":
        return
    initialisers = {
        "xavier_uniform": nn.init.xavier_uniform_,
        "xavier_normal": nn.init.xavier_normal_,
        "kaiming_uniform": lambda w: nn.init.kaiming_uniform_(w, a=0, nonlinearity="relu"),
        "kaiming_normal": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
    }
    if scheme not in initialisers:
        raise ValueError(f"unknown init {scheme!r}; use one of default, {', '.join(initialisers)}")
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            initialisers[scheme](layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)

