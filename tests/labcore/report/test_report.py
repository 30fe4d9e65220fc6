"""Run reports and comparisons: report.md, the self-contained report.html, comparison of runs.

Most tests build a run folder by hand in the documented layout (see labcore.runfolder), so they
check the report against known contents; the last ones drive the command line on real toy runs.
"""

import base64
import csv
import dataclasses
import html.parser
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w
import torch
from click.testing import CliRunner
from PIL import Image

from labcore import measurement
from labcore.cli import report as report_cli
from labcore.images import save_grid
from labcore.metrics import Metric
from labcore.metrics.generative import higher_is_better
from labcore.plugins import PluginManager
from labcore.report import compare, logs, plots, run_report, run_sections
from labcore.report import document as report
from labcore.report import listing as runs_module
from labcore.runfolder import Run, open_run

TOY_DIR = Path(__file__).parents[1] / "toy_plugins"
TOY = TOY_DIR / "toy.toml"
SHA = "0123456789abcdef" * 4

RECIPE = {
    "run": {"name": "tiny-gan", "seed": 0, "device": "cpu", "precision": "32"},
    "data": {"name": "digits", "split_seed": 0},
    "model": {"name": "gan", "z_dim": 8},
    "optimizer": {"name": "adam", "lr": 2e-4, "discriminator": {"lr": 4e-4}},
    "schedule": {"name": "none"},
    "train": {"max_steps": 100, "batch_size": 16, "log_every": 10, "sample_every": 20},
    "evaluate": {
        "split": "test",
        "metrics": ["fid", "kid"],
        "num_samples": 500,
        "extractor": {"name": "classifier"},
    },
}


def evaluation_details(num: int = 500) -> dict:
    """What labcore.metrics.generative.evaluate_generative records in metrics.json."""
    return {
        "extractor": {
            "name": "classifier",
            "config": {"name": "classifier"},
            "weights_sha256": SHA,
        },
        "split": "test",
        "num_real": num,
        "num_generated": num,
        "seed": 0,
        "metrics": {
            "fid": {"options": {}, "num_real": num, "num_fake": num},
            "kid": {"options": {"subsets": 10}, "num_real": num, "num_fake": num},
        },
    }


def make_run(
    folder: Path,
    *,
    recipe: dict = RECIPE,
    metrics: dict | None = None,
    status: str = "finished",
    grids: int = 5,
    seed: int = 0,
) -> Run:
    """A finished generative run folder written by hand, as the trainer lays it out."""
    folder.mkdir(parents=True)
    (folder / "recipe.toml").write_text(tomli_w.dumps(recipe))
    (folder / "status.json").write_text(
        json.dumps({"status": status, "step": 100, "max_steps": 100})
    )
    env = {"python": "3.11.7", "versions": {"torch": "2.13.0"}, "device": "cpu", "command": ["x"]}
    (folder / "env.json").write_text(json.dumps(env))
    g = torch.Generator().manual_seed(seed)
    lines = []
    for step in range(10, 101, 10):
        d, gl = torch.rand(2, generator=g).tolist()
        lines.append({"step": step, "time": step / 10, "d_loss": d, "g_loss": gl, "lr/main": 2e-4})
        if step % 50 == 0:
            lines.append({"step": step, "val/accuracy": step / 200})
    metrics = (
        metrics if metrics is not None else {"val/accuracy": 0.75, "fid": 12.3456, "kid": 0.0123}
    )
    lines.append({"step": 100, **{f"final/{k}": v for k, v in metrics.items()}})
    (folder / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    record = {"step": 100, "metrics": metrics, "evaluation": evaluation_details()}
    (folder / "metrics.json").write_text(json.dumps(record))
    for i in range(grids):
        images = torch.rand(16, 1, 8, 8, generator=g) * 2 - 1
        save_grid(images, folder / "samples" / f"step-{(i + 1) * 20:06d}.png", 4, scale=4)
    return open_run(folder)


class StubManager:
    """What reports ask a plugin manager: the family sections and the plugins that failed."""

    def __init__(self, sections=()):
        self.sections = list(sections)

    def report_sections(self, run):
        return self.sections, []


class Page(html.parser.HTMLParser):
    """Collects what the tests look at in an HTML page."""

    def __init__(self):
        super().__init__()
        self.images, self.links, self.scripts, self.text = [], [], [], []
        self.headings, self._heading = [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        elif tag in ("link", "script", "iframe"):
            self.scripts.append((tag, attrs))
        elif tag == "a":
            self.links.append(attrs.get("href", ""))
        self._heading = tag in ("h1", "h2", "summary")

    def handle_endtag(self, tag):
        self._heading = False

    def handle_data(self, data):
        self.text.append(data)
        if self._heading and data.strip():
            self.headings.append(data.strip())

    @property
    def all_text(self):
        return " ".join(" ".join(self.text).split())


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text())
    page.close()
    return page


def decode(src: str) -> Image.Image:
    match = re.fullmatch(r"data:image/png;base64,([A-Za-z0-9+/=]+)", src)
    assert match, f"image is not an embedded PNG: {src[:60]}"
    image = Image.open(io.BytesIO(base64.b64decode(match.group(1))))
    image.load()
    return image


def figure(path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 2))
    FigureCanvasAgg(fig)
    fig.add_subplot().imshow([[0, 1], [1, 0]])
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


