"""The README's commands run as written, at tiny sizes, so the README cannot drift from the code.

Each line of the tour's ``bash`` block is run through ``labcore`` in a subprocess, in order, in an
empty working folder, with these changes only: training is cut to a few steps (``--set
train.max_steps=3``, fewer seeds, one seed per sweep trial; the metric study at its smallest
size), a run folder shown with an example timestamp is the newest run of that recipe, and the
image folders the tour takes as given (``real/``, ``fake/``, ``edges/``) are filled with sampled
images first. The quick start's first command is run at a few steps too.
"""

from __future__ import annotations

import glob
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
EXAMPLE_RUN = re.compile(r"outputs/([\w.-]+)/\d{8}-\d{6}")
TRAINING = {"run", "resume", "sweep"}


def tour_commands() -> list[list[str]]:
    """The tour's commands, split as the shell would, comments and line continuations removed."""
    section = README.split("## A tour of the command line", 1)[1]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words:
            assert words[0] == "labcore", line
            commands.append(words[1:])
    return commands


def newest_run(out: Path, name: str) -> str:
    runs = sorted(p.parent for p in (out / name).glob("*/recipe.toml"))
    assert runs, f"the tour uses a {name} run before any was made"
    return str(runs[-1])


def write_images(folder: Path, count: int, seed: int) -> None:
    """8x8 grey digit-like images, as a user's folder of PNGs."""
    from sklearn.datasets import load_digits

    images = load_digits().images[seed * count : (seed + 1) * count]
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        Image.fromarray((image * 255 / 16).astype(np.uint8)).save(folder / f"{i:03d}.png")


def at_tiny_size(words: list[str], out: Path, shared: Path, cwd: Path) -> list[str]:
    text = [EXAMPLE_RUN.sub(lambda m: newest_run(out, m.group(1)), w) for w in words]
    text = [w.replace("../shared/data", str(shared)) for w in text]
    if "--seeds" in text:  # several seeds for `run` (mean ± std); one per sweep trial
        text[text.index("--seeds") + 1] = "0" if text[0] == "sweep" else "0-1"
    elif text[0] == "sweep":
        text += ["--seeds", "0"]
    text = [match for w in text for match in (sorted(glob.glob(str(cwd / w))) if "*" in w else [w])]
    if text[0] in TRAINING:
        steps = 6 if text[0] == "resume" else 3
        text += ["--set", f"train.max_steps={steps}", "--set", "train.eval_every=1"]
        text += ["--set", "evaluate.num_samples=64"] if text[0] == "run" else []
    if text[0] == "metric-study":
        text += ["--size", "100", "--strengths", "2", "--repeats", "2"]
    return text


def test_the_quick_start_trains_lenet5(labcore_cli, tmp_path):
    quick = README.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    assert quick.strip().endswith("labcore run lenet5-digits")
    result = labcore_cli(
        "run", "lenet5-digits", "--set", "train.max_steps=3", cwd=tmp_path, check=0
    )
    assert "test/accuracy" in result.stdout


def test_the_tour_runs_line_by_line(labcore_cli, shared_data, tmp_path):
    shared = shared_data()
    out = tmp_path / "outputs"
    write_images(tmp_path / "real", 40, 0)
    write_images(tmp_path / "fake", 40, 1)
    write_images(tmp_path / "edges", 4, 2)
    needed = {"cgan-digits", "pix2pix-edges2digits", "gan-digits"}
    for name in sorted(needed):
        labcore_cli("run", name, "--set", "train.max_steps=2", "--set", "evaluate.metrics=[]",
                    cwd=tmp_path, check=0, timeout=600)
    for words in tour_commands():
        command = at_tiny_size(words, out, shared, tmp_path)
        result = labcore_cli(*command, cwd=tmp_path, timeout=900)
        assert result.returncode == 0, (
            f"README: labcore {' '.join(words)}\nran: labcore {' '.join(command)}\n"
            f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
        )


@pytest.mark.parametrize("command", sorted({words[0] for words in tour_commands()}))
def test_every_tour_command_has_help(command, labcore_cli, tmp_path):
    labcore_cli(command, "--help", cwd=tmp_path, check=0)
