"""Learning-rate schedules: the linear decay of the ResNet GAN recipes."""

from __future__ import annotations

import pytest

from labcore.optim import ScheduleConfig, lr_factor


def test_linear_decay_falls_in_a_straight_line_to_the_final_ratio():
    config = ScheduleConfig(name="linear")
    assert [lr_factor(config, s, 100) for s in (0, 25, 50, 100, 150)] == [1.0, 0.75, 0.5, 0.0, 0.0]
    floor = ScheduleConfig(name="linear", min_lr_ratio=0.2)
    assert lr_factor(floor, 50, 100) == pytest.approx(0.6)
    assert lr_factor(floor, 100, 100) == pytest.approx(0.2)


def test_linear_decay_starts_after_the_warm_up():
    config = ScheduleConfig(name="linear", warmup_steps=10)
    assert lr_factor(config, 4, 110) == pytest.approx(0.5)
    assert lr_factor(config, 10, 110) == 1.0
    assert lr_factor(config, 60, 110) == pytest.approx(0.5)
