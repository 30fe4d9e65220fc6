"""Property-based fuzzing of the bundled recipes through ``labcore run --dry-run`` (in-process).

Each example mutates one bundled recipe (a value of the wrong type, a negative or huge number, an
unknown key, a removed section, a section that is not a table) and checks the promise of the
command line: exit 0, or exit 2 with a message naming the key, section or file at fault; never a
traceback. Recipes that need ../shared/data are left out (their data errors are tested apart).
"""

import re

import pytest
import tomli_w
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labcore.cli.main import cli
from labcore.plugins import get_manager
from labcore.recipes import recipe as recipe_module

MANAGER = get_manager()
RECIPES = sorted(
    name
    for name, (path, _) in MANAGER.recipes.items()
    if "shared/data" not in path.read_text() and "data.root" not in path.read_text()
)
SECTIONS = ("run", "data", "model", "optimizer", "schedule", "train", "evaluate")

#: Values no hyperparameter should accept silently, as TOML (huge ones stay allocation-free:
#: out of the 64-bit range, or far beyond any memory, which the size checks refuse at once).
BAD_VALUES = [
    '"text"', "[1, 2]", "{ a = 1 }", "true", "-1", "-1000000000", "0", "-0.5", "nan", "inf",
    "-inf", "1e308", str(10**30), str(2**62), "[]", '""',
]  # fmt: skip


def raw_recipe(name: str) -> dict:
    return recipe_module.load_raw(MANAGER.recipes[name][0], MANAGER)


@st.composite
def mutations(draw):
    """(recipe name, its mutated raw TOML, --set overrides, the words an error may name)."""
    name = draw(st.sampled_from(RECIPES))
    raw = raw_recipe(name)
    sections = [s for s in SECTIONS if s in raw]
    kind = draw(st.sampled_from(["value", "value", "value", "unknown", "remove", "scalar"]))
    section = draw(st.sampled_from(sections))
    table = raw[section]
    overrides: list[str] = ["train.max_steps=2"] if section != "train" else []
    if kind == "value":
        keys = sorted(k for k, v in table.items() if not isinstance(v, dict)) or ["name"]
        key = draw(st.sampled_from(keys))
        overrides.append(f"{section}.{key}={draw(st.sampled_from(BAD_VALUES))}")
        names = [f"{section}.{key}", f"[{section}"]
    elif kind == "unknown":
        key = draw(st.sampled_from(["colour", "z_dimm", "lr_", "size"]))
        overrides.append(f"{section}.{key}=1")
        names = [f"{section}.{key}"]
    elif kind == "remove":
        del raw[section]
        names = [section]
    else:
        raw[section] = draw(st.sampled_from([3, "x", [1]]))
        names = [f"[{section}]"]
    return name, raw, overrides, names


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mutation=mutations())
def test_mutated_recipes_exit_0_or_2_naming_the_key_never_a_traceback(
    mutation, runner, tmp_path_factory
):
    name, raw, overrides, names = mutation
    path = tmp_path_factory.mktemp("fuzz") / f"{name}.toml"
    path.write_text(tomli_w.dumps(raw))
    sets = [argument for text in overrides for argument in ("--set", text)]
    result = runner.invoke(cli, ["run", str(path), "--dry-run", *sets, "--out", str(path.parent)])
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert result.exit_code in (0, 2), (overrides, output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), output
    assert "Traceback" not in output
    if result.exit_code == 2:
        named = [*names, path.name, "data.", "model.", "--set"]
        assert any(re.search(re.escape(word), output) for word in named), (overrides, output)
