"""The Metric contract: declared states, reset, and merging as a gather across processes would."""

import dataclasses

import pytest
import torch

from labcore.metrics import Metric


@dataclasses.dataclass
class NoOptions:
    pass


class MeanAndValues(Metric):
    """A toy metric with one state of each reduction."""

    name = "toy-mean"
    Config = NoOptions
    two_sample = False

    def __init__(self, config=None):
        super().__init__(config)
        self.add_state("fake_total", torch.tensor(0.0, dtype=torch.float64), "sum")
        self.add_state("fake_values", [], "cat")

    def update(self, x, real=False):
        side = self.side(real)
        setattr(self, f"{side}_total", getattr(self, f"{side}_total") + x.double().sum())
        getattr(self, f"{side}_values").append(x)

    def compute(self):
        values = self.cat("fake_values")
        return {"mean": float(self.fake_total / values.numel()), "first": float(values[0])}


def test_states_declare_their_reductions():
    metric = MeanAndValues()
    assert metric.reductions == {"fake_total": "sum", "fake_values": "cat"}
    assert metric.kind == "metric"


def test_merge_sums_and_concatenates_in_order():
    data = torch.arange(10.0)
    one, two = MeanAndValues(), MeanAndValues()
    one.update(data[:4])
    two.update(data[4:])
    one.merge(two)
    whole = MeanAndValues()
    whole.update(data)
    assert one.compute() == whole.compute()
    assert torch.equal(one.cat("fake_values"), data)


def test_reset_restores_defaults():
    metric = MeanAndValues()
    metric.update(torch.ones(3))
    metric.reset()
    assert metric.fake_values == [] and float(metric.fake_total) == 0.0
    with pytest.raises(ValueError, match="no fake samples"):
        metric.compute()


def test_bad_declarations_are_rejected():
    metric = MeanAndValues()
    with pytest.raises(TypeError, match="tensor default"):
        metric.add_state("x", [], "sum")
    with pytest.raises(TypeError, match="empty list"):
        metric.add_state("y", torch.zeros(()), "cat")
    with pytest.raises(TypeError, match="cannot merge"):
        metric.merge(object())
