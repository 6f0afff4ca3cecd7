"""Published worked examples, beyond the issue's vectors, through the public API.

- Cross Validated, "How can I calculate margin of error in a NPS (Net Promoter Score)
  result?", the top answer (https://stats.stackexchange.com/a/18609): a population of
  1/2 promoters, 1/3 passives and 1/6 detractors has NPS 1/3, and the variance of one
  answer (tickets of +1, 0 and -1) is the answer's sum of squared deviations, 5/9.
- Newcombe, R. G. (1998), "Two-sided confidence intervals for the single proportion:
  comparison of seven methods", Statistics in Medicine 17, 857-872, Table II (Wilson's
  score interval, method 3): 81 of 263, 15 of 148, 0 of 20, 1 of 29. The CSAT and CES
  top-box shares use that interval, so the same vectors hold for them in percent.
"""

from __future__ import annotations

import math

import pytest

import loopkit
from loopkit.metrics import NPS, ces, csat, nps

# -- NPS: the Cross Validated worked example ------------------------------------------------


@pytest.mark.parametrize("n", [6, 600, 6000])
def test_half_promoters_a_third_passives_a_sixth_detractors(n: int) -> None:
    r = NPS(promoters=n // 2, passives=n // 3, detractors=n // 6)
    assert r.score == pytest.approx(100 / 3)
    # the answer's variance: (1 - 1/3)^2 * 1/2 + (0 - 1/3)^2 * 1/3 + (-1 - 1/3)^2 * 1/6
    variance = (1 - 1 / 3) ** 2 / 2 + (1 / 3) ** 2 / 3 + (4 / 3) ** 2 / 6
    assert variance == pytest.approx(5 / 9)
    assert r.standard_error() == pytest.approx(100 * math.sqrt(variance / n))
    wald = r.interval()
    assert wald is not None
    assert wald.high - r.score == pytest.approx(1.959964 * 100 * math.sqrt(5 / 9 / n), rel=1e-6)


def test_the_same_example_from_raw_scores() -> None:
    scores = [10, 9, 9, 8, 7, 3] * 100  # 1/2 promoters, 1/3 passives, 1/6 detractors
    r = nps(scores)
    assert (r.promoters, r.passives, r.detractors) == (300, 200, 100)
    assert r.standard_error() == pytest.approx(100 * math.sqrt(5 / 9 / 600))


# -- CSAT and CES top box: Newcombe's Wilson vectors, in percent ----------------------------


@pytest.mark.parametrize(
    ("happy", "n", "low", "high"),
    [(81, 263, 25.53, 36.62), (15, 148, 6.24, 16.05), (0, 20, 0.0, 16.11), (1, 29, 0.61, 17.18)],
)
def test_top_box_shares_hold_newcombes_wilson_intervals(
    happy: int, n: int, low: float, high: float
) -> None:
    answers = [5] * happy + [2] * (n - happy)  # a 5 is happy, a 2 is not, on CSAT 1-5
    share = csat(answers)
    assert share is not None and share.n == n
    assert (round(share.interval.low, 2), round(share.interval.high, 2)) == (low, high)
    easy = ces([1] * happy + [5] * (n - happy), scale=loopkit.CES5)  # 1 is easy on CES 1-5
    assert easy is not None and easy.interval == share.interval
