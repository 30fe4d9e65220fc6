"""The example third-party plugin, examples/labcore-lsgan, pip-installed as its users would: it is
listed by `labcore plugins` with its distribution and version, its recipe runs, its own tests pass
against the installed package, and uninstalling it removes it."""

import json
import re
import subprocess
from pathlib import Path

import pytest

from labcore.testing import install_package, pip, run_cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "labcore-lsgan"


@pytest.fixture(scope="module")
def python(tmp_path_factory):
    """The interpreter of a throw-away environment with labcore-lsgan installed."""
    return install_package(EXAMPLE, tmp_path_factory.mktemp("lsgan"))


def plugin_entry(listing: str, header: str) -> str | None:
    """The indented lines under ``header`` in `labcore plugins` output (None: not listed)."""
    match = re.search(rf"^{re.escape(header)}\n((?:    .*\n?)*)", listing, re.MULTILINE)
    return match.group(1) if match else None


def test_listed_with_its_distribution_and_version(python, tmp_path):
    listing = run_cli("plugins", python=python, cwd=tmp_path, check=0).stdout
    entry = plugin_entry(listing, "lsgan  (labcore-lsgan 0.1.0)")
    assert entry is not None, listing
    assert "models: lsgan" in entry and "datasets: gaussian-grid" in entry
    assert "recipes: lsgan-digits, lsgan-grid" in entry and "problem" not in entry


def test_its_recipe_runs_through_the_cli(python, tmp_path, run_folder):
    result = run_cli(
        "run", "lsgan-grid", "--out", tmp_path / "out", "--set", "train.max_steps=3",
        "--set", "data.train_size=512", python=python, cwd=tmp_path, check=0,
    )
    assert "test/modes_covered:" in result.stdout
    folder = run_folder(tmp_path / "out")
    assert json.loads((folder / "metrics.json").read_text())["step"] == 3
    assert (folder / "samples" / "step-000003.png").is_file()


def run_example_tests(python, cwd, marker):
    return subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", marker,
         "--rootdir", str(EXAMPLE), str(EXAMPLE / "tests")],
        cwd=cwd, capture_output=True, text=True, timeout=600,
    )


def test_its_own_tests_pass_against_the_installed_package(python, tmp_path):
    result = run_example_tests(python, tmp_path, "not quality")
    assert result.returncode == 0 and " passed" in result.stdout, result.stdout + result.stderr


@pytest.mark.quality
def test_its_quality_test_passes(python, tmp_path):
    # 2000 steps of its recipe cover all four modes of a 2 x 2 grid
    result = run_example_tests(python, tmp_path, "quality")
    assert result.returncode == 0 and "1 passed" in result.stdout, result.stdout + result.stderr


def test_uninstalling_removes_it(tmp_path):
    python = install_package(EXAMPLE, tmp_path)
    pip(python, "uninstall", "-y", "labcore-lsgan")
    listing = run_cli("plugins", python=python, cwd=tmp_path, check=0).stdout
    assert "lsgan" not in listing and "classifier  (labcore" in listing
    result = run_cli("run", "lsgan-grid", "--out", tmp_path, python=python, cwd=tmp_path, check=2)
    assert "no recipe file 'lsgan-grid'" in result.stderr
