"""WGAN: the n_critic schedule (also across a resume), the three Lipschitz constraints."""

import pytest
import torch
from torch import nn

from labcore.schema import SchemaError, build
from labcore.testing import check_model
from labcore_builtins.gan.wgan import WGAN, WGANConfig

INFO = {"shape": (1, 8, 8), "value_range": (-1.0, 1.0)}
TINY = {"z_dim": 4, "g_width": 4, "d_width": 4, "fixed_samples": 8}


def tiny_wgan(**overrides) -> WGAN:
    torch.manual_seed(0)
    return WGAN(WGANConfig(**{**TINY, **overrides}), INFO)


def batch() -> dict[str, torch.Tensor]:
    return {"x": torch.rand(6, 1, 8, 8) * 2 - 1}


def test_wgan_sn_on_digits_honours_the_model_contract(tmp_path):
    result = check_model(WGAN, "digits", model_overrides={**TINY, "n_critic": 2}, workdir=tmp_path)
    assert result.samples.shape == (8, 1, 8, 8)
    assert all("wasserstein" in r for r in result.logs if "critic_loss" in r)
    assert "test/wasserstein" in result.metrics


def test_the_generator_is_updated_every_n_critic_steps(step_context):
    model = tiny_wgan(n_critic=3)
    ctx = step_context(model)
    logs = [model.training_step(batch(), ctx) for _ in range(7)]
    d, g = "discriminator", "generator"
    assert ctx.calls == [d, d, d, g, d, d, d, g, d]
    assert [("g_loss" in log) for log in logs] == [False, False, True, False, False, True, False]
    assert all("wasserstein" in log for log in logs)
    assert int(model.critic_updates) == 7 and int(model.generator_updates) == 2


def test_the_schedule_survives_a_resume_from_the_state_dict(step_context):
    first = tiny_wgan(n_critic=3)
    ctx = step_context(first)
    for _ in range(4):
        first.training_step(batch(), ctx)
    resumed = tiny_wgan(n_critic=3)
    resumed.load_state_dict(first.state_dict())
    ctx = step_context(resumed)
    for _ in range(3):
        resumed.training_step(batch(), ctx)
    # 4 critic updates happened before: the 6th is the next generator update.
    assert ctx.calls == ["discriminator", "discriminator", "generator", "discriminator"]


def test_spectral_norm_is_the_default_constraint():
    model = tiny_wgan()
    layers = [m for m in model.discriminator.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert layers and all(hasattr(m, "parametrizations") for m in layers)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.discriminator.modules())


def test_weight_clipping_keeps_every_critic_weight_in_range(step_context):
    model = tiny_wgan(constraint="clip", clip_value=0.01, n_critic=1)
    ctx = step_context(model, {"name": "rmsprop", "lr": 0.05})
    for _ in range(3):
        model.training_step(batch(), ctx)
    assert max(p.abs().max().item() for p in model.discriminator.parameters()) <= 0.01
    assert not any(hasattr(m, "parametrizations") for m in model.discriminator.modules())


def test_gradient_penalty_is_added_to_the_critic_loss(step_context):
    model = tiny_wgan(constraint="gradient-penalty", gp_weight=10.0, d_norm="layer")
    log = {k: float(v) for k, v in model.training_step(batch(), step_context(model)).items()}
    assert log["gp"] > 0
    assert log["critic_loss"] == pytest.approx(-log["wasserstein"] + 10.0 * log["gp"], rel=1e-5)


def test_held_out_evaluation_reports_the_wasserstein_estimate(eval_context):
    from labcore import TensorSplit

    model = tiny_wgan()
    out = model.evaluate(TensorSplit(x=torch.rand(10, 1, 8, 8) * 2 - 1), eval_context(4))
    assert set(out) == {"wasserstein"}


@pytest.mark.parametrize(
    "section, message",
    [
        ({"constraint": "gradient-penalty", "d_norm": "batch"}, "d_norm = 'layer' or 'none'"),
        ({"constraint": "clip", "spectral_norm": True}, "spectral_norm = true belongs"),
        ({"n_critic": 0}, "n_critic must be at least 1"),
        ({"constraint": "lipschitz"}, "model.constraint"),
    ],
)
def test_inconsistent_settings_are_explained(section, message):
    with pytest.raises(SchemaError, match=message):
        build(WGANConfig, section, "model")
