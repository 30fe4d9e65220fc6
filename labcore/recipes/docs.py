"""What ``labcore recipes`` tells a user: each recipe's header comment and the recipe keys.

A recipe file starts with a comment. Its first line is one complete sentence saying what the
recipe trains (the summary ``labcore recipes`` lists); the lines after it say more; a line
``# Time: about 40 s on 2 CPU cores`` gives the expected time of a whole run.

The keys of the sections the host defines (``[run] [train] [optimizer] [schedule] [evaluate]``)
come from their schemas, as text for ``labcore recipes --keys`` and as Markdown for
``docs/recipes.md`` (written by ``labcore recipes --keys --markdown``, so it cannot drift).
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from labcore.recipes.optim import OPTIMIZERS, ScheduleConfig, optimizer_schema
from labcore.schema import describe

TIME_LINE = re.compile(r"^time:\s*(.+)$", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class RecipeHeader:
    """A recipe's leading comment: its summary, the whole description and the expected time."""

    summary: str
    description: list[str]
    time: str | None
    body: str


def read_header(path: Path) -> RecipeHeader:
    """The leading comment of the recipe file ``path`` (blank lines inside it are allowed)."""
    lines = path.read_text().splitlines()
    description: list[str] = []
    time = None
    end = next(
        (i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")),
        len(lines),
    )
    for line in lines[:end]:
        text = line.strip().lstrip("#").strip()
        match = TIME_LINE.match(text)
        if match:
            time = match.group(1)
        elif text:
            description.append(text)
    body = "\n".join(lines[end:]).strip("\n")
    return RecipeHeader(
        summary=description[0] if description else "",
        description=description,
        time=time,
        body=body + "\n" if body else "",
    )


# -- the keys of the host's sections ----------------------------------------------------------

SECTION_INTROS = {
    "run": "What the run is called, its seed and where and how it computes.",
    "train": "How long and how the trainer trains, logs, evaluates, samples and saves.",
    "optimizer": (
        "The optimizer every model optimizer is built from: `name` and the keyword arguments "
        "of that `torch.optim` optimizer (below). A table `[optimizer.<name>]` (for example "
        "`[optimizer.discriminator]`) overrides them for the model's optimizer of that name."
    ),
    "schedule": "The learning-rate schedule, a function of the step, applied to every optimizer.",
    "evaluate": (
        "The final evaluation: the split and the sample-based metrics of generative models, "
        "with the feature extractor of `[evaluate.extractor]` (its `name` and hyperparameters; "
        "`labcore plugins --verbose` lists the extractors)."
    ),
}


def section_schemas() -> dict[str, type]:
    """The schema of each section the host defines (``[optimizer]`` has its own, below)."""
    from labcore.recipes.evaluate import EvaluateConfig
    from labcore.recipes.recipe import RunConfig, TrainConfig

    return {
        "run": RunConfig,
        "train": TrainConfig,
        "schedule": ScheduleConfig,
        "evaluate": EvaluateConfig,
    }


@dataclasses.dataclass(frozen=True)
class Key:
    """One key of a section: name, type, default (TOML) and meaning."""

    name: str
    type: str
    default: str
    doc: str


def toml_value(value: Any) -> str:
    """``value`` as it is written in a recipe (``"auto"``, ``true``, ``[0.9, 0.999]``)."""
    if value is None:
        return "(unset)"
    if value == "(required)":
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    return repr(value)


def section_keys(section: str) -> list[Key]:
    """The keys of ``section``; for ``optimizer`` its ``name`` (the optimizers' own keys are in
    :func:`optimizer_keys`)."""
    if section == "optimizer":
        choices = " | ".join(OPTIMIZERS)
        return [Key("name", "str", toml_value("adam"), f"the torch.optim optimizer: {choices}")]
    schema = section_schemas()[section]
    return [
        Key(name, type_name, toml_value(default), doc)
        for name, type_name, default, doc in describe(schema)
    ]


def optimizer_keys() -> dict[str, list[Key]]:
    """Each optimizer's keys: the keyword arguments of its ``torch.optim`` class."""
    return {
        name: [
            Key(key, type_name, toml_value(default), "")
            for key, type_name, default, _ in describe(optimizer_schema(name))
        ]
        for name in OPTIMIZERS
    }


SECTIONS = ("run", "train", "optimizer", "schedule", "evaluate")


def keys_text() -> str:
    """Every key of the host's sections, for ``labcore recipes --keys``."""
    out = []
    for section in SECTIONS:
        out.append(f"[{section}]  {SECTION_INTROS[section]}")
        for key in section_keys(section):
            out.append(f"  {key.name}: {key.type} = {key.default}  # {key.doc}")
        if section == "optimizer":
            for name, keys in optimizer_keys().items():
                values = ", ".join(f"{k.name} = {k.default}" for k in keys)
                out.append(f"  name = {toml_value(name)}: {values}")
        out.append("")
    out.append(
        "[data] and [model] name a component; `labcore plugins --verbose` lists each one's keys."
    )
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def keys_markdown() -> str:
    """``docs/recipes.md``: every key of the host's sections as Markdown tables."""
    out = [
        "# Recipe keys",
        "",
        "<!-- Generated by `labcore recipes --keys --markdown > docs/recipes.md`; do not edit. -->",
        "",
        "A recipe is a TOML file with the sections `[run]`, `[data]`, `[model]`, `[optimizer]`, "
        "`[schedule]`, `[train]` and `[evaluate]`. `[data]` and `[model]` name a component and "
        "set its hyperparameters (`labcore plugins --verbose` lists them); the other sections "
        "are labcore's own, listed here. Every key has a default; `--set section.key=value` "
        "overrides one on the command line, and `labcore run RECIPE --print-recipe` shows the "
        "resolved recipe.",
        "",
        "A recipe file starts with a comment: its first line is one sentence saying what the "
        "recipe trains (listed by `labcore recipes`), and a line `# Time: about 40 s on 2 CPU "
        "cores` gives the expected time of a whole run.",
    ]
    for section in SECTIONS:
        out += ["", f"## [{section}]", "", SECTION_INTROS[section], ""]
        out += ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
        for key in section_keys(section):
            out.append(
                f"| `{key.name}` | {_cell(key.type)} | `{_cell(key.default)}` | {_cell(key.doc)} |"
            )
        if section == "optimizer":
            out += [
                "",
                "The other keys are the keyword arguments of the chosen optimizer's `torch.optim` "
                "class (`lr`, `betas`, `weight_decay`, ...); `labcore recipes --keys` lists them "
                "with their defaults for the installed torch.",
            ]
    return "\n".join(out) + "\n"
