"""SIGINT and SIGTERM outside the training loop: at start-up and in the final evaluation."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

PLUGIN = '''
import dataclasses
import time
from pathlib import Path

import torch

import labcore


def wait_while(flag: str, marker: str) -> None:
    """Say (by ``marker``) that this stage is reached; wait while the file ``flag`` exists."""
    if flag:
        Path(marker).write_text("")
        while Path(flag).exists():
            time.sleep(0.05)


@dataclasses.dataclass
class PointsConfig:
    hold: str = labcore.hp("", "wait in load() while this file exists")


class Points(labcore.Dataset):
    name = "held-points"
    Config = PointsConfig

    def load(self):
        wait_while(self.config.hold, self.config.hold + ".reached")
        x = torch.linspace(-1, 1, 32)[:, None]
        split = labcore.TensorSplit(x=x, y=2 * x)
        return labcore.DataBundle({"train": split, "test": split}, {"num_features": 1})


@dataclasses.dataclass
class LineConfig:
    hold: str = labcore.hp("", "wait in evaluate() while this file exists")


class Line(labcore.Model):
    name = "held-line"
    Config = LineConfig

    def __init__(self, config, info):
        super().__init__(config, info)
        self.fit = torch.nn.Linear(1, 1)

    def training_step(self, batch, ctx):
        loss = (self.fit(batch["x"]) - batch["y"]).pow(2).mean()
        ctx.step("main", loss)
        return {"mse": loss}

    def evaluate(self, split, ctx):
        wait_while(self.config.hold, self.config.hold + ".reached")
        return {"mse": 0.0}


@labcore.hookimpl
def labcore_models():
    return [Line]


@labcore.hookimpl
def labcore_datasets():
    return [Points]
'''

RECIPE = """
[data]
name = "held-points"
[model]
name = "held-line"
[optimizer]
name = "sgd"
lr = 0.1
[train]
max_steps = 4
batch_size = 8
"""


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.05)


def labcore(plugins: Path, *args: object) -> list[str]:
    return [sys.executable, "-m", "labcore", "--plugins-dir", str(plugins), *map(str, args)]


@pytest.fixture
def setup(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "held.py").write_text(PLUGIN)
    recipe = tmp_path / "held.toml"
    recipe.write_text(RECIPE)
    return plugins, recipe


@pytest.mark.parametrize(
    ("stage", "signum"), [("data", signal.SIGTERM), ("model", signal.SIGINT)]
)
def test_a_signal_outside_the_loop_interrupts_the_run_which_then_resumes(
    setup, tmp_path, stage, signum
):
    """``data``: while the dataset loads (start-up); ``model``: in the final evaluation."""
    plugins, recipe = setup
    hold = tmp_path / "hold"
    hold.write_text("")
    out = tmp_path / "out"
    process = subprocess.Popen(
        labcore(plugins, "run", recipe, "--out", out, "--set", f"{stage}.hold={str(hold)!r}"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(tmp_path / "hold.reached", process)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    (folder,) = out.glob("held/*")
    assert process.returncode == 128 + signum, stderr
    assert f"Resume with: labcore resume {folder}" in stderr and "Traceback" not in stderr
    assert json.loads((folder / "status.json").read_text())["status"] == "interrupted"

    hold.unlink()
    resumed = subprocess.run(
        labcore(plugins, "resume", folder), capture_output=True, text=True, timeout=120
    )
    assert resumed.returncode == 0, resumed.stderr
    status = json.loads((folder / "status.json").read_text())
    assert status["status"] == "finished" and status["step"] == 4
    assert (folder / "metrics.json").is_file() and (folder / "report.md").is_file()
