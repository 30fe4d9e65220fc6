"""What a metric study's measurements say: which metric detects which failure, and what the
literature claims.

A metric **detects** a corruption when its mean change from strength 0 to full strength, taken
in the worse direction its ``higher_is_better`` declares, exceeds the noise floor's spread: twice
the standard deviation of its value between two disjoint real sets over the repeats. A metric
without a direction (the 1-NN accuracy, whose ideal 0.5 lies in the middle) counts a change
either way. A change beyond the spread in the *better* direction is reported as such: a metric
that improves under a failure is misled by it.
"""

from __future__ import annotations

import dataclasses
import statistics
from typing import Any

SPREAD_SIGMAS = 2.0
"""The noise floor's spread, in standard deviations of its values over the repeats."""


@dataclasses.dataclass(frozen=True)
class Claim:
    """A published statement on whether ``keys`` detect ``corruption``."""

    corruption: str
    keys: tuple[str, ...]
    detects: bool
    source: str
    why: str


XU = "Xu et al., 2018"
CLAIMS = (
    Claim("memorisation", ("is", "mode_score"), False, XU,
          "they see the generated samples' class predictions only, which copies keep"),
    Claim("memorisation", ("1nn",), True, XU,
          "copies sit on their originals, so the leave-one-out accuracy falls below 0.5"),
    Claim("memorisation", ("fid", "mmd2", "wasserstein"), False, XU,
          "the distances score a copy of the training data as a perfect sample"),
    Claim("mode_dropping", ("mmd2", "fid", "wasserstein", "1nn"), True, XU,
          "the generated distribution lacks whole modes of the real one"),
    Claim("mode_dropping", ("mode_score",), True, "Che et al., 2017; Xu et al., 2018",
          "its second term compares the generated class marginal with the real one"),
    Claim("mode_collapse", ("mmd2", "fid", "wasserstein", "1nn"), True, XU,
          "the collapsed modes lose their spread"),
    Claim("mode_collapse", ("is", "mode_score"), False, XU,
          "collapse within a class keeps the class predictions and proportions"),
    Claim("mixing", ("mmd2", "fid", "wasserstein", "1nn"), True, XU,
          "discriminability: samples of another distribution are told apart"),
    Claim("gaussian_noise", ("fid",), True, "Heusel et al., 2017, fig. 1",
          "FID rises steadily with Gaussian noise"),
    Claim("blur", ("fid",), True, "Heusel et al., 2017, fig. 1",
          "FID rises steadily with Gaussian blur"),
    Claim("mixing", ("fid",), True, "Heusel et al., 2017, fig. 1",
          "FID rises as foreign images contaminate the samples"),
    Claim("mode_dropping", ("recall", "coverage"), True,
          "Kynkäänniemi et al., 2019; Naeem et al., 2020",
          "recall and coverage measure how much of the real data the samples cover"),
    Claim("mode_collapse", ("recall", "coverage"), True,
          "Kynkäänniemi et al., 2019; Naeem et al., 2020",
          "recall and coverage measure how much of the real data the samples cover"),
    Claim("gaussian_noise", ("precision", "density"), True,
          "Kynkäänniemi et al., 2019; Naeem et al., 2020",
          "precision and density measure how many samples look real"),
    Claim("blur", ("precision", "density"), True,
          "Kynkäänniemi et al., 2019; Naeem et al., 2020",
          "precision and density measure how many samples look real"),
    Claim("mixing", ("precision", "density"), True,
          "Kynkäänniemi et al., 2019; Naeem et al., 2020",
          "precision and density measure how many samples look real"),
)  # fmt: skip
"""The published claims the measured verdicts are set beside; the report says where they
disagree."""


def spread(values: list[float]) -> float:
    """:data:`SPREAD_SIGMAS` standard deviations (sample, ``n - 1``) of ``values``."""
    return SPREAD_SIGMAS * statistics.stdev(values)


def worsening(change: float, higher_is_better: bool | None) -> float:
    """``change`` measured in the worse direction (``|change|`` when there is none)."""
    if higher_is_better is None:
        return abs(change)
    return -change if higher_is_better else change


def verdict(
    series: list[list[float]], floor: list[float], higher_is_better: bool | None,
    strengths: list[float],
) -> dict[str, Any]:
    """The verdict on one metric value under one corruption.

    ``series`` is ``repeats x strengths``; ``floor`` the noise-floor values. Returns the mean
    change at full strength, the noise spread, the change in units of the spread (``score``,
    worse direction positive; None when the spread is 0), ``detected``, ``improved`` (a change
    beyond the spread in the better direction) and ``first`` (the lowest strength whose mean
    change already exceeds the spread in the worse direction, or None).
    """
    noise = spread(floor)
    steps = len(strengths)
    changes = [statistics.fmean(row[step] - row[0] for row in series) for step in range(steps)]
    worse = [worsening(change, higher_is_better) for change in changes]
    first = next((strengths[i] for i in range(1, steps) if worse[i] > noise), None)
    return {
        "change": changes[-1],
        "noise_spread": noise,
        "score": worse[-1] / noise if noise > 0 else None,
        "detected": worse[-1] > noise,
        "improved": -worse[-1] > noise,
        "first": first,
    }


def verdicts(results: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """``{corruption: {key: verdict}}`` for every value of a study's results."""
    floor, directions = results["noise_floor"], results["higher_is_better"]
    return {
        corruption: {
            key: verdict(series, floor[key], directions[key], results["strengths"])
            for key, series in by_key.items()
        }
        for corruption, by_key in results["values"].items()
    }


def claim_rows(
    found: dict[str, dict[str, dict[str, Any]]],
) -> list[dict[str, Any]]:
    """Each published claim on a measured corruption, per value, with the measured verdict and
    whether the two agree."""
    rows = []
    for claim in CLAIMS:
        measured = found.get(claim.corruption, {})
        for key in claim.keys:
            if key not in measured:
                continue
            detected = bool(measured[key]["detected"])
            rows.append({
                "corruption": claim.corruption,
                "key": key,
                "claim": claim.detects,
                "measured": detected,
                "agrees": detected == claim.detects,
                "source": claim.source,
                "why": claim.why,
            })  # fmt: skip
    return rows
