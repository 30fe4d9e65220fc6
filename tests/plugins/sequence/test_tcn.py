import pytest
import torch

from labcore_builtins.sequence.tcn import TCN, TCNBackbone, TCNConfig, receptive_field


def test_receptive_field_is_where_the_gradient_reaches():
    torch.manual_seed(0)
    backbone = TCNBackbone(in_features=2, channels=16, levels=3, kernel_size=3, dropout=0.0)
    x = torch.randn(32, 40, 2, requires_grad=True)  # a batch, so that no path is dead throughout
    features, _ = backbone(x)
    features[:, -1].sum().backward()
    reached = (x.grad.abs().sum((0, 2)) > 0).nonzero().flatten()
    assert receptive_field(3, 3) == 1 + 2 * 2 * 7 == backbone.context
    assert reached.min().item() == 40 - backbone.context
    assert reached.max().item() == 39


def test_output_at_a_step_ignores_later_steps():
    torch.manual_seed(0)
    backbone = TCNBackbone(3, 8, 2, 3, 0.0)
    x = torch.randn(2, 20, 3)
    changed = x.clone()
    changed[:, 12:] = torch.randn(2, 8, 3)
    a, _ = backbone(x)
    b, _ = backbone(changed)
    assert torch.allclose(a[:, :12], b[:, :12]) and not torch.allclose(a[:, 12:], b[:, 12:])


def test_residual_skip_projects_only_when_the_width_changes():
    backbone = TCNBackbone(3, 8, 2, 3, 0.0)
    first, second = backbone.blocks
    assert isinstance(first.skip, torch.nn.Conv1d) and isinstance(second.skip, torch.nn.Identity)


def test_sequence_tasks_need_a_receptive_field_that_covers_the_sequence():
    info = {"task": "regress", "num_features": 2, "seq_len": 100}
    with pytest.raises(ValueError, match="raise model.levels"):
        TCN(TCNConfig(levels=3, kernel_size=3), info)
    model = TCN(TCNConfig(levels=4, kernel_size=5), info)
    predictions, _ = model(torch.randn(3, 100, 2))
    assert predictions.shape == (3, 1)


def test_config_rejects_a_kernel_of_one():
    with pytest.raises(ValueError, match="kernel_size"):
        TCNConfig(kernel_size=1)
