"""The test kit (labcore.testing) passes components that honour the contracts and fails, with a
message that says what to fix, each kind of component that does not."""

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

import labcore
from labcore.testing import (
    ContractError,
    check_model,
    check_plugin,
    check_recipe,
    plugin_manager,
    run_recipe,
)

TOY_RECIPE = Path(__file__).parent / "toy_plugins" / "toy.toml"


@dataclasses.dataclass
class PointsConfig:
    size: int = labcore.hp(64, "points per split")
    value_range: tuple[float, float] | None = labcore.hp(None, "declared value range, if any")


class Points(labcore.Dataset):
    """Gaussian points around (1, -1)."""

    name = "kit-points"
    Config = PointsConfig

    def load(self):
        g = torch.Generator().manual_seed(0)
        splits = {
            s: labcore.TensorSplit(x=torch.randn(self.config.size, 2, generator=g) + torch.tensor(
                [1.0, -1.0]
            ))
            for s in ("train", "val", "test")
        }
        info = {"shape": (2,)}
        if self.config.value_range is not None:
            info["value_range"] = self.config.value_range
        return labcore.DataBundle(splits, info)


@dataclasses.dataclass
class GaussConfig:
    nan: bool = labcore.hp(False, "make the loss NaN")


class Gauss(labcore.Model):
    """A Gaussian with a learned mean and scale, fitted by maximum likelihood."""

    name = "kit-gauss"
    Config = GaussConfig

    def __init__(self, config, info):
        super().__init__(config, info)
        self.mean = nn.Parameter(torch.zeros(2))
        self.log_scale = nn.Parameter(torch.zeros(2))

    def nll(self, x):
        return (((x - self.mean) / self.log_scale.exp()) ** 2 / 2 + self.log_scale).sum(1).mean()

    def training_step(self, batch, ctx):
        loss = self.nll(batch["x"] + 0.01 * torch.randn_like(batch["x"]))
        if self.config.nan:
            loss = loss * float("nan")
        ctx.step("main", loss)
        return {"loss": loss}

    def evaluate(self, split, ctx):
        return {"nll": sum(float(self.nll(b["x"])) for b in ctx.batches(split))}

    def sample(self, n, *, generator, condition=None):
        noise = torch.randn(n, 2, generator=generator, device=generator.device)
        return self.mean + self.log_scale.exp() * noise

    def sample_grid(self, generator, bundle):
        return None


class NoUpdate(Gauss):
    name = "kit-no-update"

    def training_step(self, batch, ctx):
        return {"loss": self.nll(batch["x"])}


class HiddenState(Gauss):
    """Counts its steps in a plain attribute, which checkpoints do not keep."""

    name = "kit-hidden-state"

    def __init__(self, config, info):
        super().__init__(config, info)
        self.calls = 0

    def training_step(self, batch, ctx):
        self.calls += 1
        loss = self.calls * self.nll(batch["x"])
        ctx.step("main", loss)
        return {"loss": loss}


class Silent(Gauss):
    name = "kit-silent"

    def training_step(self, batch, ctx):
        ctx.step("main", self.nll(batch["x"]))
        return {}


class LazyBuffer(Gauss):
    """Creates a buffer during training, which a newly built model lacks."""

    name = "kit-lazy-buffer"

    def training_step(self, batch, ctx):
        if not hasattr(self, "seen"):
            self.register_buffer("seen", torch.zeros(()))
        self.seen += 1
        return super().training_step(batch, ctx)


class GlobalNoise(Gauss):
    name = "kit-global-noise"

    def sample(self, n, *, generator, condition=None):
        return self.mean + self.log_scale.exp() * torch.randn(n, 2)


class WrongShape(Gauss):
    name = "kit-wrong-shape"

    def sample(self, n, *, generator, condition=None):
        return super().sample(n, generator=generator).repeat(1, 2)


class NoGrid(Gauss):
    """Points, but keeps the default sample_grid, which draws images."""

    name = "kit-no-grid"
    sample_grid = labcore.Model.sample_grid


