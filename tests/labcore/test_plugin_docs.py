"""docs/plugins.md stays true: every hook is documented with its signature, every public name it
promises exists, every Python example parses, and the tutorial, written out file by file as the
page shows it, runs as the page says."""

import importlib
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

from labcore import hookspecs

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
FILE_BLOCK = re.compile(r"<!-- file: (?P<path>\S+) -->\n```\w*\n(?P<code>.*?)\n```", re.DOTALL)
PYTHON_BLOCK = re.compile(r"```python\n(.*?)\n```", re.DOTALL)


def test_every_hook_is_documented_with_its_signature():
    text = DOCS.read_text()
    hooks = [name for name in vars(hookspecs) if name.startswith("labcore_")]
    assert len(hooks) == 12
    for name in hooks:
        arguments = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
        assert f"### `{name}({arguments})`" in text, name


def test_every_promised_public_name_exists():
    section = DOCS.read_text().split("## Compatibility", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(labcore[\w.]*)` \| (.*) \|$", section, re.MULTILINE)
    assert {module for module, _ in rows} >= {"labcore", "labcore.metrics", "labcore.testing"}
    for module_name, names in rows:
        module = importlib.import_module(module_name)
        for name in re.findall(r"`(\w+)`", names):
            assert hasattr(module, name), f"{module_name}.{name}"


def test_every_python_example_parses():
    blocks = PYTHON_BLOCK.findall(DOCS.read_text())
    assert len(blocks) > 20
    for block in blocks:
        compile(block, "docs/plugins.md", "exec")


def test_the_tutorial_runs_as_written(tmp_path, labcore_cli, run_folder):
    files = {m["path"]: m["code"] + "\n" for m in FILE_BLOCK.finditer(DOCS.read_text())}
    assert {"my_plugins/gmm.py", "gmm-ring.toml", "test_gmm.py"} <= set(files)
    for path, code in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(code)
    env = {"LABCORE_CACHE_DIR": str(tmp_path / "cache")}

    def labcore(*args):
        return labcore_cli("--plugins-dir", "my_plugins", *args, cwd=tmp_path, env=env, check=0)

    listing = labcore("plugins", "--verbose").stdout
    assert "gmm  (" in listing and "BROKEN" not in listing
    assert "components: int = 16  # number of mixture components K" in listing
    for component in ("datasets: spiral", "metrics: mean-gap", "feature extractors: flat"):
        assert component in listing

    # the mixture on the ring, measured with the documented metric and extractor
    result = labcore("run", "gmm-ring-gap.toml", "--out", "out")
    values = dict(line.split(": ") for line in result.stdout.splitlines() if ": " in line)
    # eight Gaussians of standard deviation 0.02 on a ring: the best nll is the ring's entropy,
    # log 8 + log(2 pi e 0.02^2) = -2.91 per point
    assert -2.95 < float(values["test/nll"]) < -2.7
    # the mean of 500 ring points is off the centre by about 0.1 by chance, on either side
    assert 0 <= float(values["mean_gap"]) < 0.3
    folder = run_folder(tmp_path / "out")
    assert "## Mixture weights" in (folder / "report.md").read_text()
    assert labcore("params", folder).stdout.strip() == "gmm: 80 parameters"

    labcore("run", "gmm-ring.toml", "--set", "data.name=spiral", "--set", "train.max_steps=20",
            "--out", "spiral")

    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_gmm.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "my_plugins")},
    )
    assert tests.returncode == 0 and "2 passed" in tests.stdout, tests.stdout + tests.stderr


def test_the_dataset_table_is_what_the_datasets_give():
    from labcore.plugins import get_manager
    from labcore_builtins import dataset_docs

    text = DOCS.read_text()
    table = text.split("<!-- dataset keys: python -m labcore_builtins.dataset_docs -->\n", 1)[1]
    table = table.split("<!-- end of dataset keys -->", 1)[0]
    assert table == dataset_docs.keys_markdown(get_manager()), (
        "the dataset table in docs/plugins.md is out of date: paste the output of "
        "python -m labcore_builtins.dataset_docs"
    )
    planetoid = next(line for line in table.splitlines() if line.startswith("| `planetoid` |"))
    assert "`x` sparse float32" in planetoid


def test_the_documented_metric_keeps_the_metric_contract(tmp_path):
    import numpy as np
    import torch

    from labcore.testing import check_metric

    files = {m["path"]: m["code"] for m in FILE_BLOCK.finditer(DOCS.read_text())}
    namespace: dict = {}
    exec(compile(files["my_plugins/mean_gap.py"], "mean_gap.py", "exec"), namespace)

    def reference(real, fake):
        gap = real.double().numpy().mean(0) - fake.double().numpy().mean(0)
        return {"mean_gap": float(np.linalg.norm(gap))}

    real, fake = torch.randn(40, 3), torch.randn(31, 3) + 0.5
    assert check_metric(namespace["MeanGap"], real, fake, reference)["mean_gap"] > 0


def test_plugins_lists_the_hooks_and_commands_of_each_plugin(labcore_cli):
    listing = labcore_cli("plugins", check=0).stdout
    logging = listing.split("logging  (", 1)[1].split("\n", 2)[1]
    assert logging == (
        "    hooks: labcore_run_start, labcore_step_end, labcore_evaluation_done, labcore_run_end"
    )
    assert "    commands: metric-study, metrics\n" in listing
