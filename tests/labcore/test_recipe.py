from pathlib import Path

import pytest

from labcore import recipe
from labcore.plugins import PluginManager
from labcore.recipe import RecipeError

TOY_DIR = Path(__file__).parent / "toy_plugins"


@pytest.fixture(scope="module")
def manager():
    return PluginManager(TOY_DIR)


def write(path, text):
    path.write_text(text)
    return path


BASE = """
[data]
name = "toy-blobs"
[model]
name = "toy-mlp"
hidden = 8
[train]
max_steps = 5
"""


def test_defaults_are_filled_and_resolved_recipe_round_trips(tmp_path, manager):
    path = write(tmp_path / "base.toml", BASE)
    loaded = recipe.load(path, manager)
    assert loaded.run.name == "base"
    assert loaded.sections["model"] == {
        "name": "toy-mlp",
        "hidden": 8,
        "dropout": 0.2,
        "nan_at_step": 0,
        "step_delay": 0.0,
        "spare_head": False,
        "spare_head_until": 0,
    }
    assert loaded.sections["train"]["batch_size"] == 64
    again = write(tmp_path / "again.toml", loaded.to_toml())
    assert recipe.load(again, manager).sections == loaded.sections


def test_extends_and_typed_overrides(tmp_path, manager):
    write(tmp_path / "base.toml", BASE)
    child = write(tmp_path / "child.toml", 'extends = "base.toml"\n[model]\ndropout = 0.0\n')
    loaded = recipe.load(
        child,
        manager,
        ["model.hidden=32", "train.max_steps=7", "optimizer.lr=0.5", "run.name=renamed"],
    )
    assert loaded.model_config.hidden == 32 and loaded.model_config.dropout == 0.0
    assert loaded.train.max_steps == 7 and loaded.run.name == "renamed"
    assert loaded.sections["optimizer"]["lr"] == 0.5


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.hiden=3", r"model\.hiden: unknown key; did you mean model\.hidden\?"),
        ("model.hidden=big", r"model\.hidden: expected int, got 'big'"),
        ("model.name=toy-mpl", r"unknown model 'toy-mpl'\. Did you mean 'toy-mlp'\?"),
        ("trian.max_steps=3", r"trian: unknown key; did you mean train\?"),
        ("optimizer.name=adamm", "unknown optimizer 'adamm'; available: sgd, adam"),
        ("optimizer.lrr=1", r"optimizer\.lrr: unknown key; did you mean optimizer\.lr\?"),
        ("run.precision=16", r"run\.precision: expected one of '32'"),
        ("train.max_steps=0", r"\[train\]: set max_steps or epochs"),
        ("nonsense", "expected KEY=VALUE"),
    ],
)
def test_errors_name_the_problem_and_the_fix(tmp_path, manager, override, message):
    path = write(tmp_path / "base.toml", BASE)
    with pytest.raises(RecipeError, match=message):
        recipe.load(path, manager, [override])


def test_missing_sections_and_files(tmp_path, manager):
    with pytest.raises(
        RecipeError, match=r"\[model\]: missing value 'name'; choose one of: .*toy-mlp"
    ):
        recipe.load(
            write(tmp_path / "r.toml", '[data]\nname = "toy-blobs"\n[train]\nepochs = 1\n'), manager
        )
    with pytest.raises(RecipeError, match="no recipe file 'nope.toml'"):
        recipe.load("nope.toml", manager)
    with pytest.raises(RecipeError, match="invalid TOML"):
        recipe.load(write(tmp_path / "bad.toml", "[model\n"), manager)
    loop = write(tmp_path / "loop.toml", 'extends = "loop.toml"\n')
    with pytest.raises(RecipeError, match="extends itself"):
        recipe.load(loop, manager)