def test_a_model_that_honours_the_contract_passes(tmp_path):
    before = torch.get_rng_state()
    result = check_model(Gauss, Points, workdir=tmp_path)
    assert result.samples.shape == (8, 2)
    assert set(result.metrics) == {"val/nll", "test/nll"}
    assert [r["step"] for r in result.logs if "loss" in r] == [1, 2, 3, 4]
    assert (tmp_path / "straight" / "checkpoints" / "last.pt").is_file()
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.parametrize(
    ("model", "overrides", "message"),
    [
        (NoUpdate, {}, "training changed no parameter; training_step must call ctx.step"),
        (Silent, {}, "training_step logged nothing"),
        (LazyBuffer, {}, "does not load into a newly built model: .*Unexpected key.*seen"),
        (HiddenState, {}, r"does not reproduce the uninterrupted run \(mean, log_scale differ\)"),
        (GlobalNoise, {}, "draw all noise from the `generator` argument"),
        (WrongShape, {}, r"sample\(8\) has shape \(8, 4\); expected \(8, 2\)"),
        (NoGrid, {}, "sample_grid\\(\\) must return \\(images"),
        (Gauss, {"value_range": [-0.5, 0.5]}, "outside the data's value_range"),
    ],
)
def test_each_broken_contract_fails_with_what_to_fix(model, overrides, message):
    with pytest.raises(ContractError, match=message):
        check_model(model, Points, dataset_overrides=overrides)


def test_a_non_finite_loss_and_a_bad_hyperparameter_are_contract_errors():
    with pytest.raises(ContractError, match="the 'main' loss is nan at step 1"):
        check_model(Gauss, Points, model_overrides={"nan": True})
    with pytest.raises(ContractError, match="model.nann: unknown key; did you mean model.nan?"):
        check_model(Gauss, Points, model_overrides={"nann": True})


def test_installed_components_can_be_checked_by_name():
    result = check_model("toy-mlp", "toy-blobs", dataset_overrides={"n": 64}, steps=2,
                         components=_toy_components())
    assert result.samples is None and "test/accuracy" in result.metrics


def _toy_components():
    sys.path.insert(0, str(TOY_RECIPE.parent))
    try:
        import toy
    finally:
        sys.path.remove(str(TOY_RECIPE.parent))
    return [toy.ToyMLP, toy.Blobs]


def test_given_components_replace_installed_namesakes():
    class Mine(Gauss):
        name = "mlp"

    assert plugin_manager([Mine]).get("model", "mlp") is Mine
    assert plugin_manager([Mine]).get("model", "lenet5").name == "lenet5"


def test_check_recipe_validates_and_names_the_problem(tmp_path):
    recipe = check_recipe(TOY_RECIPE, components=_toy_components())
    assert recipe.train.max_steps == 20
    with pytest.raises(ContractError, match="train.max_step: unknown key; did you mean"):
        check_recipe(TOY_RECIPE, overrides=["train.max_step=3"], components=_toy_components())


def test_run_recipe_trains_like_labcore_run(tmp_path):
    folder = run_recipe(TOY_RECIPE, tmp_path, steps=3, components=_toy_components())
    assert folder.parent == tmp_path / "toy"
    assert {"recipe.toml", "log.jsonl", "metrics.json"} <= {p.name for p in folder.iterdir()}
    assert torch.load(folder / "checkpoints" / "last.pt", weights_only=True)["step"] == 3


def test_check_plugin_reports_missing_and_installed_plugins():
    assert "model" in check_plugin("classifier").components
    with pytest.raises(ContractError, match="no installed labcore plugin 'nope'"):
        check_plugin("nope")


def test_a_component_that_is_not_one_is_refused():
    class NotAComponent:
        name = "x"

    with pytest.raises(ContractError, match="is not a labcore component"):
        check_model(NotAComponent, Points)


def test_pytest_fixtures(tmp_path):
    # the module is a pytest plugin: `pytest -p labcore.testing` gives labcore_check, labcore_cli
    (tmp_path / "test_uses_fixtures.py").write_text(textwrap.dedent(f'''
        import sys
        sys.path.insert(0, {str(TOY_RECIPE.parent)!r})
        import toy

        def test_check(labcore_check):
            result = labcore_check.model(toy.ToyMLP, toy.Blobs, dataset_overrides={{"n": 64}})
            assert "test/accuracy" in result.metrics
            folder = labcore_check.run({str(TOY_RECIPE)!r}, components=[toy.ToyMLP, toy.Blobs])
            assert (folder / "metrics.json").is_file()

        def test_cli(labcore_cli):
            assert "run" in labcore_cli("--help", check=0).stdout
    '''))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "labcore.testing", "-p", "no:cacheprovider",
         str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0 and "2 passed" in result.stdout, result.stdout + result.stderr
