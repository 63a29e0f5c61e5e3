"""Known-answer tests of scoring model version 1 (DESIGN.md), each hand-computed in the test.

Quarter 2024-Q4 ends on E = 2024-12-31; its 8-quarter window runs from 2023-01-01 to 2024-12-31.
"""

import datetime
import math

import pytest
from django.db import connection

from assessments.models import PartnerScore
from assessments.periods import Quarter
from assessments.services import scores_compute, scoring_model_active
from tests.assessments.factories import IndicatorFactory, MeasurementFactory, ObjectiveFactory, make_engagement, partner

pytestmark = pytest.mark.django_db

D = datetime.date
Q4 = Quarter(2024, 4)
WEIGHTS = {
    "activity": 0.15,
    "interoperability": 0.15,
    "capacity": 0.15,
    "trust": 0.15,
    "continuity": 0.15,
    "multilateral": 0.10,
    "objectives": 0.15,
}


def score_of(iso3, quarter=Q4):
    model = scoring_model_active()
    return scores_compute(quarter=quarter, model=model).get(partner(iso3).pk)


def test_version_1_is_active_with_the_design_parameters(reference_data):
    model = scoring_model_active()
    assert model.version == 1 and model.is_active
    assert model.weights == WEIGHTS
    assert (model.half_life_days, model.lookback_quarters, model.activity_scale) == (365, 8, 4.0)


def test_two_rated_engagements_at_different_ages(reference_data):
    # A: 2024-10-01..10-10, 3 partners (multilateral), ratings interop 5, capacity 3, trust 4.
    #    age = E - end = 21 (Oct) + 30 (Nov) + 31 (Dec) = 82 days; wA = 0.5 ** (82 / 365) = 0.855798
    # B: 2023-06-01..06-30, 2 partners, no framework (bilateral), ratings 2, 4, 1.
    #    age = 366 (to 2024-06-30, leap year) + 184 (to 2024-12-31) = 550 days; wB = 0.5 ** (550/365) = 0.351879
    make_engagement(["KEN", "TZA", "UGA"], D(2024, 10, 1), D(2024, 10, 10), ratings=(5, 3, 4))
    make_engagement(["KEN", "ETH"], D(2023, 6, 1), D(2023, 6, 30), ratings=(2, 4, 1))
    wa, wb = 0.5 ** (82 / 365), 0.5 ** (550 / 365)
    total = wa + wb  # 1.207677
    # Rating r counts as (r - 1) / 4 * 100: 5 -> 100, 4 -> 75, 3 -> 50, 2 -> 25, 1 -> 0.
    expected = {
        "activity": 100 * (1 - math.exp(-total / 4)),  # 26.06
        "interoperability": (wa * 100 + wb * 25) / total,  # 78.15
        "capacity": (wa * 50 + wb * 75) / total,  # 57.28
        "trust": (wa * 75 + wb * 0) / total,  # 53.15
        "continuity": 100 * 2 / 8,  # 2024-Q4 and 2023-Q2 overlapped: 25.00
        "multilateral": 100 * wa / total,  # 70.86
        "objectives": None,  # no indicators
    }
    # Objectives is null, so the other weights (0.85 in all) are renormalised.
    overall = sum(WEIGHTS[name] * value for name, value in expected.items() if value is not None) / 0.85  # 50.63
    score = score_of("KEN")
    for name, value in expected.items():
        assert score.components[name] == (pytest.approx(value, abs=0.01) if value is not None else None), name
    assert score.overall == pytest.approx(overall, abs=0.01)
    # The figures analysts will quote, to 0.01:
    assert round(score.components["activity"], 2) == 26.06
    assert round(score.components["interoperability"], 2) == 78.15
    assert round(score.components["capacity"], 2) == 57.28
    assert round(score.components["trust"], 2) == 53.15
    assert round(score.components["multilateral"], 2) == 70.86
    assert round(score.overall, 2) == 50.63
    assert score.engagement_count == 2
    # TZA took part in A only: same weight, ratings of A, 1 of 8 quarters, fully multilateral.
    tza = score_of("TZA")
    assert tza.components["interoperability"] == pytest.approx(100.0)
    assert tza.components["continuity"] == pytest.approx(12.5)
    assert tza.components["multilateral"] == pytest.approx(100.0)
    assert tza.components["activity"] == pytest.approx(100 * (1 - math.exp(-wa / 4)), abs=0.01)  # 19.24


