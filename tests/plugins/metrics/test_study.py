"""``labcore metric-study``: the corruptions, the verdicts, the findings on digits, the command."""

import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from scipy.ndimage import gaussian_filter

from labcore_builtins.metrics.study_cli import metric_study
from labcore_builtins.metrics.study_corruptions import (
    COLLAPSED_TO,
    CORRUPTIONS,
    NOT_REAL,
    corrupt,
    corruption_generator,
    gaussian_blur,
)
from labcore_builtins.metrics.study_data import load_real, split
from labcore_builtins.metrics.study_run import StudyConfig, run_study
from labcore_builtins.metrics.study_verdicts import claim_rows, verdict, verdicts

STRENGTHS = [0.0, 0.25, 0.5, 0.75, 1.0]


@pytest.fixture(scope="module")
def digits():
    return load_real("digits")


@pytest.fixture(scope="module")
def parts(digits):
    return split(digits, 300, seed=0)


def corrupted(name, data, parts, strength, repeat=0):
    return corrupt(name, data, parts, strength, corruption_generator(0, repeat, name))


def test_the_split_is_disjoint_and_covers_the_data(digits, parts):
    sets = [set(parts.reference.tolist()), set(parts.held_out.tolist()), set(parts.spare.tolist())]
    assert [len(s) for s in sets] == [300, 300, len(digits.labels) - 600]
    assert set.union(*sets) == set(range(len(digits.labels)))
    assert not torch.equal(split(digits, 300, seed=1).reference, parts.reference)


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_strength_zero_is_the_held_out_set_and_the_size_is_kept(name, digits, parts):
    untouched = corrupted(name, digits, parts, 0.0)
    assert torch.equal(untouched.source, parts.held_out)
    assert torch.equal(untouched.images, digits.images[parts.held_out])
    full = corrupted(name, digits, parts, 1.0)
    assert not untouched.altered
    assert full.altered == (name in {"gaussian_noise", "blur", "mixing"})
    if not full.altered:
        assert torch.equal(full.images, digits.images[full.source])
    assert full.images.shape == untouched.images.shape
    assert float(full.images.min()) >= 0.0 and float(full.images.max()) <= 1.0


@pytest.mark.parametrize("strength", STRENGTHS)
def test_mode_dropping_removes_exactly_that_many_classes(strength, digits, parts):
    samples = corrupted("mode_dropping", digits, parts, strength)
    present = set(samples.labels.tolist())
    assert len(present) == 10 - math.floor(9 * strength + 0.5)
    kept = torch.isin(digits.labels[parts.held_out], torch.tensor(sorted(present)))
    assert torch.equal(samples.source[kept], parts.held_out[kept])
    assert not set(samples.source.tolist()) & set(parts.reference.tolist())
    if strength < 0.6:
        assert len(set(samples.source.tolist())) == len(parts.held_out)


def test_stronger_dropping_drops_the_classes_of_the_weaker(digits, parts):
    present = [set(corrupted("mode_dropping", digits, parts, s).labels.tolist()) for s in STRENGTHS]
    assert all(a >= b for a, b in zip(present, present[1:]))


@pytest.mark.parametrize("strength", STRENGTHS)
def test_mode_collapse_keeps_a_few_samples_of_each_collapsed_class(strength, digits, parts):
    samples = corrupted("mode_collapse", digits, parts, strength)
    assert torch.equal(samples.labels, digits.labels[parts.held_out])
    collapsed = 0
    for label in range(10):
        members = samples.labels == label
        distinct = set(samples.source[members].tolist())
        assert distinct <= set(parts.held_out[members].tolist())
        if len(distinct) < int(members.sum()):
            assert len(distinct) <= COLLAPSED_TO
            collapsed += 1
    assert collapsed == math.floor(10 * strength + 0.5)


