"""The Inception-v3 network of the FID reference tools (Szegedy et al., 2016, "Rethinking the
Inception Architecture for Computer Vision"; weights of Heusel et al.'s TensorFlow FID code, as
ported by pytorch-fid to ``pt_inception-2015-12-05-6726825d.pth``).

Module names and tensor shapes are those of that file (torchvision's ``Inception3`` without the
auxiliary head, with 1008 classes), so it loads as is. The network differs from torchvision's
classification model as the TensorFlow graph does: the average pools of the A, C and first E blocks
ignore padding (``count_include_pad=False``) and the last E block pools with a max.

Input: images ``(N, 3, H, W)`` in ``[0, 1]``, resized to 299 x 299 bilinearly
(``align_corners=False``, as pytorch-fid does) and scaled to ``[-1, 1]``. Output: the 2,048 pool
features (``(N, 2048)``, what FID compares) and the 1,008 logits (``(N, 1008)``, what IS reads).
"""

from __future__ import annotations

import dataclasses
import os
import pickle
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from labcore.features.base import FeatureExtractor, file_sha256, rescale
from labcore.schema import hp

WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = (
    f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{WEIGHTS_FILE}"
)
WEIGHTS_ENV = "LABCORE_INCEPTION_WEIGHTS"
NUM_CLASSES = 1008


class BasicConv2d(nn.Module):
    """Convolution without bias, batch norm (eps 0.001), ReLU."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg_pool(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    """35 x 35 block: 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avgpool-1x1; ``224 + pool_features`` out."""

    def __init__(self, in_channels: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = self.branch_pool(_avg_pool(x))
        return torch.cat([self.branch1x1(x), branch5x5, branch3x3dbl, branch_pool], 1)


class InceptionB(nn.Module):
    """Grid reduction 35 -> 17: 3x3/2 | 1x1-3x3-3x3/2 | maxpool/2; ``480 + in_channels`` out."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([self.branch3x3(x), branch3x3dbl, branch_pool], 1)


class InceptionC(nn.Module):
    """17 x 17 block with factorised 7x7 convolutions (1x7 and 7x1); 768 out."""

    def __init__(self, in_channels: int, channels_7x7: int) -> None:
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        branch7x7dbl = x
        for layer in (
            self.branch7x7dbl_1,
            self.branch7x7dbl_2,
            self.branch7x7dbl_3,
            self.branch7x7dbl_4,
            self.branch7x7dbl_5,
        ):
            branch7x7dbl = layer(branch7x7dbl)
        branch_pool = self.branch_pool(_avg_pool(x))
        return torch.cat([self.branch1x1(x), branch7x7, branch7x7dbl, branch_pool], 1)


