"""How `labcore sample` reads its options: classes, the output's form, the layout it prints."""

from pathlib import Path

import click
import pytest

from labcore.report.sampling import describe, layout, output_kind, parse_classes


@pytest.mark.parametrize(
    ("values", "classes"),
    [
        (["3"], [3]),
        (["3,5"], [3, 5]),
        (["0-9"], list(range(10))),
        (["all"], list(range(10))),
        (["7", "1-2"], [7, 1, 2]),
    ],
)
def test_class_values(values, classes):
    assert parse_classes(values, 10) == classes


@pytest.mark.parametrize(
    ("values", "problem"),
    [(["10"], r"\[10\] out of range"), (["5-3"], "runs backwards"), (["two"], "not a class"),
     (["-1"], "not a class")],
)  # fmt: skip
def test_bad_class_values_name_the_valid_classes(values, problem):
    with pytest.raises(click.BadParameter, match=problem) as caught:
        parse_classes(values, 10)
    assert "0 to 9" in str(caught.value) and "--class all" in str(caught.value)


def test_all_needs_classes():
    with pytest.raises(click.BadParameter, match="the data have no classes"):
        parse_classes(["all"], None)


def test_output_kinds(tmp_path):
    assert output_kind(Path("grid.PNG")) == ".png"
    assert output_kind(tmp_path / "samples") == "folder"
    with pytest.raises(click.BadParameter, match=r"unknown suffix '\.jpg'.*\.npz.*\.csv.*folder"):
        output_kind(Path("grid.jpg"))


def test_layouts_and_how_they_are_told():
    assert layout(100, [], None) == (10, False)
    assert layout(8, [3, 5], None) == (8, True)
    assert layout(8, [3, 5], 4) == (4, False)
    assert describe(100, 10, [], False) == "10 rows of 10"
    assert describe(30, 10, [1, 2, 3], True) == "3 rows of 10, one per class (1, 2, 3)"
    assert describe(13, 4, [], False) == "4 rows of 4, the last 1"
