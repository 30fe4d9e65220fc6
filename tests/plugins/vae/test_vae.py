"""The VAE: its bound against hand computation, the IWAE bound, the value range, the contract."""

import math

import pytest
import torch
from torch.distributions import Bernoulli, Normal

from labcore.testing import check_model
from labcore_builtins.vae.bounds import iwae_bound
from labcore_builtins.vae.vae import VAE

TINY = {"z_dim": 2, "hidden": 5, "layers": 1}
INFO = {"shape": (1, 2, 3), "value_range": (-1.0, 1.0)}


def tiny_vae(seed: int = 0, info=INFO, **overrides) -> VAE:
    torch.manual_seed(seed)
    return VAE(VAE.Config(**{**TINY, **overrides}), info).double().eval()


def images(n: int, seed: int = 0, value_range=(-1.0, 1.0)) -> torch.Tensor:
    low, high = value_range
    u = torch.rand(n, 1, 2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    return u * (high - low) + low


def by_hand(model: VAE, x: torch.Tensor, eps: torch.Tensor):
    """log p(x|z), log q(z|x) and log p(z) of z = mu + sigma * eps with torch.distributions."""
    mu, logvar = model.encoder(x)
    q = Normal(mu, torch.exp(0.5 * logvar))
    z = mu + q.scale * eps
    logits = model.decoder(z.flatten(0, -2)).view(*z.shape[:-1], -1)
    target = ((x + 1) / 2).flatten(1)
    log_px = Bernoulli(logits=logits, validate_args=False).log_prob(target).sum(-1)
    log_pz = Normal(0.0, 1.0).log_prob(z).sum(-1)
    return log_px, q.log_prob(z).sum(-1), log_pz, q


def test_elbo_terms_against_hand_computation():
    model, x = tiny_vae(), images(4)
    eps = torch.randn(4, 2, dtype=torch.float64)
    log_px_z, kl = model.elbo_terms(x, eps)
    expected_px, _, _, q = by_hand(model, x, eps)
    expected_kl = torch.distributions.kl_divergence(q, Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(log_px_z, expected_px, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(kl, expected_kl, rtol=1e-10, atol=1e-10)


def test_iwae_with_one_sample_is_the_elbo_of_that_sample():
    model, x = tiny_vae(), images(4)
    eps = torch.randn(1, 4, 2, dtype=torch.float64)
    bound = iwae_bound(model.log_weights(x, eps))
    log_px, log_qz, log_pz, _ = by_hand(model, x, eps[0])
    torch.testing.assert_close(bound, log_px - (log_qz - log_pz), rtol=1e-10, atol=1e-10)
    # the same sample's one-sample ELBO estimate, with a Monte Carlo KL
    log_px_z, _ = model.elbo_terms(x, eps[0])
    torch.testing.assert_close(bound, log_px_z - (log_qz - log_pz), rtol=1e-10, atol=1e-10)


def test_log_weights_batch_all_samples_in_one_pass():
    model, x = tiny_vae(), images(3)
    eps = torch.randn(5, 3, 2, dtype=torch.float64)
    batched = model.log_weights(x, eps)
    one_by_one = torch.cat([model.log_weights(x, eps[i : i + 1]) for i in range(5)])
    assert batched.shape == (5, 3)
    torch.testing.assert_close(batched, one_by_one, rtol=1e-12, atol=1e-12)


def test_iwae_bound_grows_with_k_and_is_above_the_elbo(digits, train_model):
    torch.manual_seed(0)
    # beta < 1 keeps the posterior informative, so the bounds differ by more than noise
    model = VAE(VAE.Config(z_dim=4, hidden=64, layers=1, beta=0.3), digits.info)
    train_model(model, digits.split("train"), 100)
    model.eval()
    x = digits.split("test")["x"][:64]
    torch.manual_seed(1)
    with torch.no_grad():
        eps = torch.randn(50, 64, 4)
        elbo = torch.stack([torch.sub(*model.elbo_terms(x, e)) for e in eps]).mean()
        bounds = {k: model.iwae(x, k).mean() for k in (1, 10, 100)}
    assert float(bounds[1]) == pytest.approx(float(elbo), abs=0.1)  # E L_1 = ELBO
    assert elbo + 0.3 < bounds[10] < bounds[100] - 0.2  # Burda et al. 2016, theorem 1


def test_iwae_chunks_examples_but_not_samples(digits, monkeypatch):
    model = VAE(VAE.Config(z_dim=3, hidden=16, layers=1, iwae_chunk=40), digits.info).eval()
    x = digits.split("test")["x"][:10]
    calls = []
    real = model.log_weights
    monkeypatch.setattr(
        model, "log_weights", lambda x, eps: calls.append(eps.shape) or real(x, eps)
    )
    with torch.no_grad():
        assert model.iwae(x, 20).shape == (10,)
    assert calls == [(20, 2, 3)] * 5  # 40 decoder inputs per pass: 2 examples x 20 samples


def test_kl_warmup_and_beta():
    model = tiny_vae(beta=0.5, warmup_steps=4)
    assert [model.kl_weight(s) for s in range(6)] == [0.125, 0.25, 0.375, 0.5, 0.5, 0.5]
    assert tiny_vae(beta=2.0).kl_weight(0) == 2.0


def test_training_loss_is_the_beta_weighted_negative_elbo(digits):
    class Ctx:
        device, global_step, max_steps = torch.device("cpu"), 0, 10
        losses = []

        def autocast(self):
            return torch.autocast("cpu", enabled=False)

        def step(self, name, loss):
            assert name == "main"
            self.losses.append(loss.detach())

    model = VAE(VAE.Config(z_dim=3, hidden=16, layers=1, beta=0.25), digits.info)
    logs = model.training_step({"x": digits.split("train")["x"][:8]}, Ctx())
    assert set(logs) == {"loss", "elbo", "reconstruction_nll", "kl", "beta"}
    expected = logs["reconstruction_nll"] + 0.25 * logs["kl"]
    assert float(Ctx.losses[0]) == pytest.approx(float(expected), rel=1e-6)
    assert float(logs["elbo"]) == pytest.approx(-float(logs["reconstruction_nll"] + logs["kl"]))


def test_value_range_is_mapped_inside_the_model():
    logits = torch.randn(2, 1, 2, 3, dtype=torch.float64)
    unit = images(2, value_range=(0.0, 1.0))
    a = tiny_vae(info={**INFO, "value_range": (0.0, 1.0)})
    b = tiny_vae(info={**INFO, "value_range": (-1.0, 1.0)})
    torch.testing.assert_close(
        a.log_likelihood(logits, unit), b.log_likelihood(logits, unit * 2 - 1)
    )
    for model, (low, high) in ((a, (0.0, 1.0)), (b, (-1.0, 1.0))):
        samples = model.sample(50, generator=torch.Generator().manual_seed(0))
        assert samples.shape == (50, 1, 2, 3)
        assert low <= samples.min() and samples.max() <= high
        expected = model.from_unit(torch.sigmoid(model.decoder(model.fixed_noise[:3])))
        torch.testing.assert_close(model.sample_grid(None, None)[0][:3], expected)


def test_gaussian_decoder_with_a_learned_std():
    model = tiny_vae(likelihood="gaussian", learn_std=True, decoder_std=0.2)
    assert any(p is model.decoder_log_std for p in model.parameters())
    logits, x = torch.randn(3, 1, 2, 3, dtype=torch.float64), images(3)
    expected = Normal(torch.sigmoid(logits), 0.2).log_prob((x + 1) / 2).flatten(1).sum(1)
    torch.testing.assert_close(model.log_likelihood(logits, x), expected)
    fixed = tiny_vae(likelihood="gaussian", decoder_std=0.2)
    assert not any(p is fixed.decoder_log_std for p in fixed.parameters())
    assert fixed.decoder_log_std.item() == pytest.approx(math.log(0.2))


def test_evaluate_reports_bounds_in_nats(digits, eval_context):
    torch.manual_seed(0)
    model = VAE(VAE.Config(z_dim=3, hidden=16, layers=1, iwae_k=7), digits.info).eval()
    with torch.no_grad():
        result = model.evaluate(digits.split("test"), eval_context(100))
    assert list(result) == ["iwae", "elbo", "reconstruction_nll", "kl"]
    assert result["elbo"] == pytest.approx(-(result["reconstruction_nll"] + result["kl"]))
    assert result["kl"] >= 0 and result["reconstruction_nll"] > 0
    no_iwae = VAE(VAE.Config(z_dim=3, hidden=16, layers=1, iwae_k=0), digits.info).eval()
    with torch.no_grad():
        assert "iwae" not in no_iwae.evaluate(digits.split("test"), eval_context(100))


@pytest.mark.parametrize(
    "overrides",
    [
        {"z_dim": 4, "hidden": 32, "layers": 1},
        {"arch": "conv", "z_dim": 4, "width": 8, "likelihood": "gaussian", "learn_std": True},
    ],
    ids=["mlp-bernoulli", "conv-gaussian"],
)
def test_vae_honours_the_model_contract(tmp_path, overrides):
    result = check_model(
        VAE,
        "digits",
        model_overrides={**overrides, "iwae_k": 4},
        steps=4,
        workdir=tmp_path,
    )
    assert {"test/iwae", "test/elbo", "val/kl"} <= set(result.metrics)
    assert result.samples.shape == (8, 1, 8, 8)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"images of shape \(C, H, W\)"):
        VAE(VAE.Config(), {"shape": (2,), "value_range": (0.0, 1.0)})
    with pytest.raises(ValueError, match="value_range"):
        VAE(VAE.Config(), {"shape": (1, 8, 8)})
    with pytest.raises(ValueError, match="decoder_std"):
        VAE.Config(decoder_std=0.0)
    with pytest.raises(ValueError, match="unconditional"):
        tiny_vae().sample(2, generator=torch.Generator(), condition=torch.zeros(2))
