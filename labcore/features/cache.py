"""On-disk cache of reference statistics: what the metrics need of a dataset split's real images.

An entry is keyed by everything its content depends on: the dataset (the SHA-256 of the real images
themselves, so a changed dataset or split never matches), the split, the real images used, and the
extractor with its hyperparameters and weights' SHA-256. Its content is a nested dict of tensors
(the extracted features and the real-side state of each metric, keyed by the metric's options and
its state layout: class, ``state_version`` and the names of its real-side states, see
:meth:`labcore.metrics.base.Metric.reference_layout`, so a metric whose state changed never reads
a stale one); tensors sharing storage are stored once. The key is hashed into the file name and
stored inside the file too; an entry is reused only when the stored key equals the wanted one, so
changed inputs never reuse stale statistics. Files are written atomically. Recently used entries
are also kept in memory, so the evaluations of one training run read each file once.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

CACHE_ENV = "LABCORE_CACHE_DIR"
MEMORY_ENTRIES = 8
FORMAT = 1

_memory: OrderedDict[tuple[str, int, str], dict[str, Any]] = OrderedDict()
"""Recently loaded entries by (file, modification time, device)."""


def default_cache_dir() -> Path:
    """``$LABCORE_CACHE_DIR/reference``, else ``~/.cache/labcore/reference``."""
    root = os.environ.get(CACHE_ENV)
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "labcore"
    return base / "reference"


def tensor_sha256(tensor: torch.Tensor) -> str:
    """SHA-256 of a tensor's dtype, shape and bytes."""
    tensor = tensor.detach().cpu().contiguous()
    digest = hashlib.sha256(f"{tensor.dtype}|{tuple(tensor.shape)}|".encode())
    digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class ReferenceCache:
    """Reference statistics under ``root`` (``None``: :func:`default_cache_dir`)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root).expanduser() if root else default_cache_dir()

    @staticmethod
    def digest(key: dict[str, Any]) -> str:
        text = json.dumps({"format": FORMAT, **key}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def path(self, key: dict[str, Any]) -> Path:
        return self.root / f"{self.digest(key)[:40]}.pt"

    def load(self, key: dict[str, Any], device: torch.device | str = "cpu") -> dict | None:
        """The cached content for ``key`` on ``device``, or None when there is none for this key."""
        digest = self.digest(key)
        path = self.path(key)
        if not path.is_file():
            return None
        remembered = (str(path), path.stat().st_mtime_ns, str(device))
        if remembered in _memory:
            _memory.move_to_end(remembered)
            return _memory[remembered]
        try:
            entry = torch.load(path, map_location=device, weights_only=True)
        except Exception:
            return None
        if entry.get("digest") != digest or entry.get("key") != _plain(key):
            return None
        _memory[remembered] = entry["content"]
        while len(_memory) > MEMORY_ENTRIES:
            _memory.popitem(last=False)
        return entry["content"]

    def save(self, key: dict[str, Any], content: dict[str, Any]) -> Path:
        """Store ``content`` (nested dicts of tensors and plain values) for ``key``.

        Returns the file written; ``load``'s ``device`` decides where the tensors come back.
        """
        digest = self.digest(key)
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        torch.save({"digest": digest, "key": _plain(key), "content": content}, tmp)
        os.replace(tmp, path)
        for remembered in [r for r in _memory if r[0] == str(path)]:
            del _memory[remembered]
        return path


def _plain(key: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(key, sort_keys=True, default=str))
