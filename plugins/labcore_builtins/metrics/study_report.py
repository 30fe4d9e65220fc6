"""The report of a metric study: ``report.md``, a self-contained ``report.html``, the figures
and ``results.json`` with every value, written as :mod:`labcore.report.document` writes run
reports."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from labcore.report.document import (
    Document,
    Section,
    cell,
    fmt,
    write_document,
    write_text_atomically,
)
from labcore_builtins.metrics.study_figures import direction_label, plot_corruption, plot_overview
from labcore_builtins.metrics.study_verdicts import SPREAD_SIGMAS, claim_rows, verdicts

RESULTS_NAME = "results.json"
FIGURES = "figures"


def verdict_text(verdict: dict[str, Any]) -> str:
    if verdict["detected"]:
        return f"**yes** (from {verdict['first']:.2g})"
    return "no, improves" if verdict["improved"] else "no"


def verdict_table(results: dict[str, Any], found: dict[str, dict[str, Any]]) -> str:
    corruptions = list(found)
    lines = [
        "| value | " + " | ".join(corruptions) + " |",
        "| --- |" + " --- |" * len(corruptions),
    ]
    for key in results["noise_floor"]:
        cells = [verdict_text(found[c][key]) for c in corruptions]
        lines.append(f"| `{key}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def claims_markdown(rows: list[dict[str, Any]]) -> str:
    yes_no = {True: "detects", False: "does not detect"}
    lines = [
        "| corruption | value | published claim | source | measured | agrees |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['corruption']} | `{row['key']}` | {yes_no[row['claim']]}: "
            f"{cell(row['why'])} | {cell(row['source'])} | {yes_no[row['measured']]} | "
            f"{'yes' if row['agrees'] else '**no**'} |"
        )
    disagreements = [row for row in rows if not row["agrees"]]
    if disagreements:
        items = "\n".join(
            f"- {row['corruption']}, `{row['key']}`: {row['source']} says it "
            f"{yes_no[row['claim']]} the failure; here it "
            f"{yes_no[row['measured']]} it."
            for row in disagreements
        )
        summary = f"Where the measurement disagrees with the literature:\n\n{items}"
    else:
        summary = "The measurement agrees with every claim listed."
    return "\n".join(lines) + "\n\n" + summary


def floor_table(results: dict[str, Any], found: dict[str, dict[str, Any]]) -> str:
    any_corruption = next(iter(found.values()))
    lines = [
        f"| value | mean | sd | spread ({SPREAD_SIGMAS:g} sd) | direction |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, values in results["noise_floor"].items():
        lines.append(
            f"| `{key}` | {fmt(statistics.fmean(values), 4)} | "
            f"{fmt(statistics.stdev(values), 3)} | "
            f"{fmt(any_corruption[key]['noise_spread'], 3)} | "
            f"{direction_label(results['higher_is_better'][key])} |"
        )
    return "\n".join(lines)


def values_table(results: dict[str, Any], corruption: str) -> str:
    strengths = results["strengths"]
    lines = [
        "| value | " + " | ".join(f"{s:.2g}" for s in strengths) + " |",
        "| --- |" + " --- |" * len(strengths),
    ]
    for key, rows in results["values"][corruption].items():
        means = [statistics.fmean(column) for column in zip(*rows)]
        lines.append(f"| `{key}` | " + " | ".join(fmt(v, 4) for v in means) + " |")
    return "\n".join(lines)


def setup_text(results: dict[str, Any]) -> str:
    config, extractor = results["config"], results["extractor"]
    size = config["size"]
    return "\n".join([
        f"- Data: {results['data']['source']}; each repeat splits it at random (seed "
        f"`1000 x seed + repeat`) into a **reference** set of {size} samples (the data the "
        f"imagined generator was trained on, which every metric compares against), a "
        f"**held-out** set of {size} (a perfect generator's output, which the corruptions "
        f"degrade) and a **spare** set (every other image: fresh samples of the kept classes "
        f"when classes are dropped).",
        f"- Extractor: `{extractor['name']}` (weights SHA-256 `{extractor['weights_sha256']}`), "
        "the same for every metric; KID as one unbiased estimate on all samples; the rest as "
        "`[evaluate]` sets them by default.",
        f"- Strengths: {', '.join(f'{s:.2g}' for s in results['strengths'])}; "
        f"{config['repeats']} repeats; seed {config['seed']}; device {results['device']}; "
        f"{results['seconds']} s.",
        f"- Noise floor: the untouched held-out set against the reference (strength 0), over "
        f"the repeats. A metric **detects** a corruption when its mean change at full strength, "
        f"in the worse direction its `higher_is_better` declares, exceeds the floor's spread "
        f"({SPREAD_SIGMAS:g} standard deviations); the 1-NN accuracy (0.5 ideal, no direction) "
        f"counts a change either way. \"from s\": the lowest strength at which the mean change "
        f"already exceeds the spread.",
        f"- Reproduce: `labcore metric-study --data {config['data']} --size {size} "
        f"--strengths {config['strengths']} --repeats {config['repeats']} --seed "
        f"{config['seed']}`.",
    ])  # fmt: skip


def build(results: dict[str, Any], out: Path) -> Document:
    """The study's document, its figures drawn under ``out/figures``."""
    found = verdicts(results)
    overview = plot_overview(results, found, out / FIGURES / "overview.png")
    sections = [
        Section(
            "Which metric detects which failure",
            "Rows: metric values; columns: corruptions. **yes**: the change at full strength "
            "exceeds the noise floor's spread in the worse direction (from the strength given); "
            "*no, improves*: it changes beyond the spread in the better direction.\n\n"
            + verdict_table(results, found),
            [("change at full strength, in noise spreads", overview)],
        ),
        Section("Measured against the literature", claims_markdown(claim_rows(found))),
        Section("Noise floor", floor_table(results, found)),
    ]
    for corruption, description in results["corruptions"].items():
        figure = plot_corruption(
            results, corruption, found[corruption], out / FIGURES / f"{corruption}.png"
        )
        sections.append(Section(
            corruption,
            f"Full strength: {description}. Mean over the repeats at each strength:\n\n"
            + values_table(results, corruption),
            [(f"{corruption}: every metric against the strength", figure)],
        ))  # fmt: skip
    sections.append(Section("Setup", setup_text(results)))
    data = results["data"]["name"]
    summary = (
        f"What each evaluation metric detects, on {data} with the `{results['extractor']['name']}`"
        f" extractor: {len(results['corruptions'])} controlled failures of a perfect generator, "
        f"after Xu et al., 2018 (\"An empirical study on evaluation metrics of generative "
        f"adversarial networks\")."
    )
    return Document(f"metric study: {data}", summary, sections, out, kind="comparison")


def write_report(results: dict[str, Any], out: Path) -> tuple[Path, Path, Path]:
    """Write ``results.json`` (the values and the verdicts), ``report.md``, ``report.html`` and
    the figures in ``out``; return the three files' paths."""
    out.mkdir(parents=True, exist_ok=True)
    document = build(results, out.resolve())
    record = {**results, "verdicts": verdicts(results), "claims": claim_rows(verdicts(results))}
    write_text_atomically(out / RESULTS_NAME, json.dumps(record, indent=2))
    return (out / RESULTS_NAME, *write_document(document, out))
