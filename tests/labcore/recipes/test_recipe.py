import json
import tomllib
from pathlib import Path

import pytest

from labcore.plugins import PluginManager
from labcore.recipes import recipe
from labcore.recipes.recipe import RecipeError

TOY_DIR = Path(__file__).parents[1] / "toy_plugins"


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
        "inf_grad_at_step": 0,
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


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.log_every=0", r"train\.log_every must be at least 1, got 0"),
        ("train.checkpoint_every=-1", r"train\.checkpoint_every must be >= 0"),
        ("train.eval_every=-5", r"train\.eval_every must be >= 0"),
        ("train.sample_every=-1", r"train\.sample_every must be >= 0"),
        ("train.num_workers=-2", r"train\.num_workers must be >= 0"),
        ("train.grad_clip_norm=nan", r"train\.grad_clip_norm: expected a number, got nan"),
        ("train.grad_clip_norm=-1.0", r"train\.grad_clip_norm must be 0 \(off\) or positive"),
        ("schedule.warmup_steps=-1", r"schedule\.warmup_steps must be >= 0"),
        ("run.seed=18446744073709551616", r"run\.seed: 18446744073709551616 is out of range"),
        ("model.hidden=1000000000000000000000000000000", r"model\.hidden: .* is out of range"),
        ("model.name=[1]", r"model\.name: expected the name of a model as a string, got \[1\]"),
        ("model.name=3", r"model\.name: expected the name of a model as a string, got 3"),
        ("data.name={a=1}", r"data\.name: expected the name of a dataset as a string"),
        ("optimizer.name=7", r"optimizer\.name: expected the name of an optimizer as a string"),
        ("optimizer=3", r"\[optimizer\]: expected a table of values .*got 3"),
        ("train=[1, 2]", r"\[train\]: expected a table of values"),
        ("optimizer.lr=-1", r"optimizer\.lr: -1\.0 is not accepted: Invalid learning rate"),
        ("optimizer.eps=-0.5", r"optimizer\.eps: -0\.5 is not accepted: Invalid epsilon"),
        ("model.x=" + "[" * 40 + "]" * 40, r"--set model\.x: .*nest more than 32 levels"),
        ("model.x=" + "[" * 3000 + "]" * 3000, r"--set model\.x: .*nest more than 32 levels"),
    ],
)
def test_invalid_values_are_recipe_errors_naming_the_key(tmp_path, manager, override, message):
    path = write(tmp_path / "base.toml", BASE)
    with pytest.raises(RecipeError, match=message):
        recipe.load(path, manager, [override])


def test_three_betas_for_adam_name_the_key(tmp_path, manager):
    path = write(tmp_path / "base.toml", BASE + '[optimizer]\nname = "adam"\n')
    with pytest.raises(RecipeError, match=r"optimizer\.betas: expected 2 values"):
        recipe.load(path, manager, ["optimizer.betas=[0.1, 0.2, 0.3]"])


def test_an_array_of_tables_is_not_a_section(tmp_path, manager):
    path = write(tmp_path / "r.toml", BASE.replace("[train]", "[[train]]"))
    with pytest.raises(RecipeError, match=r"\[train\]: expected a table of values"):
        recipe.load(path, manager)


def test_deeply_nested_and_non_utf8_recipe_files(tmp_path, manager):
    deep = write(tmp_path / "deep.toml", BASE + "[run]\nname = " + "[" * 5000 + "]" * 5000)
    with pytest.raises(RecipeError, match=r"deep\.toml: tables and arrays nest more than"):
        recipe.load(deep, manager)
    utf16 = tmp_path / "utf16.toml"
    utf16.write_text(BASE, encoding="utf-16")
    with pytest.raises(RecipeError, match=r"utf16\.toml: not UTF-8 text .*save .* as UTF-8"):
        recipe.load(utf16, manager)


def test_an_impossible_model_exits_2_naming_the_key_and_leaves_no_run_folder(
    labcore_cli, tmp_path
):
    path = write(tmp_path / "base.toml", BASE)
    for override, message in [
        ("model.hidden=-1", "check model.hidden = -1"),
        ("model.hidden=1000000000000", "reduce model.hidden = 1000000000000"),
    ]:
        result = labcore_cli(
            "--plugins-dir", TOY_DIR, "run", path, "--out", tmp_path / "out", "--set", override
        )
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr
        assert not list((tmp_path / "out").glob("*/*"))


