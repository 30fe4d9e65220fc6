"""DiffAugment: the paper's transformations, differentiable, one policy for real and fake."""

from __future__ import annotations

import pytest
import torch

from labcore.testing import StepContext
from labcore_builtins.gan import diffaugment
from labcore_builtins.gan.cgan import CGAN, CGANConfig
from labcore_builtins.gan.diffaugment import DiffAugment
from labcore_builtins.gan.gan import GAN, GANConfig
from labcore_builtins.gan.wgan import WGAN, WGANConfig

INFO = {"shape": (1, 32, 32), "value_range": (-1.0, 1.0), "num_classes": 3}


def seeded(policy, seed=0):
    augment = DiffAugment(policy)
    return lambda x: augment(x, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("policy", [["color"], ["translation"], ["cutout"],
                                    ["color", "translation", "cutout"]])  # fmt: skip
def test_differentiable_with_respect_to_the_images(policy):
    x = torch.randn(3, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(seeded(policy), (x,))


def test_translation_moves_whole_images_and_fills_with_zero():
    x = torch.arange(64.0).view(1, 1, 8, 8).repeat(16, 1, 1, 1) + 1
    out = diffaugment.translation(x, torch.Generator().manual_seed(1))
    for image in out[:, 0]:
        kept = image[image != 0]
        # a shifted copy: the kept pixels are a contiguous window of the original
        rows = (kept - 1) // 8
        assert len(kept) >= 7 * 7 and rows.unique().numel() >= 7
        assert (image == 0).sum() + len(kept) == 64


def test_cutout_zeroes_one_square_of_half_the_side():
    x = torch.ones(32, 1, 8, 8)
    out = diffaugment.cutout(x, torch.Generator().manual_seed(0))
    zeroed = (out == 0).flatten(1).sum(dim=1)
    assert zeroed.max() == 16 and zeroed.min() >= 4  # 4x4, or less where it overhangs


def test_color_keeps_shape_and_changes_values_per_image():
    x = torch.rand(4, 3, 8, 8) * 2 - 1
    out = diffaugment.color(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and not torch.allclose(out[0] - x[0], out[1] - x[1])


def test_unknown_transformation_is_named():
    with pytest.raises(ValueError, match="'flip'"):
        DiffAugment(["color", "flip"])


class Spy:
    """Records which policy every image batch went through and whether it carries a gradient."""

    def __init__(self, augment):
        self.augment, self.calls = augment, []

    def __call__(self, x, generator=None):
        self.calls.append((self.augment.policy, x.requires_grad))
        return self.augment(x, generator)


@pytest.mark.parametrize(
    "model",
    [
        lambda p: GAN(GANConfig(arch="resnet", g_width=8, d_width=8, diffaugment=p), INFO),
        lambda p: CGAN(CGANConfig(arch="resnet", g_width=8, d_width=8, diffaugment=p,
                                  conditioning="projection"), INFO),  # fmt: skip
        lambda p: WGAN(WGANConfig(g_width=8, d_width=8, diffaugment=p, n_critic=1,
                                  constraint="gradient-penalty"), INFO),  # fmt: skip
    ],
)
def test_real_and_generated_images_go_through_the_same_policy(model):
    torch.manual_seed(0)
    net = model(["translation", "cutout"])
    spy = net.augment = Spy(net.augment)
    ctx = StepContext(net)
    batch = {"x": torch.rand(4, 1, 32, 32) * 2 - 1, "y": torch.tensor([0, 1, 2, 0])}
    net.training_step(batch, ctx)
    policies = {policy for policy, _ in spy.calls}
    assert policies == {("translation", "cutout")}
    # D's update sees real and (detached) fake, G's update the fake with its gradient
    assert len(spy.calls) >= 3 and spy.calls[-1][1] is True
    assert ctx.calls == ["discriminator", "generator"]


def test_evaluation_sees_no_augmentation(eval_context):
    torch.manual_seed(0)
    net = GAN(GANConfig(arch="resnet", g_width=8, d_width=8, diffaugment=["color"]), INFO)
    spy = net.augment = Spy(net.augment)
    from labcore import TensorSplit

    net.evaluate(TensorSplit(x=torch.rand(8, 1, 32, 32) * 2 - 1), eval_context(batch_size=4))
    assert spy.calls == []


def test_points_cannot_be_augmented():
    with pytest.raises(ValueError, match="diffaugment"):
        GAN(GANConfig(diffaugment=["color"]), {"shape": (2,)})
