"""The shipped LeNet-5 extractors measure a generative recipe and `labcore metrics` as installed."""

import json

import numpy as np

from labcore.plugins import get_manager
from labcore_builtins.classifier.reference import read_card, weights_file


def test_gan_digits_reports_fid_from_an_empty_folder(tmp_path, labcore_cli):
    """A new user's first try: no classifier run to train first."""
    labcore_cli("run", "gan-digits", "--set", "train.max_steps=3", "--set",
                "evaluate.num_samples=64", "--set", f"evaluate.cache_dir={json.dumps('cache')}",
                cwd=tmp_path, check=0)  # fmt: skip
    (run,) = (tmp_path / "outputs" / "gan-digits").iterdir()
    record = json.loads((run / "metrics.json").read_text())
    assert record["metrics"]["fid"] > 0
    extractor = record["evaluation"]["extractor"]
    assert extractor["name"] == "lenet5-digits"
    assert extractor["weights_sha256"] == read_card("lenet5-digits")["state_dict_sha256"]
    assert extractor["source"] == str(weights_file("lenet5-digits"))
    assert (tmp_path / "cache").is_dir()  # a relative --set path is taken in the working folder


def test_labcore_metrics_with_a_shipped_extractor(tmp_path, labcore_cli):
    digits = get_manager().get("dataset", "digits")
    bundle = digits(digits.Config()).load()
    images, value_range = bundle.split("test")["x"], np.array(bundle.info["value_range"])
    halves = {"a": images[:150], "b": images[150:300]}
    for name, part in halves.items():
        np.savez(tmp_path / f"{name}.npz", images=part.numpy(), value_range=value_range)
    result = labcore_cli("metrics", tmp_path / "a.npz", tmp_path / "b.npz", "--metrics", "fid",
                         "--extractor", "lenet5-digits", "--set",
                         f"cache_dir={json.dumps(str(tmp_path / 'cache'))}", check=0)  # fmt: skip
    assert "lenet5-digits" in result.stdout
    assert read_card("lenet5-digits")["state_dict_sha256"] in result.stdout
    (fid,) = [line for line in result.stdout.splitlines() if line.startswith("fid ")]
    assert 0 <= float(fid.split()[1]) < float("inf")
