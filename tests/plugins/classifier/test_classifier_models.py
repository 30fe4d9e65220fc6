"""Every classifier: output shapes for each norm and init, initialisation by name, validation."""

import math

import pytest
import torch
from torch import nn

from labcore.schema import SchemaError, build
from labcore_builtins.classifier import MLP, VGG, LeNet5, MobileNet, ResNet
from labcore_builtins.classifier.layers import group_count, init_weights, make_norm

MODELS = [MLP, LeNet5, ResNet, VGG, MobileNet]
DIGITS_INFO = {"shape": (1, 8, 8), "num_classes": 10}
NORM_LAYERS = {"batch": (nn.BatchNorm1d, nn.BatchNorm2d), "group": (nn.GroupNorm,)}
FEATURES = {"mlp": 128, "lenet5": 84, "resnet": 64, "vgg": 256, "mobilenet": 128}


def make(cls, info=DIGITS_INFO, **section):
    torch.manual_seed(0)
    return cls(build(cls.Config, section, "model"), info)


@pytest.mark.parametrize("init", ["default", "xavier_uniform", "kaiming_normal"])
@pytest.mark.parametrize("norm", ["batch", "group", "none"])
@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.name)
def test_shapes_for_each_norm_and_init(cls, norm, init):
    model = make(cls, norm=norm, init=init, dropout=0.1)
    x = torch.randn(5, 1, 8, 8)
    assert model.features(x).shape == (5, FEATURES[cls.name])
    assert model(x).shape == (5, 10)
    norm_types = (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm)
    norms = [m for m in model.modules() if isinstance(m, norm_types)]
    if norm == "none":
        assert not norms
    else:
        assert norms and all(isinstance(m, NORM_LAYERS[norm]) for m in norms)


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.name)
def test_colour_images_and_other_class_counts(cls):
    model = make(cls, info={"shape": (3, 16, 12), "num_classes": 4})
    assert model(torch.randn(2, 3, 16, 12)).shape == (2, 4)


def test_lenet5_follows_the_paper_on_32x32_inputs():
    model = make(LeNet5, norm="none")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(c.out_channels, c.kernel_size) for c in convs] == [(6, (5, 5)), (16, (5, 5))]
    assert [(m.in_features, m.out_features) for m in linears] == [(400, 120), (120, 84), (84, 10)]
    assert sum(p.numel() for p in model.parameters()) == 61706


def test_resnet_depth_counts_weighted_layers():
    for depth in (8, 14, 20):
        model = make(ResNet, depth=depth)
        convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
        assert len(convs) + 1 == depth  # 3x3 convolutions plus the output layer
    assert sum(p.numel() for p in make(ResNet, depth=20, norm="none").parameters()) > 0.26e6


def test_mobilenet_uses_depthwise_convolutions():
    model = make(MobileNet, width_multiplier=0.5)
    depthwise = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert [m.groups for m in depthwise] == [8, 16, 32, 32]
    assert model.num_features == 64


def fan_sizes(weight):
    return weight.shape[1] * weight[0, 0].numel(), weight.shape[0] * weight[0, 0].numel()


@pytest.mark.parametrize(
    ("scheme", "expected_std"),
    [
        ("xavier_normal", lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out))),
        ("xavier_uniform", lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out))),
        ("kaiming_normal", lambda fan_in, fan_out: math.sqrt(2 / fan_in)),
        ("kaiming_uniform", lambda fan_in, fan_out: math.sqrt(2 / fan_in)),
    ],
)
def test_init_by_name_sets_the_published_variance(scheme, expected_std):
    torch.manual_seed(0)
    layer = nn.Linear(1000, 300)
    init_weights(layer, scheme)
    std = expected_std(*fan_sizes(layer.weight))
    assert layer.weight.std().item() == pytest.approx(std, rel=0.02)
    assert layer.weight.mean().abs().item() < 0.02 * std
    assert torch.count_nonzero(layer.bias) == 0
    if scheme.endswith("uniform"):
        assert layer.weight.abs().max().item() <= math.sqrt(3) * std * (1 + 1e-6)
    else:
        assert layer.weight.abs().max().item() > math.sqrt(3) * std


def test_init_by_name_changes_the_spread_of_a_models_weights():
    def second_layer_std(init):
        model = make(MLP, init=init, hidden=[512, 512])
        return [m for m in model.modules() if isinstance(m, nn.Linear)][1].weight.std().item()

    assert second_layer_std("xavier_normal") == pytest.approx(math.sqrt(2 / 1024), rel=0.03)
    assert second_layer_std("kaiming_normal") == pytest.approx(math.sqrt(2 / 512), rel=0.03)
    # PyTorch's default draws from U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert second_layer_std("default") == pytest.approx(1 / math.sqrt(3 * 512), rel=0.03)


def test_group_norm_uses_a_divisor_of_the_channels():
    assert group_count(6, 8) == 6 and group_count(16, 8) == 8 and group_count(12, 8) == 6
    assert make_norm("group", 6, max_groups=8).num_groups == 6
    assert isinstance(make_norm("batch", 4, dims=1), nn.BatchNorm1d)


def test_dropout_only_acts_in_training():
    model = make(MLP, dropout=0.5, norm="none")
    x = torch.randn(4, 1, 8, 8)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    assert not torch.equal(model(x), model(x))


@pytest.mark.parametrize(
    ("cls", "section", "message"),
    [
        (ResNet, {"depth": 9}, "6n \\+ 2"),
        (MLP, {"dropout": 1.0}, "dropout"),
        (MLP, {"hidden": []}, "hidden"),
        (MLP, {"init": "orthogonal"}, "expected one of"),
        (MobileNet, {"strides": [1, 2]}, "one value per block"),
        (LeNet5, {"input_size": 12}, "at least 16"),
    ],
)
def test_bad_hyperparameters_are_refused(cls, section, message):
    with pytest.raises(SchemaError, match=message):
        build(cls.Config, section, "model")


def test_data_without_image_info_is_refused():
    with pytest.raises(ValueError, match=r"info\['shape'\] = \(C, H, W\)"):
        make(LeNet5, info={"num_features": 3, "num_classes": 2})
    with pytest.raises(ValueError, match="at least 16x16"):
        make(LeNet5, input_size=0)
    with pytest.raises(ValueError, match="use fewer model.channels"):
        make(VGG, channels=[8, 8, 8, 8])
