"""The report's recipe table lists the settings that apply to the chosen options, with the
values the run used, never two that contradict each other.

Recipes are resolved as `labcore run` resolves them (every default filled in, as recipe.toml
keeps them) and the table is read from its Markdown.
"""

import re

import pytest

from labcore.plugins import get_manager
from labcore.recipes import recipe
from labcore.report import run_sections
from labcore.schema import hp, inapplicable


def table(name: str, *overrides: str) -> dict[str, dict[str, str]]:
    """The recipe table of a bundled recipe: each section's settings, key to shown value."""
    sections = recipe.load(name, get_manager(), overrides).sections
    rows = {}
    for line in run_sections.recipe_section(sections).markdown.splitlines():
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        if len(cells) == 3 and cells[0] not in ("section", "---"):
            rows[cells[0]] = dict(re.findall(r"`([\w.]+)` = ([^,]+(?:, [^`,]+)*)", cells[2]))
    return rows


def test_dcgan_networks_show_no_mlp_sizes():
    model = table("gan-digits")["model"]
    assert model["arch"] == "dcgan"
    assert {"g_width", "d_width", "d_norm"} <= set(model)
    assert not {"hidden", "layers", "attention_at"} & set(model)


def test_mlp_networks_show_no_dcgan_settings():
    model = table("gan-digits", "model.arch='mlp'")["model"]
    assert {"hidden", "layers"} <= set(model)
    assert not {"g_width", "d_width", "d_norm", "diffaugment"} & set(model)


def test_a_schedule_shows_only_its_own_settings():
    assert set(table("gan-digits")["schedule"]) == {"warmup_steps"}
    step = table("gan-digits", "schedule.name='step'")["schedule"]
    assert {"step_size", "gamma"} <= set(step) and "min_lr_ratio" not in step
    cosine = table("gan-digits", "schedule.name='cosine'")["schedule"]
    assert "min_lr_ratio" in cosine and "gamma" not in cosine


def test_monitor_settings_appear_with_a_monitor_only():
    train = table("gan-digits")["train"]
    assert not {"monitor_mode", "patience", "min_delta", "final", "eval_split"} & set(train)
    assert "epochs" not in train  # max_steps is set
    monitored = table("lenet5-digits", "train.eval_every=10", "train.monitor='val/accuracy'")[
        "train"
    ]
    assert monitored["monitor"] == "val/accuracy" and monitored["monitor_mode"] == "max"
    assert {"patience", "final", "eval_split"} <= set(monitored)


def test_wgan_sn_shows_no_contradiction():
    model = table("wgan-sn-digits")["model"]
    assert model["constraint"] == "spectral-norm"
    assert model.get("spectral_norm", "True") == "True"
    assert not {"clip_value", "gp_weight"} & set(model)
    clipped = table("wgan-sn-digits", "model.constraint='clip'")["model"]
    assert clipped["spectral_norm"] == "False" and clipped["clip_value"] == "0.01"
    assert "gp_weight" not in clipped


def test_the_spectral_norm_of_a_wgan_follows_its_constraint():
    sections = recipe.load("wgan-sn-digits", get_manager()).sections
    assert sections["model"]["spectral_norm"] is True
    with pytest.raises(recipe.RecipeError, match="spectral_norm = true belongs"):
        recipe.load(
            "wgan-sn-digits", get_manager(), ["model.constraint='clip'", "model.spectral_norm=true"]
        )


def test_a_config_declares_which_of_its_keys_apply():
    import dataclasses

    @dataclasses.dataclass
    class Config:
        kind: str = hp("a", "a | b")
        width: int = hp(3, "a: width", applies=lambda c: c.kind == "a")

    assert inapplicable(Config()) == set()
    assert inapplicable(Config(kind="b")) == {"width"}
