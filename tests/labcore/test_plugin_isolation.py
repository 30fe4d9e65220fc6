"""Broken plugins installed as a distribution, through entry points as pip leaves them: each one
is shown as broken by `labcore plugins` with one line naming it and its problem, `labcore run`
warns once per broken plugin, and the healthy plugins (built-in and third-party) keep working."""

import re
import textwrap

import pytest

GOOD = '''
import dataclasses
from pathlib import Path

import torch

import labcore


@dataclasses.dataclass
class LineConfig:
    size: int = labcore.hp(64, "points per split")


class Line(labcore.Dataset):
    """Noisy points on y = 2x + 1."""

    name = "iso-line"
    Config = LineConfig

    def load(self):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(self.config.size, 1, generator=g)
        y = 2 * x + 1 + 0.1 * torch.randn(self.config.size, 1, generator=g)
        split = labcore.TensorSplit(x=x, y=y)
        return labcore.DataBundle({"train": split, "test": split}, {"num_features": 1})


class Linear(labcore.Model):
    """Least-squares line."""

    name = "iso-linear"

    def __init__(self, config, info):
        super().__init__(config, info)
        self.fit = torch.nn.Linear(info["num_features"], 1)

    def training_step(self, batch, ctx):
        loss = (self.fit(batch["x"]) - batch["y"]).pow(2).mean()
        ctx.step("main", loss)
        return {"mse": loss}


@labcore.hookimpl
def labcore_models():
    return [Linear]


@labcore.hookimpl
def labcore_datasets():
    return [Line]


@labcore.hookimpl
def labcore_recipes():
    return [Path(__file__).parent / "iso-line.toml"]
'''

RECIPE = '''
[data]
name = "iso-line"
[model]
name = "iso-linear"
[optimizer]
name = "sgd"
lr = 0.1
[train]
max_steps = 5
batch_size = 16
'''

