"""A tiny plugin the core tests load through ``--plugins-dir``: real plugin loading, tiny work."""

import dataclasses
import time

import torch
from torch import nn

import labcore
from labcore import hp


@dataclasses.dataclass
class BlobsConfig:
    n: int = hp(256, "examples per split")
    dim: int = hp(4, "feature dimension")
    split_seed: int = hp(0, "seed of the data")


class Blobs(labcore.Dataset):
    """Two Gaussian blobs in `dim` dimensions, labelled by blob."""

    name = "toy-blobs"
    Config = BlobsConfig

    def load(self) -> labcore.DataBundle:
        g = torch.Generator().manual_seed(self.config.split_seed)
        splits = {}
        for split in ("train", "val", "test"):
            y = torch.randint(0, 2, (self.config.n,), generator=g)
            x = torch.randn(self.config.n, self.config.dim, generator=g) + 2.0 * y[:, None]
            splits[split] = labcore.TensorSplit(x=x, y=y)
        return labcore.DataBundle(splits, {"num_features": self.config.dim, "num_classes": 2})


@dataclasses.dataclass
class MLPConfig:
    hidden: int = hp(16, "hidden width")
    dropout: float = hp(0.2, "dropout probability (draws from the global RNG)")
    nan_at_step: int = hp(0, "make the loss NaN at this step (0: never)")
    inf_grad_at_step: int = hp(0, "a finite loss with an infinite gradient at this step (0: never)")
    step_delay: float = hp(0.0, "seconds to sleep in each step (to interrupt a run mid-way)")
    spare_head: bool = hp(False, "add an output layer that no loss uses")
    spare_head_until: int = hp(0, "use the spare head in the loss before this step (0: never)")


class ToyMLP(labcore.Model):
    """A two-layer MLP classifier with dropout."""

    name = "toy-mlp"
    Config = MLPConfig

    def __init__(self, config, info):
        super().__init__(config, info)
        self.net = nn.Sequential(
            nn.Linear(info["num_features"], config.hidden),
            nn.ReLU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, info["num_classes"]),
        )
        if config.spare_head:
            self.spare = nn.Linear(info["num_features"], info["num_classes"])

    def training_step(self, batch, ctx):
        time.sleep(self.config.step_delay)
        loss = nn.functional.cross_entropy(self.net(batch["x"]), batch["y"])
        if ctx.global_step < self.config.spare_head_until:
            loss = loss + self.spare(batch["x"]).square().mean()
        if self.config.nan_at_step and ctx.global_step + 1 >= self.config.nan_at_step:
            loss = loss * float("nan")
        if ctx.global_step + 1 == self.config.inf_grad_at_step:
            weight = self.net[0].weight
            loss = loss + (weight - weight.detach()).sqrt().sum()  # adds 0; d/dx sqrt(x) at 0 = inf
        ctx.step("main", loss)
        return {"loss": loss}

    def evaluate(self, split, ctx):
        correct = total = 0
        for batch in ctx.batches(split):
            correct += (self.net(batch["x"]).argmax(1) == batch["y"]).sum().item()
            total += len(batch["y"])
        return {"accuracy": correct / total}


@labcore.hookimpl
def labcore_models():
    return [ToyMLP]


@labcore.hookimpl
def labcore_datasets():
    return [Blobs]
