"""The feature extractors shipped with labcore: LeNet-5 trained on the digits and on MNIST.

Sample-based metrics (FID, KID, ...) compare only when measured with the same network. A
classifier run of one's own serves as an extractor (``classifier``), but each installation trains
its own; these weights ship with labcore, so the digits and MNIST recipes measure with one network
everywhere. Each was trained once by a bundled recipe and exported with :func:`export`:

- ``lenet5-digits``: ``labcore run classifier-digits`` (scikit-learn's 8x8 digits);
- ``lenet5-mnist``: ``labcore run classifier-mnist --set data.root=<folder of the MNIST IDX
  files>`` (8,000 of the 10,000 t10k images; tested on the other 2,000).

``weights/<name>.pt`` holds the model's state dict (read with ``torch.load(weights_only=True)``);
``weights/<name>.json`` its card: the recipe and its resolved model and data sections (without
installation paths), the data info the model was built for (shape, value range, classes), the
SHA-256 of the state dict (:func:`labcore.features.state_dict_sha256`, what metric reports record)
and the test accuracy the run measured. Loading checks the weights against the card's SHA-256.
"""

from __future__ import annotations

import json
import os
from importlib.metadata import version
from pathlib import Path
from typing import Any

import torch

from labcore.features import TrainedClassifierFeatures, state_dict_sha256
from labcore.plugins import get_manager
from labcore.runfolder import load_model
from labcore.schema import build, path_fields
from labcore_builtins.classifier.lenet import LeNet5
from labcore_builtins.classifier.weights import FOLDER as WEIGHTS
from labcore_builtins.classifier.weights import card_file, read_card, weights_file

INFO_KEYS = ("shape", "value_range", "num_classes")


def load_lenet5(name: str, folder: Path = WEIGHTS) -> tuple[LeNet5, dict[str, Any]]:
    """The shipped LeNet-5 ``name`` in eval mode on the CPU, and its card.

    A ValueError when the weights do not match the card (a damaged installation).
    """
    card = read_card(name, folder)
    section = {k: v for k, v in card["model"].items() if k != "name"}
    model = LeNet5(build(LeNet5.Config, section, "model"), card["info"])
    path = weights_file(name, folder)
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    found = state_dict_sha256(model)
    if found != card["state_dict_sha256"]:
        raise ValueError(
            f"{path}: the weights' SHA-256 {found[:12]}... differs from the "
            f"{card['state_dict_sha256'][:12]}... of its card {card_file(name, folder).name}; "
            "the installation is damaged: reinstall labcore"
        )
    return model.eval(), card


def export(run_dir: str | Path, name: str, folder: Path = WEIGHTS) -> Path:
    """Write the LeNet-5 of a finished classifier run as the shipped extractor ``name``.

    The weights are those of the run's final evaluation; its test accuracy is recorded. Returns
    the weights file.
    """
    run_dir = Path(run_dir)
    model, recipe, info = load_model(run_dir, "cpu")
    if recipe["model"]["name"] != LeNet5.name:
        raise ValueError(f"{run_dir} trained {recipe['model']['name']!r}, not {LeNet5.name!r}")
    record = json.loads((run_dir / "metrics.json").read_text())
    dataset = get_manager().get("dataset", recipe["data"]["name"])
    data = {k: v for k, v in recipe["data"].items() if k not in path_fields(dataset.Config)}
    card = {
        "extractor": name,
        "recipe": recipe["run"]["name"],
        "model": recipe["model"],
        "data": data,
        "info": {key: _plain(info[key]) for key in INFO_KEYS},
        "steps": record["step"],
        "state_dict_sha256": state_dict_sha256(model),
        "test_accuracy": record["metrics"]["test/accuracy"],
        "trained_with": {dist: version(dist) for dist in ("labcore", "torch")},
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = weights_file(name, folder)
    _write_atomically(path, lambda tmp: torch.save(model.state_dict(), tmp))
    _write_atomically(
        card_file(name, folder), lambda tmp: tmp.write_text(json.dumps(card, indent=2) + "\n")
    )
    return path


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _write_atomically(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


class ShippedLeNet5(TrainedClassifierFeatures):
    """Base of the shipped LeNet-5 extractors: weights ``weights/<name>.pt``, no hyperparameters."""

    def __init__(self, config: Any) -> None:
        path = weights_file(self.name)
        if not (path.is_file() and card_file(self.name).is_file()):
            raise FileNotFoundError(
                f"the {self.name} extractor's weights {path} (and card) are missing from this "
                "installation: reinstall labcore"
            )
        model, card = load_lenet5(self.name)
        super().__init__(config, model, card["info"], str(path))
        self.card = card


class LeNet5Digits(ShippedLeNet5):
    """LeNet-5 trained on the 8x8 digits (classifier-digits): features (84) and logits (10)."""

    name = "lenet5-digits"


class LeNet5MNIST(ShippedLeNet5):
    """LeNet-5 trained on MNIST 28x28 (classifier-mnist): features (84) and logits (10)."""

    name = "lenet5-mnist"


EXTRACTORS = [LeNet5Digits, LeNet5MNIST]
