"""Training-curve figures: log scales, coinciding lines, one panel per quantity in comparisons.

The figures are inspected through matplotlib's own objects (axes titles, scales, lines, legends)
as :func:`labcore.report.plots.curves_figure` builds them, before they become pixels.
"""

import math

from labcore.report import plots

STEPS = list(range(10, 310, 10))


def decaying(start: float, rate: float) -> list[float]:
    return [start * math.exp(-rate * s) for s in STEPS]


def gan_run() -> plots.Series:
    return {
        "d_loss": (STEPS, [1.2 - s / 1000 for s in STEPS]),
        "g_loss": (STEPS, [0.7 + s / 1000 for s in STEPS]),
        "lr/generator": (STEPS, [2e-4] * len(STEPS)),
        "lr/discriminator": (STEPS, [2e-4] * len(STEPS)),
    }


def wgan_run() -> plots.Series:
    return {
        "critic_loss": (STEPS, [-s / 10 for s in STEPS]),
        "g_loss": (STEPS, [-40.0 - s for s in STEPS]),
        "lr/generator": (STEPS, [2e-4] * len(STEPS)),
        "lr/discriminator": (STEPS, [1e-4] * len(STEPS)),
    }


def by_title(figure) -> dict:
    return {axes.get_title(): axes for axes in figure.axes}


def test_a_loss_decaying_over_decades_gets_a_log_axis_that_says_so():
    figure = plots.curves_figure(
        {"run": {"loss": (STEPS, decaying(5.0, 0.03)), "accuracy": (STEPS, [0.5] * 30)}}
    )
    panels = by_title(figure)
    assert panels["loss"].get_yscale() == "log"
    assert "log scale" in panels["loss"].get_ylabel()
    assert panels["accuracy"].get_yscale() == "linear"
    assert panels["accuracy"].get_ylabel() == ""


def test_the_log_scale_starts_beyond_two_decades_and_is_symlog_through_zero():
    assert plots.scale_of([1.0, 0.011]) == ("linear", 0.0)  # under two decades
    assert plots.scale_of([1.0, 0.009]) == ("log", 0.0)
    scale, linthresh = plots.scale_of([-500.0, -2.0, 0.0, 3.0])
    assert scale == "symlog" and linthresh == 2.0
    figure = plots.curves_figure({"run": {"g_loss": (STEPS[:4], [-500.0, -2.0, 0.0, 3.0])}})
    axes = by_title(figure)["g_loss"]
    assert axes.get_yscale() == "symlog"
    assert axes.get_ylabel() == "symlog scale (linear within ±2)"


def test_identical_learning_rates_of_a_run_are_one_line_labelled_same():
    series = {"loss": (STEPS, [1.0] * 30), **{k: v for k, v in gan_run().items() if "lr" in k}}
    series["lr/critic"] = (STEPS, [1e-4] * 30)
    axes = by_title(plots.curves_figure({"run": series}))["learning rate"]
    labels = [text.get_text() for text in axes.get_legend().get_texts()]
    assert labels == ["generator, discriminator (same)", "critic"]
    lines = axes.get_lines()
    assert len(lines) == 2
    assert lines[0].get_color() != lines[1].get_color()
    assert lines[0].get_linestyle() != lines[1].get_linestyle()


def test_a_comparison_has_one_panel_per_quantity_with_the_runs_overlaid():
    figure = plots.curves_figure({"gan": gan_run(), "wgan": wgan_run()})
    panels = by_title(figure)
    assert set(panels) == {
        "d_loss",
        "g_loss · gan",
        "g_loss · wgan",
        "critic_loss",
        "learning rate generator",
        "learning rate discriminator",
    }
    # a GAN's g_loss and a WGAN's are different quantities: never on one axis
    assert [line.get_label() for line in panels["g_loss · gan"].get_lines()] == ["gan"]
    assert [line.get_label() for line in panels["g_loss · wgan"].get_lines()] == ["wgan"]
    rates = panels["learning rate discriminator"].get_lines()
    assert [line.get_label() for line in rates] == ["gan", "wgan"]
    assert rates[0].get_color() != rates[1].get_color()
    legend = [text.get_text() for text in figure.legends[0].get_texts()]
    assert legend == ["gan", "wgan"]


def test_runs_of_one_model_share_their_panels_and_a_coinciding_line_stays_visible():
    figure = plots.curves_figure({"a": gan_run(), "b": gan_run()})
    panels = by_title(figure)
    assert set(panels) == {
        "d_loss", "g_loss", "learning rate generator", "learning rate discriminator"
    }  # fmt: skip
    first, second = panels["g_loss"].get_lines()
    assert first.get_linestyle() == "-"
    assert second.get_linestyle() == "--"  # dashed on top of the identical first line
    assert second.get_linewidth() < first.get_linewidth()
    assert first.get_color() != second.get_color()


def test_nothing_logged_draws_nothing(tmp_path):
    assert plots.curves_figure({"a": {}, "b": {}}) is None
    assert plots.plot_curves({"a": {}}, tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()


def test_an_evaluation_made_once_sits_at_its_step_on_the_training_axis():
    series = {"loss": (STEPS, [1.0 - s / 1000 for s in STEPS]), "val/accuracy": ([150], [0.8])}
    panels = by_title(plots.curves_figure({"run": series}))
    low, high = panels["val/accuracy"].get_xlim()
    assert panels["loss"].get_xlim() == (low, high)
    assert low <= STEPS[0] and high >= STEPS[-1]  # not an axis of its own around step 150


def test_close_tick_labels_get_the_digits_that_tell_them_apart():
    series = {"val/kl": ([500, 800], [19.62, 19.93])}
    figure = plots.curves_figure({"run": series})
    figure.canvas.draw()
    axes = by_title(figure)["val/kl"]
    labels = [t.get_text() for t in axes.get_yticklabels() if t.get_text()]
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels
    coarse = plots.DistinctTicks()
    coarse.set_locs([0.0, 0.5, 1.0])
    assert [coarse(v) for v in (0.0, 0.5, 1.0)] == ["0", "0.5", "1"]


def test_a_symlog_axis_has_no_decade_ticks_crowding_zero():
    values = [-250.0, -100.0, -10.0, 0.5, 10.0, 37.0]
    figure = plots.curves_figure({"run": {"elbo": (STEPS[: len(values)], values)}})
    figure.canvas.draw()
    axes = by_title(figure)["elbo"]
    _, linthresh = plots.scale_of(values)
    ticks = [t for t in axes.get_yticks() if t != 0]
    assert ticks and all(abs(t) >= linthresh for t in ticks), (ticks, linthresh)
