"""What a run's report says about its evaluations: where the latest numbers come from, the noise
floor beside each two-sample metric, and the table of every evaluation the run has had.

An evaluation record (``metrics.json``, one line of ``evaluations.jsonl``) says when and by what
it was made (``evaluated``: ``"training"`` at the end of training, ``"labcore evaluate"`` later),
from which checkpoint and with which ``--set`` overrides; ``noise_floor`` holds each two-sample
metric's value between two disjoint sets of real images (:mod:`labcore.metrics.noise_floor`).
"""

from __future__ import annotations

from typing import Any

from labcore.measurement import is_sample_based, setting
from labcore.report import listing as runs
from labcore.report.document import Section, cell, fmt


def _when(evaluated: dict[str, Any]) -> str:
    time = evaluated.get("time")
    return time.replace("T", " ").replace("Z", " UTC") if isinstance(time, str) else "(unknown)"


def _options(evaluated: dict[str, Any]) -> str:
    overrides = evaluated.get("overrides") or []
    if not overrides:
        return "the recipe's `[evaluate]` options"
    return " ".join(f"`--set {cell(text)}`" for text in overrides)


def headline(record: dict[str, Any]) -> str:
    """The sentence over the metrics table: the final evaluation of training, or a later
    re-evaluation (when, from which checkpoint, with which options), and what the column
    *real vs real* beside the two-sample metrics means."""
    evaluated = record.get("evaluated") or {}
    step = record.get("step")
    if evaluated.get("by") == "labcore evaluate":
        text = (
            f"Re-evaluated by `labcore evaluate` on {_when(evaluated)} at step {step}, from "
            f"`checkpoints/{evaluated.get('checkpoint')}`, with {_options(evaluated)}; the "
            "report was written again then. Every evaluation of the run is in *Evaluations*."
        )
    else:
        text = f"Final evaluation at step {step}."
    floor = ((record.get("evaluation") or {}).get("noise_floor")) or {}
    if record.get("noise_floor") and floor:
        text += (
            " The column *real vs real* gives each two-sample metric between two disjoint sets "
            f"of {floor.get('num_real')} and {floor.get('num_other')} real images: the noise "
            "floor, what a model indistinguishable from the data would score."
        )
        if floor.get("split") and floor.get("split") != (record.get("evaluation") or {}).get(
            "split"
        ):
            text += (
                f" The evaluated split is too small for both sets, so the second set is drawn "
                f"from the '{floor['split']}' split."
            )
        if floor.get("halves"):
            text += (
                " The data hold too few images for two disjoint sets of the evaluation's size, "
                "so the floor compares two halves of the real set; smaller sets sit further "
                "apart, so it lies above the floor at the evaluation's size."
            )
    return text


def primary_metrics(record: dict[str, Any]) -> list[str]:
    """The sample-based values of ``record`` without the parts a metric adds beside its own
    value (``kid_std``, ``1nn_real`` beside ``kid`` and ``1nn``): the history's columns."""
    values = [k for k in record.get("metrics") or {} if is_sample_based(k)]
    asked = (record.get("evaluation") or {}).get("metrics")
    names = [n for n in asked if n in values] if isinstance(asked, dict) else []
    return [k for k in values if not any(k.startswith(f"{n}_") for n in names)]


def history_section(run: Any) -> Section | None:
    """The table of every evaluation of ``run``, oldest first, when it has had more than one:
    when, by what, step, checkpoint, measurement setting, options and the sample-based metrics
    the recipe asked for, each with its noise floor in brackets (else the main metric)."""
    records = run.evaluations()
    if len(records) < 2:
        return None
    metrics = list(dict.fromkeys(k for r in records for k in primary_metrics(r)))
    if not metrics:
        keys = (runs.main_key(r, run.recipe) for r in records)
        metrics = list(dict.fromkeys(k for k in keys if k is not None))
    table: list[list[str]] = []
    for record in records:
        evaluated = record.get("evaluated") or {}
        measured = setting(record)
        values = record.get("metrics") or {}
        floors = record.get("noise_floor") or {}
        table.append([
            _when(evaluated).removesuffix(" UTC")[:16],
            evaluated.get("by") or "training",
            str(record.get("step", "-")),
            f"`{evaluated['checkpoint']}`" if evaluated.get("checkpoint") else "-",
            f"`{cell(measured.short())}`" if measured else "-",
            _options(evaluated) if evaluated else "-",
            *(
                (fmt(values[m]) + (f" ({fmt(floors[m], 4)})" if m in floors else ""))
                if m in values
                else "-"
                for m in metrics
            ),
        ])  # fmt: skip
    headers = ["evaluated (UTC)", "by", "step", "checkpoint", "measured with", "options", *metrics]
    aligns = ["---", "---", "---:", "---", "---", "---", *["---:"] * len(metrics)]
    # step, checkpoint and setting: a column only where the evaluations differ in it
    collapsible = [headers.index(h) for h in ("step", "checkpoint", "measured with")]
    shared = [i for i in collapsible if len({row[i] for row in table}) == 1 and table[0][i] != "-"]
    keep = [i for i in range(len(headers)) if i not in shared]
    rows = ["| " + " | ".join(cell(headers[i]) for i in keep) + " |"]
    rows.append("| " + " | ".join(aligns[i] for i in keep) + " |")
    rows += ["| " + " | ".join(row[i] for i in keep) + " |" for row in table]
    text = (
        f"The run has been evaluated {len(records)} times (`evaluations.jsonl`); the latest is "
        "the one shown above."
    )
    if shared:
        words = {"measured with": "measurement setting"}
        same = ", ".join(f"{words.get(headers[i], headers[i])} {table[0][i]}" for i in shared)
        text += f" Every evaluation had the same {same}."
    if headers.index("measured with") not in shared:
        text += (
            " *measured with* reads `extractor@weights real/generated`; values measured with "
            "other extractors or sample counts do not compare with each other."
        )
    if any(r.get("noise_floor") for r in records):
        text += " In brackets beside a value: its noise floor (real vs real)."
    return Section("Evaluations", text + "\n\n" + "\n".join(rows))