# -- one run ----------------------------------------------------------------------------------


def test_html_report_is_self_contained_and_every_image_decodes(tmp_path):
    run = make_run(tmp_path / "run")
    family = report.Section(
        "Confusion matrix", "Rows: true class.", [("matrix", figure(run.dir / "cm.png"))]
    )
    md_path, html_path = run_report.write_reports(run, StubManager([family]))
    assert (md_path.name, html_path.name) == ("report.md", "report.html")
    page = parse(html_path)
    # curves, latest grid, a strip of 5 grids, the family's figure
    assert len(page.images) == 1 + 1 + 5 + 1
    sizes = [decode(img["src"]).size for img in page.images]
    assert all(w > 10 and h > 10 for w, h in sizes)
    assert page.scripts == [], "the page must not load anything"
    assert not any(link.startswith(("http:", "https:", "//")) for link in page.links)
    for title in ("Recipe", "Metrics", "Training curves", "Samples", "Samples over training",
                  "Confusion matrix", "Environment", "Resolved recipe"):  # fmt: skip
        assert title in page.headings
    assert page.headings.index("Confusion matrix") < page.headings.index("Environment")


def test_every_metric_appears_with_what_measured_it(tmp_path):
    run = make_run(tmp_path / "run")
    md_path, html_path = run_report.write_reports(run, StubManager())
    text, markdown = parse(html_path).all_text, md_path.read_text()
    for name, value in run.metrics()["metrics"].items():
        for document in (text, markdown):
            assert name in document
            assert f"{value:.6g}" in document
    metrics = markdown.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    # said once above the table, not repeated in every row
    assert metrics.count("`classifier`") == 1 and metrics.count(SHA[:12]) == 1
    assert "on 500 real and 500 generated images" in metrics
    header = next(line for line in metrics.splitlines() if line.startswith("| metric |"))
    assert header == "| metric | value | better |"  # no noise floors, no counts of their own
    assert "| fid | 12.3456 | lower |" in metrics
    assert "| val/accuracy | 0.75 | higher |" in metrics
    record = {"metrics": {"test/d_accuracy": 0.66, "fid": 9.0}}
    table = run_sections.metrics_sections(record, "finished")[0].markdown
    assert "| test/d_accuracy | 0.66 |  |" in table  # a discriminator's: better neither way
    assert SHA in markdown  # the full hash among the evaluation details