@pytest.mark.parametrize("strength", STRENGTHS)
def test_memorisation_copies_distinct_reference_samples(strength, digits, parts):
    samples = corrupted("memorisation", digits, parts, strength)
    copied = torch.isin(samples.source, parts.reference)
    assert int(copied.sum()) == math.floor(300 * strength + 0.5)
    assert len(set(samples.source[copied].tolist())) == int(copied.sum())
    assert torch.equal(samples.source[~copied], parts.held_out[~copied])
    assert torch.equal(samples.images, digits.images[samples.source])


def test_stronger_memorisation_extends_the_weaker(digits, parts):
    weak, strong = (corrupted("memorisation", digits, parts, s) for s in (0.25, 0.75))
    assert set(weak.source.tolist()) - set(parts.held_out.tolist()) <= set(strong.source.tolist())


def test_noise_grows_with_the_strength(digits, parts):
    clean = digits.images[parts.held_out]
    errors = [
        float((corrupted("gaussian_noise", digits, parts, s).images - clean).square().mean())
        for s in STRENGTHS
    ]
    assert errors[0] == 0.0 and all(a < b for a, b in zip(errors, errors[1:]))


@pytest.mark.parametrize("sigma", [0.7, 1.0, 1.2])
def test_gaussian_blur_matches_scipy(sigma):
    images = torch.rand(3, 1, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    ours = gaussian_blur(images, sigma).numpy()
    for image, blurred in zip(images.numpy(), ours):
        expected = gaussian_filter(image[0], sigma, mode="mirror", truncate=3.0)
        np.testing.assert_allclose(blurred[0], expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("strength", STRENGTHS)
def test_mixing_shuffles_the_pixels_of_that_many_samples(strength, digits, parts):
    samples = corrupted("mixing", digits, parts, strength)
    mixed = samples.source == NOT_REAL
    assert int(mixed.sum()) == math.floor(300 * strength + 0.5)
    assert torch.equal(samples.labels == NOT_REAL, mixed)
    clean = digits.images[parts.held_out]
    assert torch.equal(samples.images[~mixed], clean[~mixed])
    for shuffled, original in zip(samples.images[mixed], clean[mixed]):
        assert torch.equal(shuffled.flatten().sort().values, original.flatten().sort().values)


def test_a_verdict_follows_the_declared_direction():
    floor = [1.0, 1.1, 0.9]  # sd 0.1: spread 0.2
    strengths = [0.0, 0.5, 1.0]
    falls = [[1.0, 0.7, 0.5], [1.0, 0.8, 0.6]]
    higher = verdict(falls, floor, True, strengths)
    assert higher["detected"] and not higher["improved"]
    assert higher["first"] == 0.5 and higher["change"] == pytest.approx(-0.45)
    assert higher["score"] == pytest.approx(0.45 / 0.2)
    lower = verdict(falls, floor, False, strengths)
    assert lower["improved"] and not lower["detected"] and lower["first"] is None
    assert verdict(falls, floor, None, strengths)["detected"]
    assert not verdict([[1.0, 1.0, 1.1]], floor, True, strengths)["detected"]


@pytest.fixture(scope="module")
def small_study(digits):
    config = StudyConfig(
        size=150, strengths=2, repeats=3, corruptions=("memorisation", "mode_dropping",
                                                      "gaussian_noise")
    )
    return run_study(config, digits, "cpu")


def test_the_study_records_every_value(small_study):
    values = small_study["values"]
    assert list(values) == ["memorisation", "mode_dropping", "gaussian_noise"]
    keys = {"fid", "kid", "mmd2", "is", "mode_score", "wasserstein", "1nn", "precision",
            "recall", "density", "coverage"}
    assert set(small_study["noise_floor"]) == keys
    for by_key in values.values():
        assert set(by_key) == keys
        for key, rows in by_key.items():
            assert len(rows) == 3 and all(len(row) == 2 for row in rows)
            assert [row[0] for row in rows] == small_study["noise_floor"][key]
    assert small_study["higher_is_better"]["1nn"] is None
    assert small_study["higher_is_better"]["fid"] is False


def test_findings_on_digits(small_study):
    found = verdicts(small_study)
    memorised = found["memorisation"]
    assert memorised["1nn"]["detected"] and memorised["1nn"]["change"] < -0.3
    assert not memorised["is"]["detected"] and not memorised["mode_score"]["detected"]
    assert not memorised["fid"]["detected"]
    assert found["mode_dropping"]["fid"]["detected"]
    assert found["mode_dropping"]["fid"]["change"] > 0
    assert found["mode_dropping"]["recall"]["detected"]
    assert found["gaussian_noise"]["fid"]["detected"]
    rows = {(row["corruption"], row["key"]): row for row in claim_rows(found)}
    assert rows["memorisation", "1nn"]["claim"] and rows["memorisation", "1nn"]["agrees"]
    assert not rows["memorisation", "is"]["claim"] and rows["memorisation", "is"]["agrees"]
    assert ("mixing", "fid") not in rows  # mixing was not measured


def test_the_command_writes_its_report(labcore_cli, tmp_path):
    result = labcore_cli("metric-study", "--size", "100", "--strengths", "2", "--repeats", "2",
                         "--out", tmp_path, check=0)
    folder = next((tmp_path / "metric-study-digits").iterdir())
    assert str(folder / "report.html") in result.stdout
    record = json.loads((folder / "results.json").read_text())
    assert set(record["verdicts"]) == set(CORRUPTIONS)
    assert record["config"]["size"] == 100 and record["strengths"] == [0.0, 1.0]
    markdown = (folder / "report.md").read_text()
    assert "Which metric detects which failure" in markdown
    assert "Measured against the literature" in markdown
    for name in (*CORRUPTIONS, "overview"):
        assert (folder / "figures" / f"{name}.png").stat().st_size > 1000
    assert "data:image/png;base64," in (folder / "report.html").read_text()


def test_usage_errors_name_the_fix(labcore_cli, tmp_path):
    small = labcore_cli("metric-study", "--size", "5", "--out", tmp_path)
    assert small.returncode == 2 and "--size 5: choose between 100 and 898" in small.stderr
    assert "Traceback" not in small.stderr and not (tmp_path / "metric-study-digits").exists()
    runner = CliRunner()
    root = runner.invoke(metric_study, ["--data-root", str(tmp_path)])
    assert root.exit_code == 2 and "add --data mnist" in root.output
    missing = runner.invoke(metric_study, ["--data", "mnist", "--data-root", str(tmp_path)])
    assert missing.exit_code == 2 and "t10k-images-idx3-ubyte.gz" in missing.output
    assert "--data-root" in missing.output
    repeats = runner.invoke(metric_study, ["--repeats", "1"])
    assert repeats.exit_code == 2 and "at least 2" in repeats.output


def test_mnist_study_at_a_small_size(shared_data):
    data = load_real("mnist", shared_data("mnist"))
    assert data.images.shape == (10000, 1, 28, 28) and data.extractor == "lenet5-mnist"
    config = StudyConfig(data="mnist", size=200, strengths=2, repeats=2,
                         corruptions=("memorisation",))
    found = verdicts(run_study(config, data, "cpu"))
    assert found["memorisation"]["1nn"]["detected"]


@pytest.mark.quality
@pytest.mark.heavy
def test_the_default_study_on_digits():
    results = run_study(StudyConfig(), load_real("digits"), "cpu")
    found = verdicts(results)
    assert found["memorisation"]["1nn"]["detected"]
    assert not found["memorisation"]["is"]["detected"]
    for corruption in ("mode_dropping", "mode_collapse", "gaussian_noise", "blur", "mixing"):
        assert found[corruption]["fid"]["detected"], corruption
        assert found[corruption]["1nn"]["detected"], corruption
