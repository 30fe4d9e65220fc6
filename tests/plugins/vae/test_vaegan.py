"""The VAE-GAN: the paper's loss assignment to three optimizers, checked through the gradients."""

import contextlib

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

from labcore.testing import check_model
from labcore_builtins.gan.blocks import Discriminator
from labcore_builtins.vae.vaegan import VAEGAN, feature_reconstruction

INFO = {"shape": (1, 4, 4), "value_range": (-1.0, 1.0)}
GAMMA = 0.37


class RecordingContext:
    """Backpropagates each ``ctx.step`` loss from zeroed gradients and keeps the gradients, but
    changes no parameter, so every loss can be recomputed afterwards from the same weights."""

    device = torch.device("cpu")
    global_step = 0
    max_steps = 1

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model
        self.order: list[str] = []
        self.grads: dict[str, dict[str, torch.Tensor]] = {}

    def autocast(self):
        return contextlib.nullcontext()

    def step(self, name: str, loss: torch.Tensor) -> None:
        self.model.zero_grad(set_to_none=True)
        loss.backward()
        self.order.append(name)
        self.grads[name] = {
            n: p.grad.clone() for n, p in self.model.named_parameters() if p.grad is not None
        }


def tiny_vaegan(**overrides) -> VAEGAN:
    torch.manual_seed(0)
    config = VAEGAN.Config(
        **{"arch": "mlp", "z_dim": 3, "hidden": 8, "layers": 1, "d_hidden": 6, "gamma": GAMMA}
        | overrides
    )
    return VAEGAN(config, INFO).double()


def names(model: VAEGAN, prefix: str) -> set[str]:
    return {n for n, _ in model.named_parameters() if n.startswith(prefix)}


def grads_of(loss: torch.Tensor, module: torch.nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    params = dict(module.named_parameters())
    values = torch.autograd.grad(loss, list(params.values()))
    return {f"{prefix}.{n}": g for n, g in zip(params, values)}


def test_each_optimizer_gets_the_papers_losses():
    model = tiny_vaegan()
    x = torch.rand(5, *INFO["shape"], dtype=torch.float64) * 2 - 1
    ctx = RecordingContext(model)
    torch.manual_seed(1)
    model.training_step({"x": x}, ctx)
    assert ctx.order == ["encoder", "decoder", "discriminator"]
    for name in ctx.order:  # each loss reaches exactly its own network's parameters
        assert set(ctx.grads[name]) == names(model, f"{name}.")

    # Algorithm 1 of Larsen et al. (2016), written out from the same weights and noise
    torch.manual_seed(1)
    mu, logvar = model.encoder(x)
    eps = torch.randn_like(mu)
    z_prior = torch.randn(5, 3, dtype=torch.float64)
    q = Normal(mu, torch.exp(0.5 * logvar))
    z = mu + q.scale * eps
    dis = model.discriminator
    real_features = dis.body(x).detach()
    llike = 0.5 * (dis.body(model.decode(z)) - real_features).pow(2).sum(1).mean()
    prior = kl_divergence(q, Normal(0.0, 1.0)).sum(1).mean()
    expected = grads_of(prior + llike, model.encoder, "encoder")

    fakes = model.decode(torch.cat([z.detach(), z_prior]))
    dec_llike = 0.5 * (dis.body(fakes[:5]) - real_features).pow(2).sum(1).mean()
    gan_g = F.softplus(-dis(fakes)).mean()  # non-saturating: -log sigmoid(D(fake))
    expected |= grads_of(GAMMA * dec_llike + gan_g, model.decoder, "decoder")

    gan_d = F.softplus(-dis(x)).mean() + F.softplus(dis(fakes.detach())).mean()
    expected |= grads_of(gan_d, dis, "discriminator")

    recorded = {k: v for name in ctx.order for k, v in ctx.grads[name].items()}
    assert set(recorded) == set(expected)
    for key, grad in expected.items():
        torch.testing.assert_close(recorded[key], grad, rtol=1e-9, atol=1e-12, msg=key)


def test_gamma_weighs_only_the_decoders_reconstruction_term():
    x = torch.rand(4, *INFO["shape"], dtype=torch.float64) * 2 - 1
    runs = {}
    for gamma in (0.0, 1.0, 2.0):
        model = tiny_vaegan(gamma=gamma)
        ctx = RecordingContext(model)
        torch.manual_seed(2)
        model.training_step({"x": x}, ctx)
        runs[gamma] = ctx.grads
    for name in ("encoder", "discriminator"):
        for key, grad in runs[0.0][name].items():
            torch.testing.assert_close(runs[2.0][name][key], grad)
    for key, base in runs[0.0]["decoder"].items():  # linear in gamma: g(2) - g(0) = 2 (g(1) - g(0))
        slope = runs[1.0]["decoder"][key] - base
        torch.testing.assert_close(runs[2.0]["decoder"][key] - base, 2 * slope)


def test_feature_reconstruction_by_hand():
    fake = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    real = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    assert feature_reconstruction(fake, real).item() == pytest.approx((0.5 * 5 + 0.5 * 25) / 2)


def test_discriminator_is_the_gan_familys():
    model = tiny_vaegan(arch="conv", width=4, d_width=4)
    assert isinstance(model.discriminator, Discriminator)
    assert model.configure_optimizers(lambda name, params: name) == {
        "encoder": "encoder",
        "decoder": "decoder",
        "discriminator": "discriminator",
    }


def test_evaluate_reports_reconstruction_errors(digits, eval_context):
    torch.manual_seed(0)
    config = VAEGAN.Config(arch="mlp", z_dim=4, hidden=16, layers=1, d_hidden=16)
    model = VAEGAN(config, digits.info).eval()
    with torch.no_grad():
        result = model.evaluate(digits.split("test"), eval_context(100))
    assert set(result) == {"kl", "feature_reconstruction_loss", "reconstruction_mse"}
    assert all(value > 0 for value in result.values())
    assert result["reconstruction_mse"] < 1.0  # per pixel in [0, 1] units


def test_vaegan_honours_the_model_contract(tmp_path):
    overrides = {"arch": "conv", "z_dim": 4, "width": 8, "d_width": 8}
    result = check_model(VAEGAN, "digits", model_overrides=overrides, steps=4, workdir=tmp_path)
    assert {"test/kl", "test/reconstruction_mse"} <= set(result.metrics)
    assert result.samples.shape == (8, 1, 8, 8)