def test_engagement_without_report_leaves_ratings_null_and_renormalises(reference_data):
    # One bilateral completed engagement ending on E: age 0, w = 1; no AAR; no indicator.
    make_engagement(["GHA", "SEN"], D(2024, 12, 1), D(2024, 12, 31))
    score = score_of("GHA")
    activity = 100 * (1 - math.exp(-1 / 4))  # 22.12
    assert score.components["activity"] == pytest.approx(activity, abs=0.01)
    assert score.components["interoperability"] is None
    assert score.components["capacity"] is None
    assert score.components["trust"] is None
    assert score.components["continuity"] == 12.5  # 1 quarter of 8
    assert score.components["multilateral"] == 0.0  # bilateral, no framework: a real zero, not null
    assert score.components["objectives"] is None
    # overall over activity (0.15), continuity (0.15) and multilateral (0.10): weights sum to 0.40.
    overall = (0.15 * activity + 0.15 * 12.5 + 0.10 * 0.0) / 0.40  # 12.98
    assert score.overall == pytest.approx(overall, abs=0.01)
    assert round(score.overall, 2) == 12.98


def test_partner_with_only_indicators(reference_data):
    # No engagement: activity 0 and continuity 0 (their empty case), multilateral and ratings null.
    indicator = IndicatorFactory(objective=ObjectiveFactory(partner=partner("NGA")), baseline_value=10, target_value=50)
    MeasurementFactory(indicator=indicator, date=D(2024, 9, 30), value=30)  # progress (30-10)/(50-10) = 0.5
    score = score_of("NGA")
    assert score.components == {
        "activity": 0.0,
        "interoperability": None,
        "capacity": None,
        "trust": None,
        "continuity": 0.0,
        "multilateral": None,
        "objectives": pytest.approx(50.0),
    }
    # (0.15 * 0 + 0.15 * 0 + 0.15 * 50) / 0.45 = 16.67
    assert score.overall == pytest.approx(50 / 3, abs=0.01)
    assert score.engagement_count == 0


def test_partner_without_data_has_no_score(reference_data):
    # Engagements that do not count: planned, cancelled, deleted, ended before the window, started after E.
    from django.utils import timezone

    make_engagement(["MLI"], D(2024, 11, 1), D(2024, 11, 2), status="planned")
    make_engagement(["MLI"], D(2024, 11, 1), D(2024, 11, 2), status="cancelled")
    make_engagement(["MLI"], D(2024, 11, 1), D(2024, 11, 2), deleted_at=timezone.now())
    make_engagement(["MLI"], D(2022, 12, 1), D(2022, 12, 31))  # ends the day before the window
    make_engagement(["MLI"], D(2025, 1, 1), D(2025, 1, 5))  # starts after E
    # An indicator measured only after E does not count either.
    MeasurementFactory(
        indicator=IndicatorFactory(objective=ObjectiveFactory(partner=partner("MLI"))), date=D(2025, 1, 2)
    )
    assert score_of("MLI") is None


def test_running_engagement_has_age_zero(reference_data):
    # In progress at E (ends after E): age = max(0, E - end) = 0, so w = 1. An engagement that started
    # before the window but ends inside it counts too (dates overlap the window), with its own age.
    make_engagement(["SEN"], D(2024, 11, 1), D(2025, 3, 31), status="in_progress", ratings=(4, 4, 4))
    make_engagement(["SEN"], D(2022, 6, 1), D(2023, 1, 1))  # age = 730 days: 0.5 ** 2 = 0.25
    score = score_of("SEN")
    total = 1.0 + 0.25
    assert score.components["activity"] == pytest.approx(100 * (1 - math.exp(-total / 4)), abs=0.01)  # 26.84
    assert score.components["interoperability"] == pytest.approx(75.0)  # only the rated one
    # Overlapped: 2023-Q1 (the old one) and 2024-Q4 (the running one) = 2 of 8.
    assert score.components["continuity"] == 25.0


def test_indicator_with_decreasing_target(reference_data):
    objective = ObjectiveFactory(partner=partner("SOM"))
    # Piracy incidents: baseline 100, target 20 (fewer is better).
    piracy = IndicatorFactory(objective=objective, baseline_value=100, target_value=20)
    MeasurementFactory(indicator=piracy, date=D(2024, 3, 31), value=90)
    MeasurementFactory(indicator=piracy, date=D(2024, 12, 31), value=60)  # latest on or before E
    MeasurementFactory(indicator=piracy, date=D(2025, 1, 15), value=20)  # after E: ignored
    # progress = (60 - 100) / (20 - 100) = 0.5
    # Patrol hours: baseline 0, target 10, measured 15: clipped to 1. Worse than baseline: clipped to 0.
    patrols = IndicatorFactory(objective=objective, baseline_value=0, target_value=10)
    MeasurementFactory(indicator=patrols, date=D(2024, 6, 1), value=15)
    arrests = IndicatorFactory(objective=objective, baseline_value=50, target_value=80)
    MeasurementFactory(indicator=arrests, date=D(2024, 6, 1), value=40)
    # Never measured: not counted at all.
    IndicatorFactory(objective=objective, baseline_value=0, target_value=1)
    score = score_of("SOM")
    assert score.inputs.indicator_count == 3
    assert score.components["objectives"] == pytest.approx(100 * (0.5 + 1.0 + 0.0) / 3)  # 50.00
    # With the piracy measurement of Q1 only, 2024-Q1 progress = (90 - 100) / (20 - 100) = 0.125.
    q1 = score_of("SOM", Quarter(2024, 1))
    assert q1.inputs.indicator_count == 1
    assert q1.components["objectives"] == pytest.approx(12.5)


