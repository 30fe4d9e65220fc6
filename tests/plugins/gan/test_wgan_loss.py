"""WGAN critic losses: the Wasserstein loss and the hinge loss, against their formulas."""

import numpy as np
import pytest
import torch

from labcore.schema import SchemaError, build
from labcore_builtins.gan.wgan import WGAN, WGANConfig

INFO = {"shape": (1, 8, 8), "value_range": (-1.0, 1.0)}
TINY = {"z_dim": 4, "g_width": 4, "d_width": 4, "fixed_samples": 8, "n_critic": 1}


def tiny_wgan(**overrides) -> WGAN:
    torch.manual_seed(0)
    return WGAN(WGANConfig(**{**TINY, **overrides}), INFO)


def hinge_reference(real: np.ndarray, fake: np.ndarray) -> float:
    """Miyato et al. 2018, eq. 16: E max(0, 1 - D(x)) + E max(0, 1 + D(G(z))), in float64."""
    return float(np.maximum(0.0, 1.0 - real).mean() + np.maximum(0.0, 1.0 + fake).mean())


def scores_and_logs(model: WGAN, step_context) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """One training step; the critic's scores of the real and the generated batch, and the logs."""
    outputs: list[torch.Tensor] = []
    hook = model.discriminator.register_forward_hook(
        lambda _module, _inputs, out: outputs.append(out.detach().double())
    )
    x = torch.linspace(-1.0, 1.0, 6 * 64).reshape(6, 1, 8, 8)
    log = model.training_step({"x": x}, step_context(model))
    hook.remove()
    real, fake = outputs[0].numpy(), outputs[1].numpy()
    return real, fake, {k: float(v) for k, v in log.items()}


@pytest.mark.parametrize("constraint", ["spectral-norm", "clip"])
def test_the_hinge_critic_loss_is_eq_16_of_miyato_et_al(constraint, step_context):
    model = tiny_wgan(loss="hinge", constraint=constraint)
    real, fake, log = scores_and_logs(model, step_context)
    assert log["critic_loss"] == pytest.approx(hinge_reference(real, fake), rel=1e-5)
    assert log["wasserstein"] == pytest.approx(real.mean() - fake.mean(), rel=1e-5, abs=1e-7)


def test_the_hinge_loss_ignores_scores_beyond_the_margin():
    model = tiny_wgan(loss="hinge")
    real = torch.tensor([2.0, 0.5, -1.0], dtype=torch.float64)
    fake = torch.tensor([-3.0, 0.0, 1.5], dtype=torch.float64)
    expected = hinge_reference(real.numpy(), fake.numpy())  # (0 + 0.5 + 2) / 3 + (0 + 1 + 2.5) / 3
    assert model.critic_loss(real, fake).item() == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(6.0 / 3)


def test_the_wasserstein_critic_loss_is_the_negated_estimate(step_context):
    model = tiny_wgan()
    real, fake, log = scores_and_logs(model, step_context)
    assert log["critic_loss"] == pytest.approx(fake.mean() - real.mean(), rel=1e-5, abs=1e-7)
    assert log["critic_loss"] == pytest.approx(-log["wasserstein"], rel=1e-6, abs=1e-7)


def test_an_unknown_critic_loss_is_explained():
    with pytest.raises(SchemaError, match="model.loss"):
        build(WGANConfig, {"loss": "huber"}, "model")
