"""``labcore metrics A B`` and the metrics plugin's registrations."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from labcore.metrics import GaussianStats, frechet_distance, one_nn_accuracy
from labcore.plugins import get_manager
from labcore_builtins.metrics.cli import metrics
from labcore_builtins.metrics.inputs import load_set


def feature_files(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((300, 12)).astype(np.float32)
    b = (rng.standard_normal((250, 12)) * 1.2 + 0.3).astype(np.float32)
    logits = rng.standard_normal((250, 7)).astype(np.float32)
    np.savez(tmp_path / "a.npz", features=a)
    np.savez(tmp_path / "b.npz", features=b, logits=logits)
    return a, b


def test_plugin_registers_metrics_extractors_and_command():
    manager = get_manager()
    assert {"fid", "kid", "mmd", "is", "1nn", "prdc"} <= set(manager.names("metric"))
    assert {"inception-v3-fid", "classifier"} <= set(manager.names("feature_extractor"))
    assert "metrics" in [command.name for _, command in manager.cli_commands()]


def test_metrics_between_feature_files_as_json(tmp_path):
    a, b = feature_files(tmp_path)
    args = [str(tmp_path / "a.npz"), str(tmp_path / "b.npz"), "--metrics", "fid,1nn,is",
            "--set", f"cache_dir={tmp_path / 'cache'}", "--set", "is_splits=5", "--json"]
    result = CliRunner().invoke(metrics, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    real, fake = torch.from_numpy(a), torch.from_numpy(b)
    stats = GaussianStats.from_features(real), GaussianStats.from_features(fake)
    expected = frechet_distance(*stats)
    assert out["metrics"]["fid"] == pytest.approx(expected, rel=1e-9)
    assert out["metrics"]["1nn"] == one_nn_accuracy(real, fake)["1nn"]
    assert out["details"]["num_real"] == 300 and out["details"]["num_generated"] == 250
    assert out["details"]["metrics"]["is"]["options"] == {"is_splits": 5}
    again = CliRunner().invoke(metrics, args)
    assert json.loads(again.output)["details"]["reference"]["reused"] is True


def test_table_output_and_user_errors(tmp_path):
    feature_files(tmp_path)
    a, b = str(tmp_path / "a.npz"), str(tmp_path / "b.npz")
    cache = f"cache_dir={tmp_path / 'cache'}"
    table = CliRunner().invoke(metrics, [a, b, "--metrics", "fid,kid", "--set", cache,
                                         "--set", "kid_subset_size=50"])
    assert table.exit_code == 0, table.output
    assert "fid" in table.output and "kid_std" in table.output
    assert "(given features)" in table.output
    unknown = CliRunner().invoke(metrics, [a, b, "--metrics", "fdi"])
    assert unknown.exit_code == 2 and "did you mean 'fid'" in unknown.output.lower()
    bad_key = CliRunner().invoke(metrics, [a, b, "--set", "knn=3"])
    assert bad_key.exit_code == 2 and "knn_k" in bad_key.output


def test_image_folders_need_the_inception_weights(tmp_path, monkeypatch):
    monkeypatch.delenv("LABCORE_INCEPTION_WEIGHTS", raising=False)
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        for i in range(3):
            Image.fromarray(np.full((8, 8), 40 * i, np.uint8)).save(folder / f"{i}.png")
    result = CliRunner().invoke(metrics, [str(tmp_path / "a"), str(tmp_path / "b")])
    assert result.exit_code == 1
    assert "pt_inception-2015-12-05-6726825d.pth" in result.output


def test_sets_load_from_folders_and_npz(tmp_path):
    folder = tmp_path / "rgb"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(np.full((5, 6, 3), 255, np.uint8)).save(folder / f"{i}.png")
    images = load_set(folder)
    assert images["images"].shape == (2, 3, 5, 6) and images["value_range"] == (0.0, 1.0)
    assert float(images["images"].max()) == 1.0
    np.savez(tmp_path / "nhwc.npz", images=np.zeros((4, 7, 7, 1), np.uint8))
    assert load_set(tmp_path / "nhwc.npz")["images"].shape == (4, 1, 7, 7)
    np.savez(tmp_path / "nchw.npz", x=np.zeros((4, 3, 7, 7), np.float32), value_range=[-1, 1])
    loaded = load_set(tmp_path / "nchw.npz")
    assert loaded["images"].shape == (4, 3, 7, 7) and loaded["value_range"] == (-1, 1)
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(folder / "odd.png")
    with pytest.raises(ValueError, match="odd.png: size"):
        load_set(folder)


def run(*args):
    return CliRunner().invoke(metrics, [str(a) for a in args])


def save_pngs(folder, count, size=8):
    folder.mkdir()
    for i in range(count):
        Image.fromarray(np.full((size, size), 30 * i, np.uint8)).save(folder / f"{i}.png")
    return folder


@pytest.mark.parametrize("metric", ["prdc", "1nn", "fid", "kid", "wasserstein"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_features_are_an_error_naming_the_file(tmp_path, metric, bad):
    a, _ = feature_files(tmp_path)
    a[17, 3] = bad
    np.savez(tmp_path / "bad.npz", features=a)
    result = run(tmp_path / "b.npz", tmp_path / "bad.npz", "--metrics", metric)
    assert result.exit_code == 2, result.output
    assert "bad.npz: features has NaN or infinite values in 1 of 300 rows" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("metric", ["prdc", "1nn", "fid"])
def test_features_of_different_widths_are_an_error_naming_both_files(tmp_path, metric):
    feature_files(tmp_path)
    np.savez(tmp_path / "narrow.npz", features=np.zeros((40, 10), np.float32))
    result = run(tmp_path / "a.npz", tmp_path / "narrow.npz", "--metrics", metric)
    assert result.exit_code == 2, result.output
    assert "features of different widths: 12 in" in result.output
    assert "a.npz" in result.output and "narrow.npz" in result.output


def test_one_sample_is_an_error_not_a_score(tmp_path):
    feature_files(tmp_path)
    np.savez(tmp_path / "one.npz", features=np.ones((1, 12), np.float32))
    result = run(tmp_path / "a.npz", tmp_path / "one.npz", "--metrics", "1nn")
    assert result.exit_code == 2, result.output
    assert "one.npz: has 1 sample; the metrics need at least 2 per set" in result.output


def test_garbage_npz_is_an_error_naming_the_file(tmp_path):
    feature_files(tmp_path)
    (tmp_path / "garbage.npz").write_bytes(b"\x80\x04 this is no archive")
    result = run(tmp_path / "a.npz", tmp_path / "garbage.npz")
    assert result.exit_code == 2, result.output
    assert "garbage.npz: not an .npz archive" in result.output
    assert "pickle" not in result.output


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_unreadable_png_is_an_error_naming_it(tmp_path, damage):
    save_pngs(tmp_path / "a", 3)
    folder = save_pngs(tmp_path / "b", 3, size=64)
    data = (folder / "1.png").read_bytes()
    broken = data[: len(data) // 2] if damage == "truncated" else data[:40] + b"\0" * 60
    (folder / "1.png").write_bytes(broken)
    result = run(tmp_path / "a", folder)
    assert result.exit_code == 2, result.output
    assert "1.png: cannot read this image" in result.output


def test_float_images_outside_their_range_are_an_error(tmp_path):
    feature_files(tmp_path)
    np.savez(tmp_path / "wide.npz", images=np.full((4, 8, 8), 200.0, np.float32))
    result = run(tmp_path / "wide.npz", tmp_path / "a.npz")
    assert result.exit_code == 2, result.output
    assert "wide.npz: float pixels span [200, 200], outside [0, 1]" in result.output
    np.savez(tmp_path / "ranged.npz", images=np.full((4, 8, 8), 200.0, np.float32),
             value_range=[0, 255])
    assert load_set(tmp_path / "ranged.npz")["value_range"] == (0, 255)


def test_npz_given_as_weights_is_an_error_naming_it(tmp_path):
    a, b = save_pngs(tmp_path / "a", 3), save_pngs(tmp_path / "b", 3)
    np.savez(tmp_path / "weights.npz", w=np.zeros(3))
    result = run(a, b, "--set", f"extractor.weights={tmp_path / 'weights.npz'}")
    assert result.exit_code == 2, result.output
    assert "weights.npz is not a PyTorch weights file" in result.output


def test_bad_input_through_the_command_line_has_no_traceback(tmp_path, labcore_cli):
    feature_files(tmp_path)
    (tmp_path / "garbage.npz").write_text("garbage")
    result = labcore_cli("metrics", tmp_path / "a.npz", tmp_path / "garbage.npz", check=2)
    assert "garbage.npz: not an .npz archive" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_help_lists_the_installed_metrics_with_their_direction(tmp_path, labcore_cli):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "gap.py").write_text(
        "import torch\nimport labcore\nfrom labcore.metrics import Metric\n\n\n"
        "class Gap(Metric):\n    \"\"\"A plugin's metric.\"\"\"\n\n    name = \"gap\"\n"
        "    higher_is_better = {\"gap\": False}\n\n\n"
        "@labcore.hookimpl\ndef labcore_metrics():\n    return [Gap]\n"
    )
    result = labcore_cli("--plugins-dir", plugins, "metrics", "--help", check=0)
    listed = result.stdout[result.stdout.index("Installed metrics"):]
    for name in ("fid", "kid", "mode_score", "wasserstein", "prdc", "gap"):
        assert f"\n  {name} " in listed
    assert "A plugin's metric. (lower is better: gap)" in " ".join(listed.split())
