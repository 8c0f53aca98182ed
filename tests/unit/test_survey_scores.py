"""Score arithmetic and intervals against values worked out by hand."""

import numpy as np
import pandas as pd
import pytest

from tasks.surveys.scores import ScoreSettings, nps_interval, score_cells, verdicts, wilson_interval


def test_nps_is_promoters_minus_detractors_with_the_adjusted_wald_interval():
    # 6 promoters, 2 passives, 2 detractors: NPS = 60% − 20% = 40.
    # Adjusted: n = 13, p = 6.75/13 = .51923, d = 2.75/13 = .21154, centre = .30769,
    # variance = (.51923 + .21154 − .30769²)/13 = .048930, half = 1.96 × .22120 = .43355.
    score, low, high = nps_interval([6], [2], [2])
    assert score[0] == pytest.approx(40.0)
    assert low[0] == pytest.approx(100 * (0.307692 - 0.433546), abs=0.01)
    assert high[0] == pytest.approx(100 * (0.307692 + 0.433546), abs=0.01)


def test_nps_interval_stays_within_the_scale_and_narrows_with_more_answers():
    _, low, high = nps_interval([0, 0], [0, 0], [40, 4000])
    assert (low >= -100).all() and (high <= 100).all()
    assert high[1] - low[1] < high[0] - low[0]


def test_csat_share_with_wilson_interval():
    # 8 satisfied of 10: p = .8; Wilson 95%: (.8 + 1.92/10)/1.384 ± 1.96·√(.016 + .0096)/1.384 = .4902 … .9433
    share, low, high = wilson_interval([8], [10])
    assert share[0] == pytest.approx(80.0)
    assert low[0] == pytest.approx(49.02, abs=0.01) and high[0] == pytest.approx(94.33, abs=0.01)


def test_verdicts_need_enough_answers_and_an_interval_clear_of_the_target():
    result = verdicts([10, 100, 100, 100], [50, 31, 10, 20], [90, 60, 29, 40], target=30, min_responses=30)
    assert result.tolist() == ["too few responses", "meets target", "below target", "inconclusive"]


def test_cells_per_dimension_count_only_the_answered_question():
    responses = pd.DataFrame({
        "nps": [10, 9, 3, np.nan, 8],
        "csat": [5, np.nan, 2, 4, np.nan],
        "via": ["email", "email", "sms", "sms", "email"],
    })
    cells = score_cells(responses, ["via"], ScoreSettings(min_responses=2)).set_index(["measure", "dimension", "cell"])
    # NPS over all: 2 promoters, 1 passive, 1 detractor of 4 → 25; by e-mail: 2 of 3 promoters → 66.7.
    assert cells.loc[("nps", "all", "all"), "score"] == pytest.approx(25.0)
    assert cells.loc[("nps", "all", "all"), "responses"] == 4
    assert cells.loc[("nps", "via", "email"), "score"] == pytest.approx(200 / 3)
    assert cells.loc[("nps", "via", "sms"), "verdict"] == "too few responses"
    # CSAT: 5 and 4 satisfied, 2 not → 2 of 3.
    assert cells.loc[("csat", "all", "all"), "score"] == pytest.approx(200 / 3)
    assert cells.loc[("csat", "via", "email"), "responses"] == 1