def test_continuity_across_eight_quarters(reference_data):
    # One short engagement in each quarter of the window: 8 of 8.
    for year in (2023, 2024):
        for month in (2, 5, 8, 11):
            make_engagement(["MAR"], D(year, month, 10), D(year, month, 12))
    assert score_of("MAR").components["continuity"] == 100.0
    # One engagement spanning 2023-03-15..2023-07-15 overlaps 2023-Q1, Q2 and Q3: 3 of 8.
    make_engagement(["TUN"], D(2023, 3, 15), D(2023, 7, 15))
    assert score_of("TUN").components["continuity"] == 37.5
    # A year later the same engagement's quarters fall out of the window: 2025-Q3's window starts 2023-10-01.
    assert score_of("TUN", Quarter(2025, 3)) is None


def test_multilateral_with_and_without_an_organization(reference_data):
    # Same dates for all three, so the same weight w each (ends on E: w = 1).
    make_engagement(["BEN", "TGO"], D(2024, 12, 1), D(2024, 12, 31))  # 2 partners, no framework: bilateral
    make_engagement(["BEN", "TGO"], D(2024, 12, 1), D(2024, 12, 31), organizations=["ECOWAS"])  # framework
    make_engagement(["BEN", "TGO", "NER"], D(2024, 12, 1), D(2024, 12, 31))  # 3 partners
    # 2 of 3 equally weighted engagements are multilateral: 100 * 2 / 3 = 66.67
    assert score_of("BEN").components["multilateral"] == pytest.approx(200 / 3)
    assert score_of("NER").components["multilateral"] == 100.0


def test_scores_do_not_depend_on_engagement_count_in_queries(reference_data, django_assert_num_queries):
    model = scoring_model_active()
    make_engagement(["KEN", "TZA"], D(2024, 10, 1), D(2024, 10, 10), ratings=(5, 3, 4))
    # Two aggregates; the partners' sums run in a savepoint that sets the planner's options first
    # (assessments.sql.scoring_settings): SAVEPOINT, set_config, the query, RELEASE.
    queries = 5 if connection.vendor == "postgresql" else 4
    with django_assert_num_queries(queries):
        scores_compute(quarter=Q4, model=model)
    for day in range(1, 25):
        make_engagement(["KEN", "TZA", "UGA"], D(2024, 5, day), D(2024, 5, day), ratings=(3, 3, 3))
    with django_assert_num_queries(queries):
        assert len(scores_compute(quarter=Q4, model=model)) == 3
    assert not PartnerScore.objects.exists()  # computing writes nothing


def test_extreme_values_score_instead_of_underflowing(reference_data):
    """PostgreSQL raises an error where a double would round to 0: a one-day half-life over a 40-quarter
    window (0.5 ** 3,600), and a measurement a hair above its baseline with a target far away."""
    from assessments.models import ScoringModel

    model = scoring_model_active()
    model.half_life_days, model.lookback_quarters = 1, 40
    make_engagement(["KEN"], D(2015, 1, 5), D(2015, 1, 9), ratings=(5, 5, 5))  # about 3,640 half-lives old
    make_engagement(["KEN"], D(2024, 12, 29), D(2024, 12, 30), ratings=(1, 1, 1))  # one half-life old
    indicator = IndicatorFactory(
        objective=ObjectiveFactory(partner=partner("KEN")), baseline_value=0, target_value=1e12
    )
    MeasurementFactory(indicator=indicator, date=D(2024, 6, 1), value=5e-324)
    score = scores_compute(quarter=Q4, model=model)[partner("KEN").pk]
    assert score.engagement_count == 2
    assert score.inputs.weight_sum == pytest.approx(0.5)  # the old one weighs 0, not 0.5 ** 3640
    assert score.components["interoperability"] == 0.0  # only the recent rating counts
    assert score.components["objectives"] == 0.0
    assert ScoringModel.objects.get(pk=model.pk).half_life_days == 365  # the model in the database is untouched