# entry-point name -> (module source, the one problem line it must give)
BROKEN = {
    "iso_raises_on_import": (
        "raise RuntimeError('boom at import')",
        r"failed to import isolab_raises_on_import: RuntimeError: boom at import "
        r"\(at isolab_raises_on_import.py:1\)",
    ),
    "iso_misspelled_hook": (
        "import labcore\n\n@labcore.hookimpl\ndef labcore_dataset():\n    return []\n",
        r"labcore_dataset: unknown hook, did you mean labcore_datasets\?",
    ),
    "iso_wrong_arguments": (
        "import labcore\n\n@labcore.hookimpl\ndef labcore_step_end(run, step, losses):\n"
        "    pass\n",
        r"labcore_step_end.*\{'losses'\} are declared in the hookimpl but can not be found",
    ),
    "iso_taken_name": (
        GOOD.split("@labcore.hookimpl")[0].replace('"""Least-squares line."""', '"""Again."""')
        + "@labcore.hookimpl\ndef labcore_models():\n    return [Linear]\n",
        r"model 'iso-linear' is already provided by plugin 'iso_good' \(isolab 1\.0\)",
    ),
    "iso_invalid_schema": (
        "import labcore\n\nclass Bad(labcore.Model):\n    name = 'iso-bad'\n"
        "    Config = {'width': 8}\n\n@labcore.hookimpl\ndef labcore_models():\n"
        "    return [Bad]\n",
        r"model 'iso-bad': invalid hyperparameter schema: Config must be a dataclass",
    ),
    "iso_old_api": (
        "LABCORE_PLUGIN_API = 0\n",
        r"built for labcore plugin API 0, but this labcore provides API 1; install a version of "
        r"the plugin made for it",
    ),
    "iso_not_a_list": (
        "import labcore\n\n@labcore.hookimpl\ndef labcore_models():\n    return 3\n",
        r"labcore_models\(\) returned 3, not a list",
    ),
    "iso_exits_on_import": (
        "import sys\n\nsys.exit(3)\n",
        r"failed to import isolab_exits_on_import: SystemExit: 3",
    ),
    "iso_newer_labcore": (
        "from labcore import FutureThing\n",
        r"failed to import isolab_newer_labcore: ImportError: cannot import name 'FutureThing' "
        r"from 'labcore'",
    ),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A folder for PYTHONPATH holding the distribution isolab 1.0: one good plugin, the broken."""
    folder = tmp_path_factory.mktemp("site")
    dist = folder / "isolab-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: isolab\nVersion: 1.0\n")
    plugins = {"iso_good": GOOD, **{name: source for name, (source, _) in BROKEN.items()}}
    lines = ["[labcore]"]
    for name, source in plugins.items():
        module = name.replace("iso_", "isolab_")
        (folder / f"{module}.py").write_text(textwrap.dedent(source))
        lines.append(f"{name} = {module}")
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n")
    (folder / "iso-line.toml").write_text(RECIPE)
    return folder


def entries(listing: str) -> dict[str, tuple[str, list[str]]]:
    """`labcore plugins` output as name -> (header rest, indented lines)."""
    out: dict[str, tuple[str, list[str]]] = {}
    name = None
    for line in listing.splitlines():
        if line.startswith("    ") and name is not None:
            out[name][1].append(line.strip())
        elif line.strip():
            name, _, rest = line.partition("  ")
            out[name] = (rest, [])
    return out


def test_plugins_lists_each_broken_plugin_with_one_problem_line(site, labcore_cli):
    listing = labcore_cli("plugins", env={"PYTHONPATH": str(site)}, check=0).stdout
    plugins = entries(listing)
    for name, (_, pattern) in BROKEN.items():
        header, lines = plugins[name]
        assert header == "(isolab 1.0) BROKEN", (name, header)
        problems = [line for line in lines if line.startswith("problem: ")]
        assert len(problems) == 1, (name, lines)
        assert re.search(pattern, problems[0]), (name, problems[0])
    assert plugins["iso_good"] == (
        "(isolab 1.0)", ["models: iso-linear", "datasets: iso-line", "recipes: iso-line"]
    )
    assert plugins["classifier"][0] == "(labcore 0.1.0)"
    assert "models: mlp, lenet5, resnet, vgg, mobilenet, alexnet" in plugins["classifier"][1][0]


def test_run_warns_once_per_broken_plugin_and_builtin_plugins_keep_working(
    site, labcore_cli, tmp_path
):
    result = labcore_cli(
        "run", "iso-line", "--set", "data.name='digits'", "--set", "model.name='mlp'",
        "--set", "model.hidden=[8]", "--set", "train.batch_size=32", "--out", tmp_path,
        env={"PYTHONPATH": str(site)}, check=0,
    )
    assert "test/accuracy:" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if "'iso_" in line]
    for name, (_, pattern) in BROKEN.items():
        mine = [line for line in warnings if f"plugin '{name}' (isolab 1.0): " in line]
        assert len(mine) == 1, (name, warnings)
        assert mine[0].startswith("labcore: warning: ") and re.search(pattern, mine[0])
    assert len(warnings) == len(BROKEN)
    assert "Traceback" not in result.stderr


def test_the_plugin_that_had_the_name_first_keeps_working(site, labcore_cli, run_folder, tmp_path):
    # iso_taken_name is broken for claiming 'iso-linear'; iso_good, which had it, still runs it
    labcore_cli("run", "iso-line", "--out", tmp_path, env={"PYTHONPATH": str(site)}, check=0)
    assert (run_folder(tmp_path) / "checkpoints" / "last.pt").is_file()


STEP_END_RAISES = """
@labcore.hookimpl
def labcore_step_end(run, step, logs):
    raise RuntimeError("step hook failed")
"""

RUN_END_RAISES = """
@labcore.hookimpl
def labcore_run_end(run, status):
    raise ValueError("end hook failed")
"""


def run_with_event_plugin(labcore_cli, tmp_path, *hooks):
    """`labcore run` of iso-line with the good plugin and a plugin 'loud' made of ``hooks``."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "line.py").write_text(textwrap.dedent(GOOD))
    (plugins / "iso-line.toml").write_text(RECIPE)
    (plugins / "loud.py").write_text("import labcore\n" + "".join(hooks))
    result = labcore_cli(
        "--plugins-dir", plugins, "run", plugins / "iso-line.toml", "--out", tmp_path / "out"
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    folder = next((tmp_path / "out").glob("*/*"))
    assert '"status": "finished"' in (folder / "status.json").read_text()
    assert (folder / "report.md").is_file()
    return [line for line in result.stderr.splitlines() if "plugin 'loud'" in line]


def test_an_event_hook_that_raises_is_one_warning_and_the_run_finishes(labcore_cli, tmp_path):
    warnings = run_with_event_plugin(labcore_cli, tmp_path, STEP_END_RAISES, RUN_END_RAISES)
    assert len(warnings) == 1, warnings  # broken at the first step: run_end is not called
    assert re.search(r"labcore_step_end\(\) raised RuntimeError: step hook failed", warnings[0])
    assert warnings[0].startswith("labcore: warning: ")


def test_a_run_end_hook_that_raises_leaves_the_run_finished_and_reported(labcore_cli, tmp_path):
    warnings = run_with_event_plugin(labcore_cli, tmp_path, RUN_END_RAISES)
    assert len(warnings) == 1, warnings
    assert re.search(r"labcore_run_end\(\) raised ValueError: end hook failed", warnings[0])