def test_noise_floor_has_its_column_and_warnings_and_own_counts_are_said_once(tmp_path):
    run = make_run(tmp_path / "run", metrics={"fid": 12.5, "kid": 0.02, "kid_std": 0.001})
    record = run.metrics()
    record["noise_floor"] = {"fid": 8.25, "kid": -0.0004}
    record["evaluation"]["noise_floor"] = {"num_real": 500, "num_other": 500, "split": "test"}
    warning = "KID: kid_subset_size 1000 is not below the smaller side's 500 samples"
    record["evaluation"]["metrics"]["kid"].update(num_real=250, warnings=[warning])
    (run.dir / "metrics.json").write_text(json.dumps(record))
    markdown, _ = (p.read_text() for p in run_report.write_reports(run, StubManager()))
    metrics = markdown.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    assert "| metric | value | real vs real | better | samples |" in metrics
    assert "| fid | 12.5 | 8.25 | lower |  |" in metrics
    assert "| kid | 0.02 | -0.0004 | lower | num_real 250 |" in metrics
    assert "real vs real" in metrics.split("| metric |", 1)[0]  # the column is explained
    assert metrics.count(warning) == 1  # kid_std shares kid's warning: listed once
    assert f"- `kid`: {warning}" in metrics


def test_markdown_links_every_image_and_names_the_sections(tmp_path):
    run = make_run(tmp_path / "run")
    md_path, _ = run_report.write_reports(run, StubManager())
    markdown = md_path.read_text()
    targets = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert "report/curves.png" in targets and "samples/step-000100.png" in targets
    for target in targets:
        assert not Path(target).is_absolute()
        Image.open(run.dir / target).load()
    assert markdown.startswith("# tiny-gan\n\nStatus: **finished**")
    headings = re.findall(r"^## (.+)$", markdown, re.M)
    assert headings[:3] == ["Recipe", "Metrics", "Evaluation details"]
    assert "| optimizer | `adam` | `lr` = 0.0002, `discriminator.lr` = 0.0004 |" in markdown


def test_curves_show_each_logged_value_against_step(tmp_path):
    run = make_run(tmp_path / "run")
    series = logs.series(run.log())
    assert list(series) == ["d_loss", "g_loss", "lr/main", "val/accuracy"]
    assert series["val/accuracy"] == ([50, 100], [0.25, 0.5])
    sections = run_sections.curves_sections(run)
    assert sections[0].images[0][1] == run.dir / "report" / "curves.png"
    image = Image.open(run.dir / "report" / "curves.png")
    assert image.width >= 3 * 300  # three panels side by side
    table = sections[1].markdown
    assert "| val/accuracy | 0.25 | 0.5 | 0.25 | 0.5 | 2 |" in table