class InceptionD(nn.Module):
    """Grid reduction 17 -> 8: 1x1-3x3/2 | 1x1-1x7-7x1-3x3/2 | maxpool/2; ``512 + in`` out."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3 = self.branch3x3_2(self.branch3x3_1(x))
        branch7x7x3 = x
        for layer in (
            self.branch7x7x3_1,
            self.branch7x7x3_2,
            self.branch7x7x3_3,
            self.branch7x7x3_4,
        ):
            branch7x7x3 = layer(branch7x7x3)
        branch_pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([branch3x3, branch7x7x3, branch_pool], 1)


class InceptionE(nn.Module):
    """8 x 8 block with split 1x3 / 3x1 branches; 2048 out. ``max_pool`` for the FID's last one."""

    def __init__(self, in_channels: int, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(in_channels, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3 = self.branch3x3_1(x)
        branch3x3 = torch.cat([self.branch3x3_2a(branch3x3), self.branch3x3_2b(branch3x3)], 1)
        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = torch.cat(
            [self.branch3x3dbl_3a(branch3x3dbl), self.branch3x3dbl_3b(branch3x3dbl)], 1
        )
        if self.max_pool:
            pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        else:
            pooled = _avg_pool(x)
        branch_pool = self.branch_pool(pooled)
        return torch.cat([self.branch1x1(x), branch3x3, branch3x3dbl, branch_pool], 1)


class FIDInceptionV3(nn.Module):
    """The FID Inception-v3: ``(N, 3, 299, 299)`` in ``[-1, 1]`` to pool features and logits.

    ``forward`` returns ``(features (N, 2048), logits (N, 1008))``; the logits are ``fc`` of the
    features, with its bias when ``logits_bias`` (the reference IS tools leave it out).
    """

    def __init__(self, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, max_pool=False)
        self.Mixed_7c = InceptionE(2048, max_pool=True)
        self.fc = nn.Linear(2048, num_classes)

    def forward(
        self, x: torch.Tensor, logits_bias: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for block in (
            self.Mixed_5b,
            self.Mixed_5c,
            self.Mixed_5d,
            self.Mixed_6a,
            self.Mixed_6b,
            self.Mixed_6c,
            self.Mixed_6d,
            self.Mixed_6e,
            self.Mixed_7a,
            self.Mixed_7b,
            self.Mixed_7c,
        ):
            x = block(x)
        features = x.mean(dim=(2, 3))
        logits = F.linear(features, self.fc.weight, self.fc.bias if logits_bias else None)
        return features, logits


def load_fid_weights(net: FIDInceptionV3, path: Path) -> None:
    """Load a ``pt_inception-2015-12-05`` state dict into ``net``, or say what does not match."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError) as exc:
        raise ValueError(
            f"{path} is not a PyTorch weights file ({str(exc).splitlines()[0]}); the "
            f"inception-v3-fid extractor needs {WEIGHTS_FILE}"
        ) from None
    if not isinstance(state, dict):
        raise ValueError(f"{path} does not hold a state dict (got {type(state).__name__})")
    expected = {k: v.shape for k, v in net.state_dict().items()}
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    resized = [k for k in state if k in expected and tuple(state[k].shape) != expected[k]]
    if missing or unexpected or resized:
        raise ValueError(
            f"{path} is not the FID Inception-v3 weights file {WEIGHTS_FILE}: "
            f"{len(missing)} missing keys (e.g. {missing[:3]}), {len(unexpected)} unexpected keys "
            f"(e.g. {unexpected[:3]}), {len(resized)} of another shape (e.g. {resized[:3]})"
        )
    net.load_state_dict(state, strict=False)


@dataclasses.dataclass
class InceptionV3FIDConfig:
    weights: str = hp(
        "", f"path of {WEIGHTS_FILE} ('': the {WEIGHTS_ENV} environment variable)", path=True
    )
    logits_bias: bool = hp(
        False, "add the fc bias to the logits (torch-fidelity and torchmetrics leave it out of IS)"
    )


class InceptionV3FID(FeatureExtractor):
    """The FID Inception-v3 (pool features 2048, logits 1008), weights from a local file."""

    name = "inception-v3-fid"
    Config = InceptionV3FIDConfig

    def __init__(self, config: InceptionV3FIDConfig) -> None:
        super().__init__(config)
        self.net = FIDInceptionV3()
        path = self.weights_path(config)
        load_fid_weights(self.net, path)
        self.weights_file = path
        self._sha256 = file_sha256(str(path))
        self.eval()

    @staticmethod
    def weights_path(config: InceptionV3FIDConfig) -> Path:
        """The weights file the config names, or a FileNotFoundError saying how to supply it."""
        given = config.weights or os.environ.get(WEIGHTS_ENV, "")
        where = (
            f"labcore downloads nothing: get {WEIGHTS_FILE} (published at {WEIGHTS_URL}) and "
            f'name it in the recipe ([evaluate.extractor] weights = "/path/to/{WEIGHTS_FILE}") '
            f"or in the environment ({WEIGHTS_ENV}=/path/to/{WEIGHTS_FILE})"
        )
        if not given:
            raise FileNotFoundError(f"the inception-v3-fid extractor needs its weights; {where}")
        path = Path(given).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"Inception weights file {path} does not exist; {where}")
        return path

    @property
    def weights_sha256(self) -> str:
        """SHA-256 of the weights file (its first 8 hex digits are in the standard file's name)."""
        return self._sha256

    @property
    def source(self) -> str:
        return str(self.weights_file)

    @torch.no_grad()
    def extract(
        self, images: torch.Tensor, value_range: tuple[float, float] = (0.0, 1.0)
    ) -> dict[str, torch.Tensor]:
        if images.dim() != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"expected images (N, 1 or 3, H, W), got {tuple(images.shape)}")
        x = rescale(images.float(), value_range, (0.0, 1.0))
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        features, logits = self.net(2 * x - 1, logits_bias=self.config.logits_bias)
        return {"features": features, "logits": logits}
