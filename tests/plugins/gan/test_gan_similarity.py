"""L1, PSNR and SSIM against written-out float64 references and scikit-image."""

import math

import numpy as np
import pytest
import torch

from labcore_builtins.gan.similarity import (
    gaussian_window,
    l1_per_image,
    psnr_per_image,
    ssim_per_image,
    ssim_window_for,
)


def images(seed: int, shape=(3, 2, 16, 16)) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=gen) * 2 - 1
    y = (x + 0.3 * torch.randn(shape, generator=gen)).clamp(-1, 1)
    return x, y


def ssim_reference(x: np.ndarray, y: np.ndarray, data_range: float, window: int, sigma: float):
    """SSIM of one (C, H, W) pair, window by window, in float64 (Wang et al. 2004, eq. 13-16)."""
    t = np.arange(window) - (window - 1) / 2
    g = np.exp(-(t**2) / (2 * sigma**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
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


@pytest.mark.parametrize("window, sigma", [(11, 1.5), (7, 0.95), (5, 1.0)])
def test_ssim_matches_the_window_by_window_reference(window, sigma):
    x, y = images(0)
    got = ssim_per_image(x, y, 2.0, window, sigma)
    for k in range(x.shape[0]):
        expected = ssim_reference(x[k].double().numpy(), y[k].double().numpy(), 2.0, window, sigma)
        assert got[k].item() == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("window, sigma, size", [(11, 1.5, 16), (7, 0.95, 8)])
def test_ssim_matches_scikit_image(window, sigma, size):
    metrics = pytest.importorskip("skimage.metrics", reason="scikit-image is not installed")
    x, y = images(1, (2, 3, size, size))
    got = ssim_per_image(x, y, 2.0, window, sigma)
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


def test_ssim_window_for_small_images():
    assert ssim_window_for(64, 64) == (11, 1.5)
    assert ssim_window_for(8, 8) == (7, pytest.approx(1.5 * 7 / 11))
    assert ssim_window_for(28, 9) == (9, pytest.approx(1.5 * 9 / 11))
    with pytest.raises(ValueError, match="at least 3x3"):
        ssim_window_for(2, 8)


def test_ssim_window_larger_than_the_image_is_explained():
    x, y = images(3, (1, 1, 8, 8))
    with pytest.raises(ValueError, match="ssim_window_for"):
        ssim_per_image(x, y, 2.0)


def test_gaussian_window_is_normalised_and_symmetric():
    w = gaussian_window(11, 1.5)
    assert w.sum().item() == pytest.approx(1.0)
    assert torch.allclose(w, w.flip(0))
    with pytest.raises(ValueError, match="odd"):
        gaussian_window(4, 1.0)


def test_l1_and_psnr_per_image():
    x = torch.zeros(2, 1, 2, 2)
    y = torch.tensor([0.5, -0.5, 0.5, -0.5, 1.0, 1.0, 1.0, 1.0]).view(2, 1, 2, 2)
    assert l1_per_image(x, y).tolist() == [0.5, 1.0]
    # MSE 0.25 and 1 with a data range of 2: 10 log10(4 / 0.25), 10 log10(4 / 1)
    psnr = psnr_per_image(x, y, 2.0)
    assert psnr[0].item() == pytest.approx(10 * math.log10(16))
    assert psnr[1].item() == pytest.approx(10 * math.log10(4))


def test_mismatched_shapes_are_explained():
    with pytest.raises(ValueError, match="one shape"):
        l1_per_image(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 5))