def test_the_curves_caption_explains_only_what_the_figure_shows(tmp_path):
    run = make_run(tmp_path / "run")
    caption = run_sections.curves_sections(run)[0].markdown
    assert "markers" in caption  # the run logs val/accuracy
    log = [{"step": s, "time": s / 10, "loss": 1.0 - s / 1000} for s in range(10, 101, 10)]
    (run.dir / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
    caption = run_sections.curves_sections(run)[0].markdown
    assert "markers" not in caption and "logarithmic" not in caption
    log += [{"step": 110, "time": 11.0, "loss": 1e-5}]
    (run.dir / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
    assert "logarithmic axis" in run_sections.curves_sections(run)[0].markdown


def test_two_sample_grids_are_shown_side_by_side_once(tmp_path):
    run = make_run(tmp_path / "run", grids=2)
    sections = run_sections.samples_sections(run)
    assert [s.title for s in sections] == ["Samples"]
    assert [caption for caption, _ in sections[0].images] == ["step 20", "step 40"]
    assert sections[0].markdown.startswith("Sample grids at steps 20 and 40.")
    _, page = run_report.write_reports(run, StubManager())
    samples = page.read_text().split('<section id="samples">', 1)[1].split("</section>", 1)[0]
    assert samples.count("<img ") == 2 and '<div class="figures pair">' in samples
    three = make_run(tmp_path / "three", grids=3)
    assert [s.title for s in run_sections.samples_sections(three)] == [
        "Samples", "Samples over training"
    ]  # fmt: skip


def test_a_step_logged_twice_keeps_its_later_value():
    log = [
        {"step": 10, "time": 1.0, "loss": 3.0},
        {"step": 20, "time": 2.0, "loss": 2.0},
        {"step": 20, "time": 0.5, "loss": 1.5},  # resumed from step 10's checkpoint
        {"step": 30, "time": 1.0, "loss": 1.0},
        {"step": 30, "final/accuracy": 0.9},
    ]
    assert logs.series(log) == {"loss": ([10, 20, 30], [3.0, 1.5, 1.0])}


def test_plot_groups_learning_rates_and_returns_none_without_data(tmp_path):
    assert plots.panels(["loss", "lr/g", "acc", "lr/d"]) == [
        ("loss", ["loss"]),
        ("learning rate", ["lr/g", "lr/d"]),
        ("acc", ["acc"]),
    ]
    assert plots.plot_curves({"run": {}}, tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()


def test_a_running_run_without_metrics_or_samples_still_reports(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "recipe.toml").write_text(tomli_w.dumps(RECIPE))
    (folder / "status.json").write_text(json.dumps({"status": "running", "step": 7}))
    md_path, html_path = run_report.write_reports(open_run(folder), StubManager())
    markdown = md_path.read_text()
    assert "No final metrics yet (the run is running)." in markdown
    assert "## Training curves" not in markdown and "## Samples" not in markdown
    assert parse(html_path).images == []


def test_family_sections_come_from_the_hook_and_their_failures_are_reported(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "family.py").write_text(
        "import labcore\n"
        "from labcore.report.document import Section\n"
        "@labcore.hookimpl\n"
        "def labcore_report_sections(run):\n"
        "    text = 'Sampled: <b>&</b>\\n\\n```text\\n<script>alert(1)</script>\\n```'\n"
        "    return [Section('Generated text', text)]\n"
    )
    (plugins / "broken.py").write_text(
        "import labcore\n"
        "@labcore.hookimpl\n"
        "def labcore_report_sections(run):\n"
        "    raise RuntimeError('no checkpoint')\n"
    )
    run = make_run(tmp_path / "run", grids=0)
    _, html_path = run_report.write_reports(run, PluginManager(plugins))
    page_source = html_path.read_text()
    page = parse(html_path)
    assert "Generated text" in page.headings
    assert "<script>" not in page_source and "&lt;script&gt;alert(1)&lt;/script&gt;" in page_source
    assert "Sampled: &lt;b&gt;&amp;&lt;/b&gt;" in page_source
    assert "Report problems" in page.headings
    assert "plugin 'broken'" in page.all_text and "no checkpoint" in page.all_text


# -- CSV --------------------------------------------------------------------------------------


def test_csv_export_has_one_row_per_record_and_every_key(tmp_path):
    run = make_run(tmp_path / "run", grids=0)
    path = logs.write_csv(run.log(), tmp_path / "log.csv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(run.log())
    assert list(rows[0])[:4] == ["step", "time", "d_loss", "g_loss"]
    assert "final/fid" in rows[0] and rows[-1]["final/fid"] == "12.3456"
    assert rows[0]["val/accuracy"] == "" and float(rows[0]["d_loss"]) == run.log()[0]["d_loss"]


# -- comparison -------------------------------------------------------------------------------


def second_recipe() -> dict:
    recipe = json.loads(json.dumps(RECIPE))
    recipe["optimizer"]["lr"] = 1e-3
    recipe["run"]["seed"] = 3
    return recipe


def test_comparison_of_two_runs_sorts_highlights_and_overlays(tmp_path):
    better = make_run(tmp_path / "a" / "run", metrics={"fid": 10.0, "kid": 0.02}, seed=1)
    worse = make_run(
        tmp_path / "b" / "run", recipe=second_recipe(), metrics={"fid": 20.0, "kid": 0.01}
    )
    run_report.write_reports(worse, StubManager())
    md_path, html_path = compare.write_comparison([worse, better], tmp_path / "cmp")
    markdown = md_path.read_text()
    assert "Sorted by `fid`, lowest first." in markdown
    header = next(line for line in markdown.splitlines() if line.startswith("| |"))
    assert header.index("a/run") < header.index("b/run")  # names repeat: folders tell apart
    assert "[b/run](../b/run/report.html)" in header
    # the best value of each metric in bold, by its declared direction (lower is better)
    assert "| **fid** | **10** | 20 |" in markdown and "| kid | 0.02 | **0.01** |" in markdown
    differing = re.findall(r"^\| `([^`]+)` \|", markdown, re.M)
    assert differing == ["run.seed", "optimizer.lr"]
    assert "| `optimizer.lr` | 0.0002 | **0.001** |" in markdown

    page = parse(html_path)
    assert len(page.images) == 1 and decode(page.images[0]["src"]).width > 600
    assert page.scripts == []
    source = html_path.read_text()
    assert '<body class="comparison">' in source and "<strong>0.001</strong>" in source

    by_kid = compare.build([worse, better], tmp_path / "cmp", sort="kid")
    assert "Sorted by `kid`, lowest first." in by_kid.sections[0].markdown
    assert "| **kid** | **0.01** | 0.02 |" in by_kid.sections[0].markdown
    with pytest.raises(ValueError, match="no run has the metric 'bleu'; available: fid, kid"):
        compare.build([worse, better], tmp_path / "cmp", sort="bleu")


def test_comparison_leaves_out_settings_that_do_not_apply_and_puts_the_game_last(tmp_path):
    dcgan = json.loads(json.dumps(RECIPE))
    dcgan["model"].update(arch="dcgan", hidden=128)
    mlp = json.loads(json.dumps(RECIPE))
    mlp["model"].update(arch="mlp", hidden=64)  # hidden applies to the MLP alone
    metrics = {"test/d_accuracy": 0.6, "test/accuracy": 0.5, "fid": 9.0}
    runs = [make_run(tmp_path / name, recipe=recipe, metrics=metrics)
            for name, recipe in (("dcgan", dcgan), ("mlp", mlp))]  # fmt: skip
    assert compare.recipe_differences(runs[:1] + [make_run(
        tmp_path / "dcgan-64", recipe={**dcgan, "model": {**dcgan["model"], "hidden": 64}}
    )]) == []  # an MLP size beside DCGAN networks is no difference
    markdown = compare.build(runs, tmp_path / "cmp").sections[0].markdown
    assert "| `model.hidden` | (unset) | **64** |" in markdown
    rows = [line.split(" | ")[0] for line in markdown.splitlines() if line.startswith("| ")]
    assert rows.index("| **fid**") < rows.index("| test/accuracy") < rows.index("| test/d_accuracy")


def test_comparison_labels_and_differences():
    runs = [
        Run(Path("/o/a/1"), {"run": {"name": "a"}, "model": {"name": "m", "h": 1}}),
        Run(Path("/o/b/1"), {"run": {"name": "b"}, "model": {"name": "m", "h": 2, "extra": 0}}),
    ]
    assert compare.labels(runs) == ["a", "b"]
    assert compare.recipe_differences(runs) == ["model.h", "model.extra"]
    same_name = [Run(Path(f"/{top}/x/1"), {"run": {"name": "x"}}) for top in ("o", "p")]
    assert compare.labels(same_name) == ["o/x/1", "p/x/1"]


def with_record(run: Run, metrics: dict, details: dict) -> Run:
    """``run`` with its metrics.json replaced by ``metrics`` measured as ``details`` say."""
    record = {"step": 100, "metrics": metrics, "evaluation": details}
    (run.dir / "metrics.json").write_text(json.dumps(record))
    return run


def seeded(seed: int, lr: float = 2e-4) -> dict:
    recipe = json.loads(json.dumps(RECIPE))
    recipe["run"]["seed"], recipe["optimizer"]["lr"] = seed, lr
    return recipe


def test_runs_measured_differently_are_never_ranked_together(tmp_path):
    other_weights = {**evaluation_details(), "extractor": {"name": "classifier",
                                                           "weights_sha256": "f" * 64}}
    runs = [
        with_record(make_run(tmp_path / "a" / "run", recipe=seeded(0, lr=1e-4)), {"fid": 30.0},
                    evaluation_details(500)),
        with_record(make_run(tmp_path / "b" / "run", recipe=seeded(1)), {"fid": 5.0},
                    evaluation_details(2000)),
        with_record(make_run(tmp_path / "c" / "run", recipe=seeded(2)), {"fid": 20.0},
                    evaluation_details(500)),
        with_record(make_run(tmp_path / "d" / "run", recipe=seeded(3)), {"fid": 1.0},
                    other_weights),
    ]  # fmt: skip
    document = compare.build(runs, tmp_path / "cmp")
    titles = [section.title for section in document.sections]
    assert titles[:4] == [
        "Measurement settings",
        f"Measured with classifier (weights {SHA[:12]}), 500 real / 500 generated samples",
        f"Measured with classifier (weights {SHA[:12]}), 2000 real / 2000 generated samples",
        "Measured with classifier (weights ffffffffffff), 500 real / 500 generated samples",
    ]
    reason = document.sections[0].markdown
    assert "differ in sample counts, extractor weights" in reason and "do not compare" in reason
    same = document.sections[1].markdown
    assert "| **fid** | **20** | 30 |" in same  # ranked only against the same setting
    for section, label in zip(document.sections[2:4], ("b/run", "d/run")):
        header = next(line for line in section.markdown.splitlines() if line.startswith("| |"))
        assert label in header and header.count("/run") == 1

    result = CliRunner().invoke(report_cli.runs, [str(tmp_path)])
    lines = result.output.splitlines()
    assert lines[-1].startswith("note: the sample-based metrics above were measured with")
    measured = {line.split()[0]: line.split()[5:7] for line in lines[1:5]}
    assert measured[str(runs[1].dir)] == [f"classifier@{SHA[:12]}", "2000/2000"]


def test_seeds_of_one_configuration_make_one_row_with_mean_and_std(tmp_path):
    runs = [make_run(tmp_path / f"s{seed}" / "run", recipe=seeded(seed),
                     metrics={"fid": 10.0 + 2 * seed, "kid": 0.01}) for seed in range(3)]
    runs.append(make_run(tmp_path / "other" / "run", recipe=seeded(0, lr=1e-3),
                         metrics={"fid": 5.0, "kid": 0.02}))  # fmt: skip
    markdown = compare.build(runs, tmp_path / "cmp").sections[0].markdown
    rows = [line for line in markdown.splitlines() if line.startswith("| tiny-gan")]
    assert rows == [
        "| tiny-gan #1 | 0 | 1 finished | **5** | 0.02 | 0.001 |",
        "| tiny-gan #2 | 0, 1, 2 | 3 finished | 12 ± 2 | **0.01 ± 0** | 0.0002 |",
    ]
    header = next(line for line in markdown.splitlines() if line.startswith("| configuration"))
    assert header == "| configuration | seeds | runs | **fid** | kid | `optimizer.lr` |"
    assert "The last column is the recipe setting that differs" in markdown
    assert not any("s1/run" in line for line in markdown.splitlines() if line.startswith("|"))


def test_seeds_alone_are_labelled_by_seed_and_linked_to_their_reports(tmp_path):
    runs = [make_run(tmp_path / f"s{seed}" / "run", recipe=seeded(seed)) for seed in range(2)]
    run_report.write_reports(runs[1], StubManager())
    assert compare.labels(runs) == ["tiny-gan seed 0", "tiny-gan seed 1"]
    markdown = compare.build(runs, tmp_path / "cmp").sections[0].markdown
    row = next(line for line in markdown.splitlines() if line.startswith("| tiny-gan"))
    assert "| 0, [1](../s1/run/report.html) |" in row  # seed 0 has no report.html to link
    assert "Apart from `run.seed`, all" in markdown
    folders = compare.build(runs, tmp_path / "cmp").sections[-1].markdown
    assert folders.splitlines()[0] == f"- tiny-gan seed 0: `{runs[0].dir}`"  # the seed once
    runs.append(make_run(tmp_path / "lr" / "run", recipe=seeded(2, lr=1e-3)))
    assert compare.labels(runs) == ["s0/run", "s1/run", "lr/run"]  # more than the seed differs


def test_a_seed_summary_never_averages_numbers_measured_differently(tmp_path):
    runs = [
        with_record(make_run(tmp_path / f"s{seed}", recipe=seeded(seed)),
                    {"test/accuracy": 0.5 + seed / 10, "fid": 10.0 * (seed + 1)},
                    evaluation_details(num))
        for seed, num in ((0, 500), (1, 500), (2, 1000))
    ]  # fmt: skip
    summary, note = compare.seed_summary(runs)
    assert summary["test/accuracy"] == pytest.approx((0.6, 0.1))  # the model's own: every seed
    assert summary[f"fid [classifier@{SHA[:12]} 500/500]"] == pytest.approx((15.0, 50**0.5))
    assert summary[f"fid [classifier@{SHA[:12]} 1000/1000]"] == (30.0, 0.0)
    assert "fid" not in summary and "differ in sample counts" in note
    summary, note = compare.seed_summary(runs[:2])
    assert summary["fid"] == pytest.approx((15.0, 50**0.5)) and note is None


class MatchLoss(Metric):
    """A metric plugin whose name says "loss" but whose higher values are better."""

    name = "match_loss"
    Config = dataclasses.make_dataclass("MatchLossConfig", [])
    two_sample = False
    higher_is_better = {"match_loss": True}


def test_sorting_and_the_best_value_follow_the_declared_direction(tmp_path):
    details = {**evaluation_details(), "higher_is_better": higher_is_better([MatchLoss()])}

    def measured(name: str, lr: float, value: float) -> Run:
        recipe = seeded(0, lr)
        recipe["evaluate"]["metrics"] = ["match_loss"]
        run = make_run(tmp_path / name / "run", recipe=recipe)
        return with_record(run, {"match_loss": value}, details)

    low, high = measured("low", 1e-4, 0.5), measured("high", 1e-3, 0.9)
    assert measurement.lower_is_better("match_loss")  # what its name alone would say
    markdown = compare.build([low, high], tmp_path / "cmp").sections[0].markdown
    assert "Sorted by `match_loss`, highest first." in markdown
    assert "| **match_loss** | **0.9** | 0.5 |" in markdown
    assert runs_module.main_metric(low) == ("match_loss", 0.5)
    for run in (low, high):  # a record written before directions were recorded
        record = json.loads((run.dir / "metrics.json").read_text())
        del record["evaluation"]["higher_is_better"]
        (run.dir / "metrics.json").write_text(json.dumps(record))
    markdown = compare.build([low, high], tmp_path / "cmp").sections[0].markdown
    assert "Sorted by `match_loss`, lowest first." in markdown


# -- the command line -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def toy_runs(tmp_path_factory):
    """Two real toy runs (different learning rates) under one output folder."""
    out = tmp_path_factory.mktemp("outputs")
    for lr in ("0.1", "0.02"):
        subprocess.run(
            [sys.executable, "-m", "labcore", "--plugins-dir", str(TOY_DIR), "run", str(TOY),
             "--out", str(out), "--set", f"optimizer.lr={lr}", "--set", "train.eval_every=10"],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
    return out, sorted(p for p in out.glob("toy/*") if p.is_dir())


def test_run_writes_both_reports(toy_runs):
    _, folders = toy_runs
    for folder in folders:
        markdown = (folder / "report.md").read_text()
        page = parse(folder / "report.html")
        metrics = json.loads((folder / "metrics.json").read_text())["metrics"]
        for name, value in metrics.items():
            assert name in markdown and name in page.all_text
            assert f"{value:.6g}" in page.all_text
        assert [decode(img["src"]).format for img in page.images] == ["PNG"]  # the curves


def test_report_command_rewrites_one_run_and_exports_csv(labcore_cli, toy_runs):
    _, folders = toy_runs
    (folders[0] / "report.html").unlink()
    result = labcore_cli("--plugins-dir", TOY_DIR, "report", folders[0], "--csv", check=0)
    assert f"wrote {folders[0].resolve() / 'report.html'}" in result.stdout
    assert (folders[0] / "report.html").is_file()
    header = (folders[0] / "log.csv").read_text().splitlines()[0]
    assert header.startswith("step,time,loss,lr/main")


def test_report_command_compares_a_folder_of_runs(labcore_cli, toy_runs):
    out, folders = toy_runs
    result = labcore_cli("report", out, "--sort", "test/accuracy", "--ascending", check=0)
    assert "comparison.html" in result.stdout
    markdown = (out / "comparison.md").read_text()
    assert "Sorted by `test/accuracy`, lowest first." in markdown
    assert "| `optimizer.lr` |" in markdown
    page = parse(out / "comparison.html")
    assert len(page.images) == 1 and decode(page.images[0]["src"]).size[0] > 600


def test_report_command_names_bad_input(toy_runs, tmp_path):
    _, folders = toy_runs
    runner = CliRunner()
    args = [*map(str, folders), "--sort", "fid", "--out", str(tmp_path / "cmp")]
    result = runner.invoke(report_cli.report, args)
    assert result.exit_code == 2 and "no run has the metric 'fid'" in result.output
    result = runner.invoke(report_cli.report, [str(tmp_path)])
    assert result.exit_code == 2
    assert "is neither a run folder nor a folder of runs" in result.output


def test_report_command_writes_the_comparison_where_told_and_keeps_users_files(
    toy_runs, tmp_path, monkeypatch
):
    _, folders = toy_runs
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(report_cli.report, [*map(str, folders), "-o", "cmp"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cmp" / "comparison.md").is_file() and not list(tmp_path.glob("*.md"))
    again = runner.invoke(report_cli.report, [*map(str, folders), "--output", "cmp"])
    assert again.exit_code == 0, again.output  # labcore's own files are rewritten
    assert parse(tmp_path / "cmp" / "comparison.html").images

    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "comparison.md").write_text("# my notes\n")
    refused = runner.invoke(report_cli.report, [*map(str, folders), "-o", str(mine)])
    assert refused.exit_code == 2
    assert "comparison.md exists and was not written by `labcore report`" in refused.output
    assert (mine / "comparison.md").read_text() == "# my notes\n"
    assert not (mine / "comparison.html").exists() and not (mine / "comparison-curves.png").exists()


def test_comparison_never_writes_through_a_link_or_over_a_users_page(tmp_path):
    runs = [
        make_run(tmp_path / "a" / "run", metrics={"fid": 1.0}),
        make_run(tmp_path / "b" / "run", recipe=second_recipe(), metrics={"fid": 2.0}),
    ]
    out = tmp_path / "cmp"
    compare.write_comparison(runs, out)
    target = tmp_path / "elsewhere.md"
    target.write_text(compare.MARKER)
    (out / "comparison.md").unlink()
    (out / "comparison.md").symlink_to(target)
    with pytest.raises(FileExistsError, match="comparison.md exists"):
        compare.write_comparison(runs, out)
    (out / "comparison.md").unlink()
    (out / "comparison.html").write_text("<html>a page of mine</html>")
    with pytest.raises(FileExistsError, match="comparison.html exists"):
        compare.write_comparison(runs, out)
    assert (out / "comparison.html").read_text() == "<html>a page of mine</html>"
