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