def test_a_split_the_dataset_lacks_is_refused_before_training(labcore_cli, tmp_path):
    path = write(tmp_path / "base.toml", BASE)
    result = labcore_cli(
        "--plugins-dir", TOY_DIR, "run", path, "--out", tmp_path / "out",
        "--set", "train.eval_every=1", "--set", 'train.eval_split="nope"',
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "train.eval_split: dataset 'toy-blobs' has no split 'nope'" in result.stderr
    assert not list((tmp_path / "out").glob("*/*/log.jsonl"))


MNIST_GAN = """
[data]
name = "mnist"
root = "data/mnist"
[model]
name = "gan"
[train]
max_steps = 1
[evaluate]
cache_dir = "~/stats"
[evaluate.extractor]
name = "classifier"
run = "{out}/classifier-mnist"
"""


def test_relative_paths_resolve_against_the_file_that_writes_them(tmp_path, manager, monkeypatch):
    """Not against the working folder: the same recipe file means the same files from anywhere;
    a value inherited through extends resolves against the file it is written in."""
    shared, mine, elsewhere = (tmp_path / name for name in ("shared", "mine", "elsewhere"))
    for folder in (shared, mine, elsewhere):
        folder.mkdir()
    write(shared / "base.toml", MNIST_GAN)
    child = write(mine / "child.toml", 'extends = "../shared/base.toml"\n[evaluate]\nseed = 1\n')
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    loaded = recipe.load(child, manager, out="runs")
    resolved = tmp_path.resolve()
    assert loaded.sections["data"]["root"] == str(resolved / "shared" / "data" / "mnist")
    assert loaded.dataset_config.root == loaded.sections["data"]["root"]
    assert loaded.evaluate.cache_dir == str(resolved / "home" / "stats")
    run = loaded.sections["evaluate"]["extractor"]["run"]
    assert run == str(resolved / "elsewhere" / "runs" / "classifier-mnist")
    monkeypatch.chdir(mine)  # the saved recipe holds absolute paths: the same from anywhere
    again = write(tmp_path / "saved.toml", loaded.to_toml())
    assert recipe.load(again, manager).sections == loaded.sections


def test_set_values_resolve_against_the_working_folder(tmp_path, manager, monkeypatch):
    write(tmp_path / "base.toml", MNIST_GAN)
    monkeypatch.chdir(tmp_path.parent)
    loaded = recipe.load(
        tmp_path / "base.toml",
        manager,
        ["data.root=files", 'evaluate.extractor={name = "classifier", run = "/abs/runs"}'],
    )
    assert loaded.sections["data"]["root"] == str(tmp_path.parent.resolve() / "files")
    assert loaded.sections["evaluate"]["extractor"] == {"name": "classifier", "run": "/abs/runs"}
    unset = recipe.load(tmp_path / "base.toml", manager, ['evaluate.cache_dir=""'])
    assert unset.evaluate.cache_dir == ""  # empty means "not given", not the working folder


def test_out_moves_the_outputs_and_the_runs_a_recipe_names(tmp_path, labcore_cli):
    """`{out}` is the --out folder: a recipe naming another recipe's runs follows the outputs.
    Run from one folder, evaluated from another, the run folder's absolute paths still hold."""
    out, first, second = tmp_path / "elsewhere" / "out", tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    labcore_cli("run", "classifier-digits", "--set", "train.max_steps=2", "--out", out,
                cwd=first, check=0)  # fmt: skip
    write(first / "my-gan.toml", 'extends = "gan-digits"\n[train]\nmax_steps = 2\n'
          '[evaluate]\nnum_samples = 64\nmetrics = ["fid"]\ncache_dir = "cache"\n'
          '[evaluate.extractor]\nname = "classifier"\nrun = "{out}/classifier-digits"\n')
    labcore_cli("run", first / "my-gan.toml", "--out", out, cwd=second, check=0)
    (run,) = (out / "my-gan").iterdir()
    (classifier,) = (out / "classifier-digits").iterdir()
    extractor = json.loads((run / "metrics.json").read_text())["evaluation"]["extractor"]
    assert Path(extractor["source"]) == classifier.resolve()
    assert (first / "cache").is_dir() and not (second / "cache").exists()
    saved = tomllib.loads((run / "recipe.toml").read_text())
    assert saved["evaluate"]["cache_dir"] == str((first / "cache").resolve())
    labcore_cli("evaluate", run, cwd=tmp_path, check=0)
    again = json.loads((run / "metrics.json").read_text())["evaluation"]["extractor"]
    assert again["source"] == extractor["source"]
