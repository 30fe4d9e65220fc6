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


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"z_dim": 2**63}, r"model\.z_dim: 9223372036854775808 is out of range"),
        ({"z_dim": -(2**63) - 1}, r"model\.z_dim: .* is out of range"),
        ({"lr": float("nan")}, r"model\.lr: expected a number, got nan"),
        ({"lr": 10**400}, r"model\.lr: 1000.* is too large for a float"),
    ],
)
def test_numbers_no_tensor_or_seed_can_hold_are_refused(section, message):
    with pytest.raises(SchemaError, match=message):
        build(Config, section, "model")


def test_the_extreme_64_bit_integers_are_accepted():
    assert build(Config, {"z_dim": 2**63 - 1}, "model").z_dim == 2**63 - 1
    assert build(Config, {"z_dim": -(2**63)}, "model").z_dim == -(2**63)


@pytest.mark.parametrize("section", [3, [{"z_dim": 3}], "z_dim"])
def test_a_section_that_is_not_a_table_is_refused(section):
    with pytest.raises(SchemaError, match=r"\[model\]: expected a table of values"):
        build(Config, section, "model")
