"""What a run's report says about its evaluations: where the latest numbers come from, the noise
floor beside each two-sample metric, and the table of every evaluation the run has had.

An evaluation record (``metrics.json``, one line of ``evaluations.jsonl``) says when and by what
it was made (``evaluated``: ``"training"`` at the end of training, ``"labcore evaluate"`` later),
from which checkpoint and with which ``--set`` overrides; ``noise_floor`` holds each two-sample
metric's value between two disjoint sets of real images (:mod:`labcore.metrics.noise_floor`).
"""

from __future__ import annotations

from typing import Any

from labcore import runs
from labcore.measurement import is_sample_based, setting
from labcore.report import Section
from labcore.run_sections import cell, fmt


def value_text(record: dict[str, Any], metric: str, value: Any) -> str:
    """A metric's value for the report, with its noise floor beside it when there is one:
    ``8.8 (real vs real 8.3)``."""
    floor = (record.get("noise_floor") or {}).get(metric)
    text = fmt(value)
    return text if floor is None else f"{text} (real vs real {fmt(floor, 4)})"


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
    re-evaluation (when, from which checkpoint, with which options), and what the brackets
    beside the two-sample metrics mean."""
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
            " In brackets beside each two-sample metric: its value between two disjoint sets of "
            f"{floor.get('num_real')} and {floor.get('num_other')} real images (real vs real), "
            "the noise floor a model indistinguishable from the data would score."
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


def history_section(run: Any) -> Section | None:
    """The table of every evaluation of ``run``, oldest first, when it has had more than one:
    when, by what, step, checkpoint, measurement setting, options and the sample-based metrics
    (else the main metric)."""
    records = run.evaluations()
    if len(records) < 2:
        return None
    metrics = list(
        dict.fromkeys(k for r in records for k in r.get("metrics") or {} if is_sample_based(k))
    )
    if not metrics:
        keys = (runs.main_key(r, run.recipe) for r in records)
        metrics = list(dict.fromkeys(k for k in keys if k is not None))
    headers = ["evaluated", "by", "step", "checkpoint", "measured with", "options", *metrics]
    rows = [
        "| " + " | ".join(cell(h) for h in headers) + " |",
        "| --- | --- | ---: | --- | --- | --- |" + " ---: |" * len(metrics),
    ]
    for record in records:
        evaluated = record.get("evaluated") or {}
        measured = setting(record)
        values = record.get("metrics") or {}
        cells = [
            _when(evaluated),
            evaluated.get("by") or "training",
            str(record.get("step", "-")),
            f"`{evaluated['checkpoint']}`" if evaluated.get("checkpoint") else "-",
            cell(measured.describe()) if measured else "-",
            _options(evaluated) if evaluated else "-",
            *(value_text(record, m, values[m]) if m in values else "-" for m in metrics),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    text = (
        f"The run has been evaluated {len(records)} times (`evaluations.jsonl`); the latest is "
        "the one shown above. Values measured with other extractors or sample counts do not "
        "compare with each other."
    )
    return Section("Evaluations", text + "\n\n" + "\n".join(rows))
