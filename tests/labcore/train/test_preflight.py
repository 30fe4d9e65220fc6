import dataclasses
from pathlib import Path

import pytest
import torch

from labcore.plugins import PluginManager
from labcore.recipes.recipe import RecipeError
from labcore.train import preflight

TOY_DIR = Path(__file__).parents[1] / "toy_plugins"
INFO = {"num_features": 4, "num_classes": 2}


@pytest.fixture(scope="module")
def toy_mlp():
    return PluginManager(TOY_DIR).get("model", "toy-mlp")


def config(cls, **values):
    return dataclasses.replace(cls.Config(), **values)


def test_the_parameter_estimate_counts_bytes_without_allocating(toy_mlp):
    hidden = 10**9  # 4e9 parameters of the first layer: 16 GB were it allocated
    with torch.device("meta"):
        model = toy_mlp(config(toy_mlp, hidden=hidden), INFO)
    expected = 4 * ((4 * hidden + hidden) + (hidden * 2 + 2))
    assert preflight.state_bytes(model) == expected


def test_a_model_larger_than_the_device_memory_is_refused_naming_the_key(toy_mlp):
    memory = preflight.device_memory_bytes(torch.device("cpu"))
    hidden = memory // 4  # over 5x the memory in parameters
    with pytest.raises(RecipeError, match=rf"reduce model\.hidden = {hidden}") as error:
        preflight.build_model(toy_mlp, config(toy_mlp, hidden=hidden), INFO, torch.device("cpu"))
    assert "GiB for its parameters alone" in str(error.value)


def test_a_model_that_cannot_be_built_names_the_negative_key(toy_mlp):
    with pytest.raises(RecipeError, match=r"cannot be built .*\(check model\.hidden = -1\)"):
        preflight.build_model(toy_mlp, config(toy_mlp, hidden=-1), INFO, torch.device("cpu"))


def test_a_model_within_memory_is_built_on_the_cpu(toy_mlp):
    model = preflight.build_model(toy_mlp, config(toy_mlp, hidden=8), INFO, torch.device("cpu"))
    assert {p.device.type for p in model.parameters()} == {"cpu"}


def test_a_dataset_that_cannot_be_loaded_names_the_negative_key():
    manager = PluginManager(TOY_DIR)
    blobs = manager.get("dataset", "toy-blobs")

    class Recipe:
        dataset_cls = blobs
        dataset_config = config(blobs, n=-1)

    with pytest.raises(RecipeError, match=r"cannot be loaded .*\(check data\.n = -1\)"):
        preflight.load_data(Recipe)
