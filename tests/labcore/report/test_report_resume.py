"""A resumed run: wall time counts on from the checkpoint, and the report says it was resumed;
and its report.html, whose every image opens its full-size file.

One real toy run, stopped by train.max_steps and resumed to more steps through the command line.
"""

import base64
import html.parser
import io
import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from labcore.testing import run_cli

TOY_DIR = Path(__file__).parents[1] / "toy_plugins"
TOY = TOY_DIR / "toy.toml"
#: The wall time the stopped run's checkpoint claims, far beyond what ten toy steps take.
CLAIMED_SECONDS = 1000.0


class ImageLinks(html.parser.HTMLParser):
    """Each ``<img>`` of a page with the ``href`` of the link it sits in (None outside one)."""

    def __init__(self):
        super().__init__()
        self.images, self._href = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a":
            self._href = attrs.get("href")
        elif tag == "img":
            self.images.append((self._href, attrs))

    def handle_endtag(self, tag):
        if tag == "a":
            self._href = None


def training_records(folder: Path) -> list[dict]:
    lines = (folder / "log.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if "time" in r and "loss" in r]


@pytest.fixture(scope="module")
def resumed_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    toy = ["--plugins-dir", TOY_DIR]
    run_cli(*toy, "run", TOY, "--set", "train.max_steps=10", "--out", out, check=0)
    (folder,) = out.glob("toy/*")
    before = training_records(folder)
    last = folder / "checkpoints" / "last.pt"
    state = torch.load(last, weights_only=True)
    assert state["elapsed"] >= before[-1]["time"]  # the checkpoint keeps the wall time
    state["elapsed"] = CLAIMED_SECONDS
    torch.save(state, last)
    run_cli(*toy, "resume", folder, "--set", "train.max_steps=20", check=0)
    return folder, before


def test_wall_time_counts_on_across_a_resume(resumed_run):
    folder, before = resumed_run
    records = training_records(folder)
    assert [r["step"] for r in before] == [5, 10]
    assert [r["step"] for r in records] == [5, 10, 15, 20]
    after = [r["time"] for r in records[2:]]
    assert all(CLAIMED_SECONDS <= t < CLAIMED_SECONDS + 300 for t in after)
    assert after == sorted(after)
    resume = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    resume = [r for r in resume if "resumed" in r]
    assert len(resume) == 1 and resume[0]["step"] == 10 and resume[0]["checkpoint"] == "last.pt"


def test_the_report_of_a_resumed_run_says_when_and_from_which_step(resumed_run):
    folder, _ = resumed_run
    resume = next(
        json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()
        if "resumed" in line
    )  # fmt: skip
    when = resume["resumed"].replace("T", " ")[:16]
    text = (folder / "report.md").read_text()
    assert f"resumed at step 10 (last.pt) on {when} UTC" in text
    assert "resumed from the checkpoint of step 10" in text


def test_every_report_image_links_to_its_full_size_file(resumed_run):
    folder, _ = resumed_run
    page = ImageLinks()
    page.feed((folder / "report.html").read_text())
    assert page.images  # at least the training curves
    for href, attrs in page.images:
        assert href is not None, f"image {attrs.get('alt')!r} is not a link"
        target = folder / href
        assert target.is_file()
        embedded = base64.b64decode(attrs["src"].split(",", 1)[1])
        assert embedded == target.read_bytes()  # the link opens the very image shown
        width, height = Image.open(io.BytesIO(embedded)).size
        assert (attrs["width"], attrs["height"]) == (str(width), str(height))
    curves = [a for h, a in page.images if h == "report/curves.png"]
    assert len(curves) == 1 and int(curves[0]["width"]) >= 600
