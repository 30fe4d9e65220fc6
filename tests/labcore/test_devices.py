"""Precision, compilation and the CUDA paths of the trainer.

What can run on the CPU runs everywhere; the CUDA paths skip without a GPU (and the NCCL test
without two).
"""

import json

import pytest
import torch

from labcore.data import ItemSplit, TensorSplit
from labcore.metrics import GaussianStats, frechet_distance, mmd2_unbiased, one_nn_accuracy
from labcore.metrics.kernel import PolynomialKernel
from labcore.testing import run_recipe
from labcore.train.batching import Batcher

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
FAST = ["train.log_every=1", "train.eval_every=0", "evaluate.metrics=[]", "model.dropout=0.0"]


def weights(folder) -> dict[str, torch.Tensor]:
    return torch.load(folder / "checkpoints" / "last.pt", weights_only=True)["model"]


def losses(folder) -> list[float]:
    records = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    return [r["loss"] for r in records if "loss" in r]


def test_compiled_networks_train_as_the_eager_ones(tmp_path):
    from torch._dynamo.utils import counters

    sgd = [*FAST, 'optimizer.name="sgd"', "optimizer.lr=0.1"]  # Adam magnifies rounding
    eager = run_recipe("mlp-digits", tmp_path / "eager", steps=4, overrides=sgd)
    frames = counters["frames"]["ok"]
    compiled = run_recipe(
        "mlp-digits", tmp_path / "compiled", steps=4, overrides=[*sgd, "run.compile=true"]
    )
    assert counters["frames"]["ok"] > frames, "nothing was compiled"
    expected = weights(eager)
    assert list(weights(compiled)) == list(expected)  # parameter names unchanged
    for key, value in weights(compiled).items():
        torch.testing.assert_close(value, expected[key], rtol=1e-4, atol=1e-5)


def test_bf16_autocast_trains_on_the_cpu(tmp_path):
    full = run_recipe("mlp-digits", tmp_path / "32", steps=30, overrides=FAST)
    mixed = run_recipe(
        "mlp-digits", tmp_path / "bf16", steps=30, overrides=[*FAST, "run.precision=bf16-mixed"]
    )
    assert all(v.dtype == torch.float32 for v in weights(mixed).values() if v.is_floating_point())
    reference = weights(full)
    assert any(not torch.equal(v, reference[k]) for k, v in weights(mixed).items()), (
        "bf16 autocast changed nothing: the precision setting was ignored"
    )
    assert losses(mixed)[-1] < 0.5 * losses(mixed)[0]
    assert losses(mixed)[-1] == pytest.approx(losses(full)[-1], rel=0.2)


@CUDA
@pytest.mark.parametrize("precision", ["16-mixed", "bf16-mixed", "32"])
def test_a_gan_trains_on_cuda_in_each_precision(tmp_path, precision):
    folder = run_recipe(
        "gan-digits",
        tmp_path,
        steps=20,
        overrides=["run.device=cuda", f"run.precision={precision}", "train.log_every=5",
                   "train.sample_every=0", "evaluate.metrics=[]"],
    )
    state = torch.load(folder / "checkpoints" / "last.pt", weights_only=True)
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
    if precision == "16-mixed":
        assert state["scaler"]["scale"] > 0  # gradient scaling was on
    env = json.loads((folder / "env.json").read_text())
    assert "cuda" in json.dumps(env).lower()


@CUDA
def test_tensor_datasets_are_held_on_the_gpu_and_tf32_is_explicit(tmp_path):
    from labcore.plugins import get_manager
    from labcore.recipes import recipe as recipe_module
    from labcore.runfolder import Run
    from labcore.train.trainer import Trainer

    manager = get_manager()
    previous = torch.backends.cuda.matmul.allow_tf32
    for tf32 in (True, False):
        loaded = recipe_module.load(
            "lenet5-digits", manager, ["run.device=cuda", f"run.tf32={str(tf32).lower()}"]
        )
        trainer = Trainer(Run(dir=tmp_path, recipe=loaded.sections), loaded, manager)
        assert torch.backends.cuda.matmul.allow_tf32 is tf32
        assert trainer.bundle.split("train")["x"].is_cuda
        assert trainer.batcher.next()["x"].is_cuda
    torch.backends.cuda.matmul.allow_tf32 = previous


@CUDA
def test_item_datasets_come_through_pinned_memory_to_the_gpu():
    items = [{"x": torch.full((3,), float(i))} for i in range(64)]
    split = ItemSplit(items, collate=lambda batch: {"x": torch.stack([b["x"] for b in batch])})
    batch = Batcher(split, 16, seed=0, device=torch.device("cuda")).next()
    assert batch["x"].is_cuda and batch["x"].shape == (16, 3)
    on_cpu = Batcher(TensorSplit(x=torch.stack([i["x"] for i in items])), 16, 0, "cpu").next()
    assert torch.equal(batch["x"].cpu(), on_cpu["x"])


@CUDA
def test_metrics_on_cuda_agree_with_the_cpu():
    generator = torch.Generator().manual_seed(0)
    real = torch.randn(600, 64, generator=generator)
    fake = torch.randn(500, 64, generator=generator) + 0.2
    gpu_real, gpu_fake = real.cuda(), fake.cuda()
    fid_cpu = frechet_distance(GaussianStats.from_features(real), GaussianStats.from_features(fake))
    fid_gpu = frechet_distance(
        GaussianStats.from_features(gpu_real), GaussianStats.from_features(gpu_fake)
    )
    assert fid_gpu == pytest.approx(fid_cpu, rel=1e-9)
    kernel = PolynomialKernel()
    assert mmd2_unbiased(gpu_real, gpu_fake, kernel, 128) == pytest.approx(
        mmd2_unbiased(real, fake, kernel, 128), rel=1e-4
    )
    assert one_nn_accuracy(gpu_real, gpu_fake, 128) == one_nn_accuracy(real, fake, 128)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices (NCCL)")
def test_two_gpus_train_with_nccl(labcore_cli, tmp_path):
    labcore_cli("run", "gan-digits", "--nproc", "2", "--device", "cuda", "--out", tmp_path,
                "--set", "train.max_steps=10", "--set", "evaluate.metrics=[]",
                "--set", "train.sample_every=0", check=0)
    (folder,) = tmp_path.glob("gan-digits/*")
    state = torch.load(folder / "checkpoints" / "last.pt", weights_only=True)
    assert state["world_size"] == 2 and state["step"] == 10
