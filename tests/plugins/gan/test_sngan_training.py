"""SNGAN training: n_dis discriminator steps per generator step, hinge loss, the projection term."""

from __future__ import annotations

import torch

from labcore.testing import StepContext
from labcore_builtins.gan.cgan import CGAN, CGANConfig
from labcore_builtins.gan.gan import GAN, GANConfig
from labcore_builtins.gan.losses import discriminator_hinge_loss

INFO = {"shape": (1, 32, 32), "value_range": (-1.0, 1.0), "num_classes": 3}
ADAM = {"name": "adam", "lr": 2e-4, "betas": [0.0, 0.9]}


def test_generator_updates_every_n_dis_steps():
    torch.manual_seed(0)
    model = GAN(GANConfig(arch="resnet", g_width=8, d_width=8, loss="hinge", spectral_norm=True,
                          n_dis=3), INFO)  # fmt: skip
    ctx = StepContext(model, ADAM)
    x = torch.rand(4, 1, 32, 32) * 2 - 1
    logs = []
    for step in range(6):
        ctx.global_step = step
        logs.append(model.training_step({"x": x}, ctx))
    assert ctx.calls == ["discriminator"] * 2 + ["discriminator", "generator"] + \
        ["discriminator"] * 2 + ["discriminator", "generator"]  # fmt: skip
    assert ["g_loss" in log for log in logs] == [False, False, True] * 2
    assert int(model.generator_updates) == 2


def test_logged_hinge_loss_is_the_formula_on_the_discriminator_outputs():
    torch.manual_seed(0)
    model = GAN(GANConfig(arch="resnet", g_width=8, d_width=8, loss="hinge"), INFO)
    ctx = StepContext(model, ADAM)
    x = torch.rand(4, 1, 32, 32) * 2 - 1
    torch.manual_seed(1)
    logs = model.training_step({"x": x}, ctx)
    d_real, d_fake = logs["d_real"].item(), logs["d_fake"].item()
    assert logs["d_loss"].item() >= max(0.0, 1 - d_real) + max(0.0, 1 + d_fake) - 1e-6  # Jensen
    outputs = torch.tensor([2.0, 0.5, -3.0], dtype=torch.float64)
    expected = (0.0 + 0.5 + 4.0) / 3 + (3.0 + 1.5 + 0.0) / 3
    assert discriminator_hinge_loss(outputs, -outputs).item() == expected


def test_projection_term_equals_y_transpose_v_phi_by_hand():
    torch.manual_seed(0)
    model = CGAN(CGANConfig(arch="resnet", g_width=8, d_width=8, conditioning="projection",
                            spectral_norm=True), INFO)  # fmt: skip
    model.eval()
    d = model.discriminator
    x = torch.rand(5, 1, 32, 32) * 2 - 1
    y = torch.tensor([0, 2, 1, 2, 0])
    with torch.no_grad():
        phi = d.body(x).double()
        v = d.embed.weight.double()  # (K, F), spectrally normalised like every D weight
        one_hot = torch.nn.functional.one_hot(y, 3).double()
        psi = d.head(phi.float()).double().squeeze(1)
        expected = psi + ((one_hot @ v) * phi).sum(dim=1)  # psi(phi(x)) + y^T V phi(x)
        assert torch.allclose(d(x, y).double(), expected, rtol=1e-5, atol=1e-4)


def test_conditional_samples_follow_the_requested_classes_through_the_norms():
    torch.manual_seed(0)
    model = CGAN(CGANConfig(arch="resnet", g_width=8, d_width=8), INFO)
    with torch.no_grad():
        for norm in model.sampler.modules():
            if hasattr(norm, "shift"):
                norm.shift.weight.copy_(torch.arange(3.0)[:, None].expand_as(norm.shift.weight))
    gen = torch.Generator().manual_seed(0)
    a = model.sample(2, generator=gen, condition=torch.tensor([0, 0]))
    gen = torch.Generator().manual_seed(0)
    b = model.sample(2, generator=gen, condition=torch.tensor([2, 2]))
    assert a.shape == (2, 1, 32, 32) and not torch.allclose(a, b)
