"""Full-reference image similarity, batched: L1, PSNR and SSIM between outputs and targets.

All functions take ``(N, C, H, W)`` tensors of the same shape and return one value per image,
shape ``(N,)``, computed in float64; average them over a split for a dataset figure. PSNR and
SSIM are torchmetrics' implementations; torchmetrics is imported when first needed, as it takes
over a second to import.
"""

from __future__ import annotations

import torch


def l1_per_image(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference per image: :math:`\\frac{1}{CHW}\\sum |x - y|`."""
    _check(x, y)
    return (x.double() - y.double()).abs().flatten(1).mean(dim=1)


def psnr_per_image(x: torch.Tensor, y: torch.Tensor, data_range: float) -> torch.Tensor:
    """Peak signal-to-noise ratio per image, in dB.

    .. math:: \\mathrm{PSNR} = 10 \\log_{10} \\frac{L^2}{\\frac{1}{CHW}\\sum (x - y)^2}

    with :math:`L` = ``data_range`` (2 for images in ``[-1, 1]``); values outside the range are
    not clipped. Identical images give ``inf``. torchmetrics takes the logarithms of ``L`` and of
    10 in float32, so the values agree with the float64 formula to about 1e-7 relative.
    """
    from torchmetrics.functional.image import peak_signal_noise_ratio

    _check(x, y)
    return peak_signal_noise_ratio(
        x.double(), y.double(), data_range=float(data_range), reduction="none", dim=(1, 2, 3)
    )


def gaussian_taps(sigma: float) -> int:
    """The taps of a Gaussian window of standard deviation ``sigma`` cut at 3.5 sigma each side,
    as scikit-image's and torchmetrics' SSIM cut it: ``2 * int(3.5 * sigma + 0.5) + 1``."""
    return 2 * int(3.5 * sigma + 0.5) + 1


def ssim_sigma_for(height: int, width: int) -> float:
    """Wang et al.'s Gaussian window (sigma 1.5, 11 taps), shrunk to fit small images.

    Images of at least 11 pixels a side get ``1.5``; smaller ones the largest odd window
    ``size`` that fits, with ``sigma = 1.5 * size / 11`` (whose :func:`gaussian_taps` is ``size``).
    """
    side = min(height, width)
    size = min(11, side if side % 2 == 1 else side - 1)
    if size < 3:
        raise ValueError(f"SSIM needs images of at least 3x3 pixels, got {height}x{width}")
    return 1.5 * size / 11


def ssim_per_image(
    x: torch.Tensor,
    y: torch.Tensor,
    data_range: float,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004, eq. 13) per image, Gaussian-weighted.

    Local means, variances and the covariance are taken under a Gaussian window of
    :func:`gaussian_taps` ``(sigma)`` taps (eq. 14-16)

    .. math::
        \\mathrm{SSIM}(x, y) = \\frac{(2\\mu_x\\mu_y + C_1)(2\\sigma_{xy} + C_2)}
        {(\\mu_x^2 + \\mu_y^2 + C_1)(\\sigma_x^2 + \\sigma_y^2 + C_2)},
        \\quad C_1 = (k_1 L)^2, \\; C_2 = (k_2 L)^2,

    at every position where the window fits inside the image, and averaged over positions and
    channels. With ``sigma = 1.5`` this is the paper's setting and equals
    ``skimage.metrics.structural_similarity(..., gaussian_weights=True,
    use_sample_covariance=False, data_range=L)``. The SSIM map is torchmetrics'
    ``structural_similarity_index_measure``; its positions nearer the border than half a window,
    where torchmetrics reflects the image, are left out of the mean.
    """
    from torchmetrics.functional.image import structural_similarity_index_measure

    _check(x, y)
    taps = gaussian_taps(sigma)
    height, width = x.shape[-2:]
    if min(height, width) < taps:
        raise ValueError(
            f"the SSIM window ({taps} taps for sigma {sigma:g}) is larger than the images "
            f"{height}x{width}; use ssim_sigma_for(height, width)"
        )
    _, ssim_map = structural_similarity_index_measure(
        x.double(),
        y.double(),
        gaussian_kernel=True,
        sigma=sigma,
        data_range=float(data_range),
        k1=k1,
        k2=k2,
        reduction="none",
        return_full_image=True,
    )
    pad = taps // 2
    return ssim_map[..., pad : height - pad, pad : width - pad].flatten(1).mean(dim=1)


def _check(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(
            f"expected two (N, C, H, W) tensors of one shape, got {tuple(x.shape)} and "
            f"{tuple(y.shape)}"
        )
