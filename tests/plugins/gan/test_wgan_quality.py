"""The digits WGANs against DCGAN at the recipes' own budgets (about the same CPU time each).

Each recipe is trained for its own ``max_steps`` and measured with the shipped ``lenet5-digits``
extractor, as ``labcore run`` does. Measured (seed 0): gan-digits FID 8.46, wgan-sn-digits 8.78
(1.04x), wgan-gp-digits 14.4 (1.70x); each WGAN must stay within its margin of ``gan-digits``'s FID
and its critic's estimate must fall from its peak. About 6 minutes of CPU time.
"""

import json
from pathlib import Path

import pytest

from labcore.runfolder import open_run
from labcore.testing import check_recipe, run_recipe

pytestmark = [pytest.mark.quality, pytest.mark.heavy]

FID_MARGIN = {"wgan-sn-digits": 1.1, "wgan-gp-digits": 2.0}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("wgan-quality")


def trained(recipe: str, workdir: Path) -> Path:
    steps = check_recipe(recipe).train.max_steps
    return run_recipe(recipe, workdir / recipe, steps=steps, overrides=["train.sample_every=0"])


def fid(run: Path) -> float:
    return json.loads((run / "metrics.json").read_text())["metrics"]["fid"]


@pytest.fixture(scope="module")
def dcgan_fid(workdir) -> float:
    return fid(trained("gan-digits", workdir))


@pytest.mark.parametrize("recipe", ["wgan-sn-digits", "wgan-gp-digits"])
def test_wgan_matches_dcgan_and_its_estimate_falls(recipe, workdir, dcgan_fid):
    run = trained(recipe, workdir)
    values = [r["wasserstein"] for r in open_run(run).log() if "wasserstein" in r]
    window = max(1, len(values) // 10)
    smoothed = [sum(values[i : i + window]) / window for i in range(len(values) - window + 1)]
    print(f"{recipe}: fid {fid(run):.2f} (gan-digits {dcgan_fid:.2f}); "
          f"estimate peak {max(smoothed):.3f}, last {smoothed[-1]:.3f}")  # fmt: skip
    assert fid(run) <= FID_MARGIN[recipe] * dcgan_fid
    assert smoothed[-1] < 0.5 * max(smoothed)
