"""The GAN family's report sections and conditional evaluation, on stand-in models."""

import pytest
import torch
from PIL import Image

from labcore import TensorSplit
from labcore.features import FeatureExtractor
from labcore.recipes.evaluate import EvaluateConfig
from labcore.testing import plugin_manager
from labcore_builtins.gan.evaluation import class_accuracy, translation_metrics
from labcore_builtins.gan.report import (
    class_accuracy_section,
    critic_curve,
    critic_section,
    points_section,
    translation_section,
)
from labcore_builtins.gan.toy import Ring


class LabelPainter:
    """A conditional 'model' whose sample of class c is an image filled with c / 10."""

    name = "painter"
    num_classes = 10

    def sample(self, n, *, generator, condition=None):
        return condition.float().view(n, 1, 1, 1).expand(n, 1, 4, 4) / 10


class PixelReader(FeatureExtractor):
    """Reads the class back from the mean pixel; class 3 is always misread as 8."""

    name = "pixel-reader"

    def extract(self, images, value_range=(0.0, 1.0)):
        label = (images.flatten(1).mean(1) * 10).round().long().clamp(0, 9)
        label = torch.where(label == 3, 8, label)
        logits = torch.nn.functional.one_hot(label, 10).float()
        return {"features": images.flatten(1), "logits": logits}


def test_class_accuracy_counts_each_requested_class():
    result = class_accuracy(LabelPainter(), PixelReader(None), (0.0, 1.0), 10, per_class=7)
    assert result["class_accuracy/3"] == 0.0
    assert all(result[f"class_accuracy/{c}"] == 1.0 for c in range(10) if c != 3)
    assert result["class_accuracy"] == 0.9


def test_class_accuracy_section_tabulates_the_classes():
    section = class_accuracy_section(LabelPainter(), PixelReader(None), (0.0, 1.0), per_class=5)
    assert "**90.0%**" in section.markdown
    assert "| 3 | 0.000 |" in section.markdown and "| 9 | 1.000 |" in section.markdown


class Identity:
    """A 'translation model' that returns its inputs."""

    def sample(self, n, *, generator, condition=None):
        return condition


def test_translation_metrics_compare_outputs_and_copied_inputs_with_targets():
    gen = torch.Generator().manual_seed(0)
    targets = torch.rand(40, 1, 4, 4, generator=gen)
    inputs = torch.rand(40, 1, 4, 4, generator=gen) + 1.0
    split = TensorSplit(condition=inputs, x=targets)
    config = EvaluateConfig(metrics=["fid"], extractor={"name": "pixel-reader"}, batch_size=16)
    registry = plugin_manager([PixelReader])
    scores = translation_metrics(Identity(), split, config, (0.0, 1.0), "cpu", registry)
    # the identity model's outputs are the inputs: both rows measure the same thing
    assert scores["model"] == scores["copy-input"]
    assert scores["model"]["fid"] > 1.0
    assert scores["model"]["l1"] == pytest.approx((inputs - targets).abs().mean().item())
    assert set(scores["model"]) == {"fid", "l1", "psnr", "ssim"}


def test_translation_section_names_the_baseline_units_and_directions():
    gen = torch.Generator().manual_seed(0)
    split = TensorSplit(
        condition=torch.rand(40, 1, 4, 4, generator=gen), x=torch.rand(40, 1, 4, 4, generator=gen)
    )
    config = EvaluateConfig(metrics=["fid"], extractor={"name": "pixel-reader"}, batch_size=16)
    registry = plugin_manager([PixelReader])
    text = translation_section(Identity(), split, config, (0.0, 1.0), registry).markdown
    assert "| outputs | fid | l1 | psnr (dB) | ssim |" in text
    assert "*copy-input* scores the inputs themselves as outputs" in text
    assert "Lower is better for fid, l1; higher is better for psnr, ssim." in text


def test_critic_section_plots_the_logged_estimate(tmp_path):
    log = [{"step": 10 * i, "wasserstein": w} for i, w in enumerate([0.5, 3.0, 2.0, 1.0, 0.4])]
    log.append({"step": 50, "final/test/wasserstein": 0.3})
    assert critic_curve(log) == ([0, 10, 20, 30, 40], [0.5, 3.0, 2.0, 1.0, 0.4])
    section = critic_section(log, tmp_path / "report" / "w.png")
    assert (tmp_path / "report" / "w.png").is_file()
    assert "Peak 3 at step 10" in section.markdown
    assert critic_section(log[:1], tmp_path / "x.png") is None


def test_points_section_scores_and_draws_generated_points(tmp_path):
    bundle = Ring(Ring.Config(train_size=100, val_size=10, test_size=200)).load()

    class PerfectGenerator:
        name = "perfect"
        info = bundle.info

        def sample(self, n, *, generator, condition=None):
            return bundle.split("train")["x"][:n]

    real = bundle.split("test")["x"]
    section = points_section(PerfectGenerator(), real, tmp_path / "scatter.png")
    assert (tmp_path / "scatter.png").is_file()
    assert "| modes_covered | 8 | modes holding at least 1% of the generated points" in (
        section.markdown
    )
    row = next(line for line in section.markdown.splitlines() if "| fake_to_real |" in line)
    assert row.endswith("| mean distance from a generated point to the nearest real one "
                        "(lower: closer to the data) |")  # fmt: skip
    assert "0 generated points fall outside it" in section.markdown
    assert Image.open(tmp_path / "scatter.png").size == (550, 550)
