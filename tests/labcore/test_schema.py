import dataclasses
from typing import Literal

import pytest

from labcore.schema import SchemaError, build, describe, hp, to_dict


@dataclasses.dataclass
class Config:
    z_dim: int = hp(64, "latent size")
    lr: float = hp(1e-3, "learning rate")
    betas: tuple[float, float] = (0.5, 0.999)
    loss: Literal["hinge", "minimax"] = "hinge"
    layers: list[int] = hp([32, 64], "widths")
    root: str | None = None


@dataclasses.dataclass
class Required:
    root: str


def test_unknown_key_suggests_the_closest_valid_key():
    with pytest.raises(SchemaError, match=r"model\.zdim: unknown key; did you mean model\.z_dim\?"):
        build(Config, {"zdim": 3}, "model")


def test_unknown_key_without_close_match_lists_valid_keys():
    with pytest.raises(SchemaError, match="valid keys: betas, layers, loss, lr, root, z_dim"):
        build(Config, {"qqqqqq": 3}, "model")


def test_wrong_type_names_expected_type():
    with pytest.raises(SchemaError, match=r"model\.z_dim: expected int, got 'big'"):
        build(Config, {"z_dim": "big"}, "model")
    with pytest.raises(SchemaError, match=r"model\.loss: expected one of 'hinge' \| 'minimax'"):
        build(Config, {"loss": "wasserstein"}, "model")
    with pytest.raises(SchemaError, match=r"expected 2 values"):
        build(Config, {"betas": [0.1]}, "model")


def test_missing_value_names_the_section():
    with pytest.raises(
        SchemaError, match=r"data\.root: missing value; set it in the \[data\] section"
    ):
        build(Required, {}, "data")


def test_coercion_and_defaults():
    config = build(Config, {"lr": 1, "betas": [0, 1], "root": "x"}, "optimizer")
    assert config.lr == 1.0 and isinstance(config.lr, float)
    assert config.betas == (0.0, 1.0)
    assert config.layers == [32, 64]
    assert build(Config, {}, "m").layers is not build(Config, {}, "m").layers
    with pytest.raises(SchemaError):
        build(Config, {"z_dim": True}, "model")  # bool is not an int here


def test_describe_and_to_dict():
    rows = {name: (tp, default, doc) for name, tp, default, doc in describe(Config)}
    assert rows["z_dim"] == ("int", 64, "latent size")
    assert rows["root"][0] == "str | None"
    assert to_dict(Config()) == {
        "z_dim": 64,
        "lr": 1e-3,
        "betas": [0.5, 0.999],
        "loss": "hinge",
        "layers": [32, 64],
    }
