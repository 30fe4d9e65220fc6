"""AlexNet, NiN, GoogLeNet, DenseNet, ResNeXt and Wide ResNet: shapes, parameter counts by hand,
input sizes, validation, a few training steps; `labcore summary` totals for every classifier."""

import math

import pytest
import torch
from torch import nn

from labcore import TensorSplit
from labcore.cli.summary import summarize, summary_calls
from labcore.schema import SchemaError, build
from labcore_builtins.classifier.alexnet import AlexNet
from labcore_builtins.classifier.densenet import DenseNet
from labcore_builtins.classifier.googlenet import GoogLeNet, Inception
from labcore_builtins.classifier.nin import NiN
from labcore_builtins.classifier.plugin import MODELS
from labcore_builtins.classifier.resnext import ResNeXt
from labcore_builtins.classifier.wide_resnet import WideResNet
from labcore_builtins.data import load_digits

CLASSIC = [AlexNet, NiN, GoogLeNet, DenseNet, ResNeXt, WideResNet]
TINY = {
    "alexnet": {"channels": [8, 8, 8, 8, 8], "hidden": 16},
    "nin": {"channels": [8, 8, 8]},
    "googlenet": {"stem": 8, "channels": [16, 32], "blocks": 1},
    "densenet": {"depth": 10, "growth_rate": 4},
    "resnext": {"depth": 11, "cardinality": 2, "bottleneck_width": 2, "width": 8},
    "wide-resnet": {"depth": 10, "widen_factor": 1},
}


def make(cls, shape=(1, 32, 32), num_classes=10, **section):
    torch.manual_seed(0)
    return cls(build(cls.Config, section, "model"), {"shape": shape, "num_classes": num_classes})


def count(model):
    return sum(p.numel() for p in model.parameters())


