"""Plugin discovery and isolation: a broken plugin gives one clear problem; others keep working."""

import re
import textwrap

import pytest

from labcore.plugins import PluginError, PluginManager

GOOD = '''
import dataclasses
import labcore

@dataclasses.dataclass
class Cfg:
    width: int = labcore.hp(8, "width")

class Good(labcore.Model):
    """A good model."""
    name = "good-model"
    Config = Cfg

@labcore.hookimpl
def labcore_models():
    return [Good]
'''

BROKEN = {
    "raises_on_import": "raise RuntimeError('boom at import')",
    "misspelled_hook": """
import labcore

@labcore.hookimpl
def labcore_model():
    return []
""",
    "wrong_arguments": """
import labcore

@labcore.hookimpl
def labcore_step_end(run, step, losses):
    pass
""",
    "duplicate_name": GOOD.replace("A good model.", "A copy."),
    "invalid_schema": """
import labcore

class Bad(labcore.Model):
    name = "bad-schema"
    Config = {"width": 8}

@labcore.hookimpl
def labcore_models():
    return [Bad]
""",
    "hook_raises": """
import labcore

@labcore.hookimpl
def labcore_datasets():
    raise ValueError("cannot list datasets")
""",
    "future_api": "LABCORE_PLUGIN_API = 99\n",
}

EXPECTED = {
    "raises_on_import": "failed to import .*RuntimeError: boom at import",
    "misspelled_hook": "labcore_model: unknown hook, did you mean labcore_models",
    "wrong_arguments": "losses",
    "duplicate_name": "model 'good-model' is already provided by plugin 'a_good'",
    "invalid_schema": "bad-schema.*invalid hyperparameter schema",
    "hook_raises": r"labcore_datasets\(\) raised ValueError: cannot list datasets",
    "future_api": "built for labcore plugin API 99",
}


@pytest.fixture
def plugin_dir(tmp_path):
    (tmp_path / "a_good.py").write_text(GOOD)
    for name, source in BROKEN.items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    return tmp_path


def test_each_broken_plugin_is_reported_and_the_others_work(plugin_dir):
    manager = PluginManager(plugin_dir)
    records = {r.name: r for r in manager.records}
    assert not records["a_good"].broken
    assert records["a_good"].components == {"model": ["good-model"]}
    for name, pattern in EXPECTED.items():
        assert records[name].broken, name
        assert len(records[name].problems) == 1, records[name].problems
        assert re.search(pattern, records[name].problems[0]), (
            name,
            records[name].problems,
        )
    # built-in entry-point plugins still load beside broken local ones
    assert any(r.origin.startswith("labcore ") for r in manager.records)


def test_a_taken_name_stays_with_the_plugin_that_had_it_first(plugin_dir):
    manager = PluginManager(plugin_dir)
    assert manager.get("model", "good-model").__doc__ == "A good model."
    assert manager.provider("model", "good-model").name == "a_good"


def test_unknown_component_lists_available(tmp_path):
    (tmp_path / "a_good.py").write_text(GOOD)
    manager = PluginManager(tmp_path)
    with pytest.raises(PluginError, match="unknown model 'god-model'. Did you mean 'good-model'"):
        manager.get("model", "god-model")


def test_missing_plugins_folder_is_reported(tmp_path):
    manager = PluginManager(tmp_path / "nope")
    assert any("does not exist" in p for p in manager.problems())


def test_cli_lists_broken_plugins_and_verbose_hyperparameters(plugin_dir, labcore_cli):
    result = labcore_cli("--plugins-dir", plugin_dir, "plugins", "--verbose", check=0)
    out = result.stdout
    assert "a_good  (" in out and str(plugin_dir / "a_good.py") in out
    assert "width: int = 8  # width" in out
    assert "misspelled_hook" in out and "BROKEN" in out
    assert "labcore_model: unknown hook" in out
