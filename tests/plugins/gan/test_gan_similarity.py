"""L1, PSNR and SSIM against written-out float64 references and scikit-image."""

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from labcore_builtins.gan.similarity import (
    gaussian_taps,
    l1_per_image,
    psnr_per_image,
    ssim_per_image,
    ssim_sigma_for,
)


def images(seed: int, shape=(3, 2, 16, 16)) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=gen) * 2 - 1
    y = (x + 0.3 * torch.randn(shape, generator=gen)).clamp(-1, 1)
    return x, y


def ssim_reference(x: np.ndarray, y: np.ndarray, data_range: float, sigma: float) -> float:
    """SSIM of one (C, H, W) pair, window by window, in float64 (Wang et al. 2004, eq. 13-16),
    the Gaussian cut at 3.5 sigma each side as scikit-image cuts it."""
    radius = int(3.5 * sigma + 0.5)
    t = np.arange(-radius, radius + 1)
    g = np.exp(-(t**2) / (2 * sigma**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    window = len(t)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    values = []
    for c in range(x.shape[0]):
        for i in range(x.shape[1] - window + 1):
            for j in range(x.shape[2] - window + 1):
                a = x[c, i : i + window, j : j + window]
                b = y[c, i : i + window, j : j + window]
                mu_a, mu_b = (w * a).sum(), (w * b).sum()
                var_a = (w * (a - mu_a) ** 2).sum()
                var_b = (w * (b - mu_b) ** 2).sum()
                cov = (w * (a - mu_a) * (b - mu_b)).sum()
                values.append(
                    ((2 * mu_a * mu_b + c1) * (2 * cov + c2))
                    / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
                )
    return float(np.mean(values))


@pytest.mark.parametrize(
    "sigma, shape", [(1.5, (3, 2, 16, 16)), (0.95, (2, 3, 9, 12)), (1.0, (2, 1, 13, 10))]
)
def test_ssim_matches_the_window_by_window_reference(sigma, shape):
    x, y = images(0, shape)
    got = ssim_per_image(x, y, 2.0, sigma)
    assert got.shape == (shape[0],) and got.dtype == torch.float64
    for k in range(x.shape[0]):
        expected = ssim_reference(x[k].double().numpy(), y[k].double().numpy(), 2.0, sigma)
        assert got[k].item() == pytest.approx(expected, abs=1e-10)


def test_ssim_takes_the_data_range_it_is_given():
    x, y = images(4, (2, 1, 12, 12))
    x, y = (x + 1) / 2, (y + 1) / 2
    got = ssim_per_image(x, y, 1.0, 1.0)
    for k in range(x.shape[0]):
        expected = ssim_reference(x[k].double().numpy(), y[k].double().numpy(), 1.0, 1.0)
        assert got[k].item() == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("sigma, size", [(1.5, 16), (0.95, 8)])
def test_ssim_matches_scikit_image(sigma, size):
    metrics = pytest.importorskip("skimage.metrics", reason="scikit-image is not installed")
    x, y = images(1, (2, 3, size, size))
    got = ssim_per_image(x, y, 2.0, sigma)
    for k in range(x.shape[0]):
        expected = metrics.structural_similarity(
            x[k].double().numpy(),
            y[k].double().numpy(),
            data_range=2.0,
            channel_axis=0,
            gaussian_weights=True,
            sigma=sigma,
            use_sample_covariance=False,
        )
        assert got[k].item() == pytest.approx(expected, abs=1e-8)


def test_ssim_is_one_for_identical_images_and_drops_with_noise():
    x, y = images(2)
    assert torch.allclose(ssim_per_image(x, x, 2.0), torch.ones(3, dtype=torch.float64))
    assert (ssim_per_image(x, y, 2.0) < 0.9).all()


def test_gaussian_taps_cut_at_three_and_a_half_sigma():
    assert gaussian_taps(1.5) == 11
    assert gaussian_taps(0.95) == 7
    assert gaussian_taps(1.0) == 9


def test_ssim_sigma_for_small_images():
    assert ssim_sigma_for(64, 64) == 1.5
    assert ssim_sigma_for(8, 8) == pytest.approx(1.5 * 7 / 11)
    assert ssim_sigma_for(28, 9) == pytest.approx(1.5 * 9 / 11)
    for side in range(3, 12):
        window = side if side % 2 else side - 1
        assert gaussian_taps(ssim_sigma_for(side, 40)) == window
    with pytest.raises(ValueError, match="at least 3x3"):
        ssim_sigma_for(2, 8)


def test_ssim_window_larger_than_the_image_is_explained():
    x, y = images(3, (1, 1, 8, 8))
    with pytest.raises(ValueError, match=r"11 taps .* ssim_sigma_for"):
        ssim_per_image(x, y, 2.0)


def test_l1_and_psnr_per_image():
    x = torch.zeros(2, 1, 2, 2)
    y = torch.tensor([0.5, -0.5, 0.5, -0.5, 1.0, 1.0, 1.0, 1.0]).view(2, 1, 2, 2)
    assert l1_per_image(x, y).tolist() == [0.5, 1.0]
    # MSE 0.25 and 1 with a data range of 2: 10 log10(4 / 0.25), 10 log10(4 / 1)
    psnr = psnr_per_image(x, y, 2.0)
    assert psnr[0].item() == pytest.approx(10 * math.log10(16), rel=1e-7)
    assert psnr[1].item() == pytest.approx(10 * math.log10(4), rel=1e-7)


def test_psnr_matches_the_float64_formula_per_image():
    x, y = images(5, (4, 3, 7, 5))
    y[0] = 1.5  # outside the data range: not clipped
    got = psnr_per_image(x, y, 2.0)
    assert got.shape == (4,) and got.dtype == torch.float64
    for k in range(4):
        mse = np.mean((x[k].double().numpy() - y[k].double().numpy()) ** 2)
        assert got[k].item() == pytest.approx(10 * np.log10(4.0 / mse), rel=1e-7)
    assert psnr_per_image(x, x, 2.0).tolist() == [math.inf] * 4


def test_mismatched_shapes_are_explained():
    with pytest.raises(ValueError, match="one shape"):
        l1_per_image(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 5))
    with pytest.raises(ValueError, match="one shape"):
        psnr_per_image(torch.zeros(1, 1, 4, 4), torch.zeros(1, 4, 4), 2.0)
    with pytest.raises(ValueError, match="one shape"):
        ssim_per_image(torch.zeros(1, 1, 12, 12), torch.zeros(1, 2, 12, 12), 2.0)


def test_importing_the_translation_models_leaves_torchmetrics_unimported():
    """torchmetrics takes over a second to import: the plugins load it when they measure, so
    commands that measure nothing (``labcore --help``, which loads every plugin) do not pay it."""
    code = (
        "import sys\n"
        "import labcore_builtins.gan.evaluation, labcore_builtins.gan.pix2pix\n"
        "print('torchmetrics' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
