"""Training and evaluation of the classifiers: the loss falls, evaluate is exact, contracts hold."""

import copy

import pytest
import torch
import torch.nn.functional as F

from labcore import TensorSplit
from labcore.schema import build
from labcore.testing import check_model
from labcore_builtins.classifier import MLP, VGG, LeNet5, MobileNet, ResNet
from labcore_builtins.data import Digits, load_digits

MODELS = [MLP, LeNet5, ResNet, VGG, MobileNet]
INFO = {"shape": (1, 8, 8), "num_classes": 10}


def make(cls, **section):
    torch.manual_seed(0)
    return cls(build(cls.Config, section, "model"), INFO)


def digits_split(n, offset=0):
    images, labels = load_digits()
    return TensorSplit(x=images[offset : offset + n] * 2 - 1, y=labels[offset : offset + n])


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.name)
def test_a_few_steps_reduce_the_loss(cls, step_context):
    model = make(cls).train()
    batch = digits_split(64).batch(torch.arange(64))
    ctx = step_context(model, lr=3e-3)
    losses = [model.training_step(batch, ctx)["loss"] for _ in range(15)]
    assert ctx.calls == ["main"] * 15
    assert losses[-1] < 0.5 * losses[0], losses
    assert all(loss.dim() == 0 and not loss.requires_grad for loss in losses)


def test_training_step_logs_the_batch_cross_entropy_and_accuracy(step_context):
    model = make(LeNet5)
    batch = digits_split(32).batch(torch.arange(32))
    reference = copy.deepcopy(model).train()(batch["x"])
    logs = model.train().training_step(batch, step_context(model))
    assert logs["loss"].item() == pytest.approx(F.cross_entropy(reference, batch["y"]).item())
    accuracy = (reference.argmax(1) == batch["y"]).float().mean().item()
    assert logs["accuracy"].item() == pytest.approx(accuracy)


@pytest.mark.parametrize("cls", [MLP, ResNet], ids=lambda c: c.name)
def test_evaluate_matches_a_single_full_batch_pass(cls, eval_context):
    model = make(cls, dropout=0.3)
    split = digits_split(100, offset=500)
    model.train()
    result = model.evaluate(split, eval_context(batch_size=7))
    assert model.training, "evaluate must restore training mode"
    model.eval()
    with torch.no_grad():
        logits = model(split["x"])
    assert result["loss"] == pytest.approx(F.cross_entropy(logits, split["y"]).item(), rel=1e-5)
    accuracy = (logits.argmax(1) == split["y"]).double().mean().item()
    assert result["accuracy"] == pytest.approx(accuracy)


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.name)
def test_model_contract_through_the_trainer(cls, tmp_path):
    result = check_model(
        cls,
        Digits,
        model_overrides={"dropout": 0.1},
        steps=4,
        batch_size=16,
        workdir=tmp_path,
    )
    assert set(result.metrics) == {"val/loss", "val/accuracy", "test/loss", "test/accuracy"}
    assert {"loss", "accuracy"} <= set(result.logs[0])