def conv(c_in, c_out, k, groups=1, bias=True):
    """Parameters of a k x k convolution."""
    return c_out * (c_in // groups) * k * k + (c_out if bias else 0)


@pytest.mark.parametrize("shape", [(1, 32, 32), (1, 28, 28), (1, 8, 8), (3, 17, 13)])
@pytest.mark.parametrize("cls", CLASSIC, ids=lambda c: c.name)
def test_logits_and_features_for_each_input_size(cls, shape):
    model = make(cls, shape, num_classes=7, **TINY[cls.name]).eval()
    x = torch.randn(3, *shape)
    assert model(x).shape == (3, 7)
    assert model.features(x).shape == (3, model.num_features)


def test_alexnet_parameters_by_hand():
    model = make(AlexNet, norm="none", channels=[4, 6, 8, 8, 5], hidden=12)
    convs = conv(1, 4, 5) + conv(4, 6, 5) + conv(6, 8, 3) + conv(8, 8, 3) + conv(8, 5, 3)
    # three overlapping poolings: 32 -> 16 -> 8 -> 4
    dense = (5 * 4 * 4 + 1) * 12 + (12 + 1) * 12 + (12 + 1) * 10
    assert count(model) == convs + dense
    lrn = make(AlexNet, local_response_norm=True)
    assert sum(isinstance(m, nn.LocalResponseNorm) for m in lrn.modules()) == 2


def test_nin_parameters_by_hand_and_logits_are_averaged_maps():
    model = make(NiN, norm="none", channels=[6, 5], kernel_sizes=[5, 3])
    block1 = conv(1, 6, 5) + 2 * conv(6, 6, 1)
    block2 = conv(6, 5, 3) + conv(5, 5, 1) + conv(5, 10, 1)
    assert count(model) == block1 + block2  # no fully connected layer
    assert isinstance(model.head, nn.Identity) and model.num_features == 10
    x = torch.randn(2, 1, 32, 32)
    maps = model.body[:-2](x)  # the last block's 10 maps before the global average
    assert maps.shape == (2, 10, 16, 16)
    assert torch.allclose(model(x), maps.mean((2, 3)), atol=1e-6)


def test_inception_block_widths_and_parameters_follow_inception_3a():
    block = Inception(192, 256, lambda c: nn.Identity())  # the paper's (3a), Table 1
    widths = [m.out_channels for m in block.modules() if isinstance(m, nn.Conv2d)]
    assert widths == [64, 96, 128, 16, 32, 32]
    expected = (
        conv(192, 64, 1) + conv(192, 96, 1) + conv(96, 128, 3)
        + conv(192, 16, 1) + conv(16, 32, 5) + conv(192, 32, 1)
    )  # fmt: skip
    assert count(block) == expected  # Table 1 lists 159K, without the biases
    assert block(torch.randn(1, 192, 8, 8)).shape == (1, 256, 8, 8)


def densenet_parameters(depth, k, bottleneck, theta, channels_in=1, classes=10):
    """DenseNet parameters by hand (no normalisation)."""
    n = (depth - 4) // (6 if bottleneck else 3)
    channels = 2 * k if bottleneck else 16
    total = conv(channels_in, channels, 3)
    for block in range(3):
        for _ in range(n):
            if bottleneck:
                total += conv(channels, 4 * k, 1) + conv(4 * k, k, 3)
            else:
                total += conv(channels, k, 3)
            channels += k
        if block < 2:
            out = math.floor(theta * channels)
            total += conv(channels, out, 1)
            channels = out
    return total + (channels + 1) * classes, channels


@pytest.mark.parametrize(
    ("depth", "k", "bottleneck", "theta"), [(16, 8, True, 0.5), (13, 6, False, 1.0)]
)
def test_densenet_parameters_by_hand(depth, k, bottleneck, theta):
    section = {"depth": depth, "growth_rate": k, "bottleneck": bottleneck, "compression": theta}
    model = make(DenseNet, norm="none", **section)
    parameters, features = densenet_parameters(depth, k, bottleneck, theta)
    assert count(model) == parameters and model.num_features == features


def test_resnext_parameters_by_hand():
    model = make(ResNeXt, norm="none", depth=11, cardinality=4, bottleneck_width=2, width=16)
    total, channels = conv(1, 4, 3), 4
    for stage in range(3):
        out, inner = 16 * 2**stage, 4 * 2 * 2**stage
        total += conv(channels, inner, 1) + conv(inner, inner, 3, groups=4) + conv(inner, out, 1)
        total += conv(channels, out, 1)  # every stage's first block projects here
        channels = out
    assert count(model) == total + (64 + 1) * 10
    grouped = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert [m.groups for m in grouped] == [4, 4, 4]


def test_wide_resnet_parameters_by_hand():
    model = make(WideResNet, norm="none", depth=10, widen_factor=2)
    total, channels = conv(1, 16, 3), 16
    for group in range(3):
        out = 32 * 2**group
        total += conv(channels, out, 3) + conv(out, out, 3) + conv(channels, out, 1)
        channels = out
    assert count(model) == total + (128 + 1) * 10
    dropouts = make(WideResNet, block_dropout=0.3).modules()
    assert [m.p for m in dropouts if isinstance(m, nn.Dropout)][:3] == [0.3, 0.3, 0.3]


@pytest.mark.parametrize("cls", CLASSIC, ids=lambda c: c.name)
def test_a_few_steps_on_digits_reduce_the_loss(cls, step_context):
    model = make(cls, (1, 8, 8), **TINY[cls.name]).train()
    images, labels = load_digits()
    batch = TensorSplit(x=images[:64] * 2 - 1, y=labels[:64]).batch(torch.arange(64))
    ctx = step_context(model, lr=1e-2)
    losses = [model.training_step(batch, ctx)["loss"] for _ in range(15)]
    assert losses[-1] < 0.7 * losses[0], losses


@pytest.mark.parametrize(
    ("cls", "section", "message"),
    [
        (AlexNet, {"channels": [8, 8]}, "five positive widths"),
        (NiN, {"kernel_sizes": [5, 4, 3]}, "odd"),
        (NiN, {"channels": [8]}, "one value per block"),
        (GoogLeNet, {"channels": [24]}, "multiples of 16"),
        (DenseNet, {"depth": 15}, "6n \\+ 4"),
        (DenseNet, {"depth": 12, "bottleneck": False}, "3n \\+ 4"),
        (DenseNet, {"compression": 0.0}, "compression"),
        (ResNeXt, {"depth": 21}, "9n \\+ 2"),
        (WideResNet, {"depth": 12}, "6n \\+ 4"),
        (WideResNet, {"block_dropout": 1.0}, "block_dropout"),
    ],
)
def test_bad_hyperparameters_are_refused(cls, section, message):
    with pytest.raises(SchemaError, match=message):
        build(cls.Config, section, "model")


def test_densenet_names_its_minimum_input_size():
    with pytest.raises(ValueError, match="at least 4x4, got 3x3"):
        make(DenseNet, (1, 3, 3))


def conv_and_linear_flops(model, x):
    """2 x multiply-adds of every convolution and linear layer, from their output shapes."""
    total = []

    def hook(module, args, output):
        if isinstance(module, nn.Conv2d):
            per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
            total.append(2 * output.numel() * per_output)
        elif isinstance(module, nn.Linear):
            total.append(2 * output.numel() * module.in_features)

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model.eval()(x)
    for handle in handles:
        handle.remove()
    return sum(total)


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.name)
def test_summary_totals_match_torch_and_a_count_by_layer(cls):
    model = make(cls, **TINY.get(cls.name, {}))
    summary = summarize(model, *summary_calls(model, None))
    assert summary.parameters == count(model)
    assert summary.rows[0].parameters == count(model) and summary.rows[0].output == "(1, 10)"
    assert summary.flops == conv_and_linear_flops(model, torch.zeros(1, 1, 32, 32))
