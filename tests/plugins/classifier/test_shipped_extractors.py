"""The LeNet-5 feature extractors shipped with labcore are what their recipes produce."""

import dataclasses
import json
import shutil
import tomllib
from pathlib import Path

import pytest
import torch

from labcore.features import state_dict_sha256
from labcore.metrics.generative import build_extractor
from labcore.plugins import get_manager
from labcore.recipes import recipe as recipe_module
from labcore_builtins.classifier.reference import (
    EXTRACTORS,
    WEIGHTS,
    card_file,
    export,
    load_lenet5,
    read_card,
    weights_file,
)

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = {
    "lenet5-digits": ("classifier-digits", None),
    "lenet5-mnist": ("classifier-mnist", "mnist"),
}


def recipe_and_data(name, shared_data):
    """The shipped extractor's recipe, resolved as `labcore run` does, and its dataset."""
    recipe_name, shared = SHIPPED[name]
    overrides = []
    if shared:  # skips when ../shared/data is absent
        overrides.append(f"data.root={json.dumps(str(shared_data(shared)))}")
    manager = get_manager()
    loaded = recipe_module.load(recipe_name, manager, overrides)
    return loaded, loaded.dataset_cls(loaded.dataset_config).load()


def test_the_classifier_plugin_registers_one_extractor_per_weights_file():
    names = {cls.name for cls in EXTRACTORS}
    assert names == set(SHIPPED) <= set(get_manager().names("feature_extractor"))
    assert {p.stem for p in WEIGHTS.glob("*.pt")} == names
    assert {p.stem for p in WEIGHTS.glob("*.json")} == names
    for name in names:
        card = read_card(name)
        assert card["extractor"] == name and card["recipe"] == SHIPPED[name][0]
        assert weights_file(name).stat().st_size < 400_000


def test_pyproject_ships_the_weights_as_package_data():
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]
    patterns = package_data["labcore_builtins.classifier.weights"]
    shipped = {p for pattern in patterns for p in WEIGHTS.glob(pattern)}
    assert shipped == set(WEIGHTS.glob("*.pt")) | set(WEIGHTS.glob("*.json"))


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_weights_are_the_recipes_model(name, shared_data):
    """Same architecture (keys and shapes) as the recipe's model, the recorded SHA-256 is the
    file's, and the recorded test accuracy is re-measured on the recipe's test split."""
    loaded, bundle = recipe_and_data(name, shared_data)
    card = read_card(name)
    assert card["model"] == loaded.sections["model"]
    root_free = {k: v for k, v in loaded.sections["data"].items() if k != "root"}
    assert {k: v for k, v in root_free.items() if k in card["data"]} == card["data"]
    # options the dataset gained after the weights were made: their defaults change nothing
    defaults = {f.name: f.default for f in dataclasses.fields(loaded.dataset_cls.Config)}
    added = {k: v for k, v in root_free.items() if k not in card["data"]}
    assert added == {k: defaults[k] for k in added}
    assert card["info"] == {k: list(v) if isinstance(v, tuple) else v
                            for k, v in bundle.info.items() if k in card["info"]}  # fmt: skip

    model = loaded.model_cls(loaded.model_config, bundle.info)
    state = torch.load(weights_file(name), map_location="cpu", weights_only=True)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in state.items()} == expected
    model.load_state_dict(state)
    assert state_dict_sha256(model) == card["state_dict_sha256"]

    extractor = build_extractor({"name": name}, "cpu", get_manager())
    assert extractor.weights_sha256 == card["state_dict_sha256"]
    assert extractor.source == str(weights_file(name))
    test = bundle.split("test")
    logits = extractor.extract(test["x"], tuple(bundle.info["value_range"]))["logits"]
    correct = int((logits.argmax(1) == test["y"]).sum())
    assert correct == round(card["test_accuracy"] * len(test["y"]))
    assert correct / len(test["y"]) == pytest.approx(card["test_accuracy"], abs=1e-12)


def test_damaged_weights_are_refused_with_the_fix(tmp_path):
    folder = tmp_path / "weights"
    shutil.copytree(WEIGHTS, folder)
    card = json.loads(card_file("lenet5-digits", folder).read_text())
    card["state_dict_sha256"] = "0" * 64
    card_file("lenet5-digits", folder).write_text(json.dumps(card))
    with pytest.raises(ValueError, match="damaged: reinstall labcore"):
        load_lenet5("lenet5-digits", folder)


@pytest.mark.quality
def test_retraining_classifier_digits_reaches_the_recorded_accuracy(tmp_path, labcore_cli):
    """Train classifier-digits from its recipe, export it as the shipped file is made, and
    compare. The architecture and card match exactly; the accuracy within a test image or two,
    since float32 training is not bitwise equal across CPUs and thread counts (so neither are
    the weights or their SHA-256)."""
    labcore_cli("run", "classifier-digits", "--out", tmp_path / "out", check=0, timeout=1800)
    (run,) = (tmp_path / "out" / "classifier-digits").iterdir()
    export(run, "lenet5-digits", tmp_path / "weights")
    retrained = read_card("lenet5-digits", tmp_path / "weights")
    shipped = read_card("lenet5-digits")
    for key in ("model", "data", "info", "steps"):
        assert retrained[key] == shipped[key]
    assert retrained["test_accuracy"] == pytest.approx(shipped["test_accuracy"], abs=0.006)
    state = torch.load(weights_file("lenet5-digits", tmp_path / "weights"), weights_only=True)
    original = torch.load(weights_file("lenet5-digits"), weights_only=True)
    assert {k: v.shape for k, v in state.items()} == {k: v.shape for k, v in original.items()}
