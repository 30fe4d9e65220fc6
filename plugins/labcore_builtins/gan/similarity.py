"""Full-reference image similarity, batched: L1, PSNR and SSIM between outputs and targets.

All functions take ``(N, C, H, W)`` tensors of the same shape and return one value per image,
shape ``(N,)``, computed in float64; average them over a split for a dataset figure.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def l1_per_image(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference per image: :math:`\\frac{1}{CHW}\\sum |x - y|`."""
    _check(x, y)
    return (x.double() - y.double()).abs().flatten(1).mean(dim=1)


def psnr_per_image(x: torch.Tensor, y: torch.Tensor, data_range: float) -> torch.Tensor:
    """Peak signal-to-noise ratio per image, in dB.

    .. math:: \\mathrm{PSNR} = 10 \\log_{10} \\frac{L^2}{\\frac{1}{CHW}\\sum (x - y)^2}

    with :math:`L` = ``data_range`` (2 for images in ``[-1, 1]``). Identical images give ``inf``.
    """
    _check(x, y)
    mse = (x.double() - y.double()).pow(2).flatten(1).mean(dim=1)
    return 10.0 * torch.log10(data_range**2 / mse)


def gaussian_window(size: int, sigma: float) -> torch.Tensor:
    """The normalised 1-D Gaussian of ``size`` taps (odd) and standard deviation ``sigma``."""
    if size < 1 or size % 2 == 0:
        raise ValueError(f"the SSIM window size must be odd and positive, got {size}")
    t = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    w = torch.exp(-(t**2) / (2 * sigma**2))
    return w / w.sum()


def ssim_window_for(height: int, width: int) -> tuple[int, float]:
    """Wang et al.'s 11-tap window with sigma 1.5, shrunk (same shape) to fit small images.

    Returns ``(size, sigma)``: ``(11, 1.5)`` for images of at least 11 pixels a side, otherwise the
    largest odd size that fits and ``sigma = 1.5 * size / 11``.
    """
    side = min(height, width)
    size = min(11, side if side % 2 == 1 else side - 1)
    if size < 3:
        raise ValueError(f"SSIM needs images of at least 3x3 pixels, got {height}x{width}")
    return size, 1.5 * size / 11


def ssim_per_image(
    x: torch.Tensor,
    y: torch.Tensor,
    data_range: float,
    window: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004, eq. 13) per image, Gaussian-weighted.

    Local means, variances and the covariance are taken under a Gaussian window (eq. 14-16)

    .. math::
        \\mathrm{SSIM}(x, y) = \\frac{(2\\mu_x\\mu_y + C_1)(2\\sigma_{xy} + C_2)}
        {(\\mu_x^2 + \\mu_y^2 + C_1)(\\sigma_x^2 + \\sigma_y^2 + C_2)},
        \\quad C_1 = (k_1 L)^2, \\; C_2 = (k_2 L)^2,

    at every position where the window fits inside the image (no padding), and averaged over
    positions and channels. With ``window = 11, sigma = 1.5`` this is the paper's setting and
    equals ``skimage.metrics.structural_similarity(..., gaussian_weights=True,
    use_sample_covariance=False, data_range=L)``.
    """
    _check(x, y)
    if min(x.shape[-2:]) < window:
        raise ValueError(
            f"the SSIM window ({window}) is larger than the images {tuple(x.shape[-2:])}; "
            "use ssim_window_for(height, width)"
        )
    channels = x.shape[1]
    g = gaussian_window(window, sigma).to(x.device)
    kernel_h = g.view(1, 1, window, 1).repeat(channels, 1, 1, 1)
    kernel_w = g.view(1, 1, 1, window).repeat(channels, 1, 1, 1)

    def blur(t: torch.Tensor) -> torch.Tensor:
        t = F.conv2d(t, kernel_h, groups=channels)
        return F.conv2d(t, kernel_w, groups=channels)

    x, y = x.double(), y.double()
    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )
    return ssim_map.flatten(1).mean(dim=1)


def _check(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(
            f"expected two (N, C, H, W) tensors of one shape, got {tuple(x.shape)} and "
            f"{tuple(y.shape)}"
        )
