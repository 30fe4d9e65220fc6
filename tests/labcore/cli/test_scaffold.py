"""`labcore new-plugin`: the package it writes installs, is listed by `labcore plugins`, runs its
recipe and passes its own tests; bad names, taken names and existing folders are refused."""

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from labcore.cli.scaffold import PluginNames, new_plugin, render, write_plugin
from labcore.testing import install_package, run_cli

ROOT = Path(__file__).resolve().parents[3]


def invoke(*args):
    return CliRunner().invoke(new_plugin, [str(a) for a in args])


def test_names_follow_the_plugin_name():
    names = PluginNames.from_name("My-Flow.v2")
    assert names == PluginNames(
        dist="My-Flow.v2",
        package="my_flow_v2",
        model="my-flow-v2-mixture",
        dataset="my-flow-v2-moons",
        recipe="my-flow-v2-moons",
    )


def test_every_generated_file_parses():
    files = render(PluginNames.from_name("my-flow"))
    assert set(files) == {
        "pyproject.toml", "README.md", "my_flow/__init__.py", "my_flow/plugin.py",
        "my_flow/model.py", "my_flow/data.py", "my_flow/recipes/my-flow-moons.toml",
        "tests/test_my_flow.py",
    }
    for path, text in files.items():
        if path.endswith(".py"):
            ast.parse(text, filename=path)
        elif path.endswith(".toml"):
            tomllib.loads(text)
    project = tomllib.loads(files["pyproject.toml"])["project"]
    assert project["entry-points"]["labcore"] == {"my_flow": "my_flow.plugin"}
    assert "LABCORE_PLUGIN_API = 1" in files["my_flow/plugin.py"]


def labcore_lint_settings() -> list[str]:
    """ruff options for labcore's own lint rules, read from its pyproject.toml."""
    ruff = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]
    return [
        f"--line-length={ruff['line-length']}",
        f"--target-version={ruff['target-version']}",
        f"--select={','.join(ruff['lint']['select'])}",
        f"--ignore={','.join(ruff['lint']['ignore'])}",
    ]


def test_generated_python_passes_labcore_lint_rules(tmp_path):
    # the templates are not Python until rendered: lint what a user gets, as labcore lints itself
    # (the package is its own project, so its imports sort as first-party)
    target = tmp_path / "my-flow"
    written = write_plugin(target, PluginNames.from_name("my-flow"))
    assert any(path.suffix == ".py" for path in written)
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache",
         *labcore_lint_settings(), "."],
        cwd=target, capture_output=True, text=True, timeout=60,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_the_model_does_not_claim_the_plugin_name():
    # a plugin called my-gan starts from a neutral model, named for what it is
    files = render(PluginNames.from_name("my-gan"))
    model = files["my_gan/model.py"]
    assert 'name = "my-gan-mixture"' in model and "class Mixture(labcore.Model)" in model
    assert not any(word in model.lower() for word in ("vae", "variational", "autoencoder"))
    assert "my-gan-mixture" in files["README.md"] and "'.[test]'" in files["README.md"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("2flow", "not a valid plugin name"),
        ("my flow", "not a valid plugin name"),
        ("flow-", "not a valid plugin name"),
        ("my--flow", "not a valid plugin name"),
        ("class", "Python keyword"),
    ],
)
def test_bad_names_are_refused(tmp_path, name, message):
    result = invoke(name, "--dir", tmp_path / "new")
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "new").exists()


def test_an_existing_folder_is_never_overwritten(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    result = invoke("my-flow", "--dir", tmp_path / "mine")
    assert result.exit_code == 2 and "already exists" in result.output
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]


def test_names_taken_by_installed_plugins_are_refused(tmp_path):
    result = invoke("gan", "--dir", tmp_path / "gan")
    assert result.exit_code == 2
    assert "a plugin named 'gan' is already installed" in result.output
    assert not (tmp_path / "gan").exists()


def test_new_plugin_installs_is_listed_runs_and_passes_its_tests(labcore_cli, run_folder, tmp_path):
    target = tmp_path / "my-flow"
    result = labcore_cli("new-plugin", "my-flow", "--dir", target, cwd=tmp_path, check=0)
    assert (target / "pyproject.toml").is_file()
    # the next steps install pytest with the package before they use it
    steps = [line.split("#")[0].strip() for line in result.stdout.splitlines()]
    install = steps.index(f"pip install -e '{target}[test]'")
    assert steps.index(f"python -m pytest {target}") > install

    python = install_package(target, tmp_path / "env")
    listing = run_cli("plugins", python=python, cwd=tmp_path, check=0).stdout
    assert "my_flow  (my-flow 0.1.0)\n" in listing
    components = "models: my-flow-mixture\n    datasets: my-flow-moons\n    recipes: my-flow-moons"
    assert components in listing

    out = tmp_path / "out"
    run = run_cli("run", "my-flow-moons", "--set", "train.max_steps=5", "--out", out,
                  python=python, cwd=tmp_path, check=0)
    assert "test/nll:" in run.stdout
    assert (run_folder(out) / "checkpoints" / "last.pt").is_file()

    # the generated tests use labcore.testing, against the installed package
    tests = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(target / "tests")],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert tests.returncode == 0 and "3 passed" in tests.stdout, tests.stdout + tests.stderr
