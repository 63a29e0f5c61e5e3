"""One formula for one engagement: `engagement_contribution` (weight, multilateral, rating points) is what
the explanation and the methodology's worked example use, and its sums equal the SQL engine's scores."""

from __future__ import annotations

import datetime
import math
import random

import pytest

from assessments.models import ScoringModel
from assessments.periods import Quarter
from assessments.selectors import score_explanation
from assessments.services.runs import scoring_model_active
from assessments.services.scoring import (
    ScoreInputs,
    components_from,
    engagement_contribution,
    inputs_add,
    recency_weight,
    scores_compute,
)
from partners.models import PartnerNation
from tests.assessments.factories import make_engagement

D = datetime.date
pytestmark = pytest.mark.django_db

PARTNERS = ["GHA", "SEN", "NGA", "KEN", "CIV", "FRA", "USA", "MAR"]
STATUSES = ["completed", "completed", "completed", "in_progress", "planned", "cancelled"]


def test_one_engagement_by_hand():
    model = ScoringModel(half_life_days=365, lookback_quarters=8, activity_scale=4.0, weights={})
    a = engagement_contribution(
        age_days=365,
        participant_count=3,
        under_framework=False,
        ratings={"interoperability": 4, "capacity": 3, "trust": 5},
        model=model,
    )
    assert a.weight == 0.5  # one half-life old
    assert a.multilateral  # three partners
    assert a.points == {"interoperability": 75.0, "capacity": 50.0, "trust": 100.0}  # (r - 1) / 4 * 100
    b = engagement_contribution(age_days=730, participant_count=2, under_framework=True, ratings=None, model=model)
    assert b.weight == 0.25 and b.multilateral and b.points is None  # under a framework
    c = engagement_contribution(age_days=0, participant_count=2, under_framework=False, ratings=None, model=model)
    assert c.weight == 1.0 and not c.multilateral
    assert not c.enters("multilateral") and c.enters("activity") and not c.enters("trust")
    inputs = ScoreInputs(partner_id=0)
    for contribution in (a, b, c):
        inputs_add(inputs, contribution)
    assert inputs.weight_sum == 1.75 and inputs.multilateral_weight_sum == 0.75
    assert inputs.rated_weight_sum == 0.5 and inputs.interoperability_points == 0.5 * 75
    inputs.quarters_overlapped = 3
    components, _, _ = components_from(inputs, model)
    assert components["interoperability"] == 75.0 and components["trust"] == 100.0
    assert math.isclose(components["activity"], 100 * (1 - math.exp(-1.75 / 4)))
    assert math.isclose(components["multilateral"], 100 * 0.75 / 1.75)
    assert components["continuity"] == 100 * 3 / 8
    # Past 500 half-lives a weight is 0, not an underflow.
    assert recency_weight(501 * 365, model) == 0.0


@pytest.fixture
def generated(reference_data, analyst):
    """A seeded random world: 120 engagements of 1-5 of eight partners over 2022-2025, some under a
    framework, some reported, in every status (planned and cancelled ones do not count)."""
    rng = random.Random(20261205)
    for _ in range(120):
        start = D(2022, 1, 1) + datetime.timedelta(days=rng.randrange(0, 4 * 365))
        end = start + datetime.timedelta(days=rng.choice([0, 3, 10, 45, 200]))
        ratings = tuple(rng.randint(1, 5) for _ in range(3)) if rng.random() < 0.6 else None
        make_engagement(
            rng.sample(PARTNERS, rng.randint(1, 5)),
            start,
            end,
            status=rng.choice(STATUSES),
            ratings=ratings,
            organizations=["ECOWAS"] if rng.random() < 0.3 else (),
        )
    return analyst


@pytest.mark.parametrize("half_life_days", [365, 90])
@pytest.mark.parametrize("quarter", ["2023-Q2", "2024-Q4", "2025-Q3"])
def test_the_explanations_contributions_sum_to_the_sql_engines_scores(generated, quarter, half_life_days):
    model = scoring_model_active()
    if half_life_days != model.half_life_days:
        model.is_active = False
        model.save()
        model = ScoringModel.objects.create(
            version=99,
            weights=model.weights,
            half_life_days=half_life_days,
            lookback_quarters=6,
            activity_scale=3.0,
            is_active=True,
        )
    quarter = Quarter.parse(quarter)
    engine = scores_compute(quarter=quarter, model=model)
    assert engine, "the generated world scores somebody"
    for partner in PartnerNation.objects.filter(iso3__in=PARTNERS):
        explanation = score_explanation(partner=partner, quarter=quarter, user=generated, scoring_model=model)
        inputs = ScoreInputs(partner_id=partner.pk)
        for row in explanation["engagements"]:
            inputs_add(inputs, row["contribution"])
        inputs.quarters_overlapped = len({q for row in explanation["engagements"] for q in row["quarters"]})
        if partner.pk not in engine:
            assert inputs.engagement_count == 0
            continue
        sql = engine[partner.pk]
        assert inputs.engagement_count == sql.engagement_count
        components, overall, _ = components_from(inputs, model)
        for name, value in components.items():
            if name == "objectives":
                continue  # indicators, not engagements
            expected = sql.components[name]
            assert (value is None) == (expected is None), name
            if value is not None:
                assert math.isclose(value, expected, rel_tol=1e-9, abs_tol=1e-9), (partner.iso3, name)
        assert math.isclose(overall, sql.overall, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("quarter", ["2023-Q2", "2024-Q4", "2025-Q3"])
def test_every_partner_in_one_pass_gives_the_sums_of_the_grouped_queries(generated, quarter):
    """A run for every partner reads the window in one pass (PostgreSQL: a window function for the number of
    partners); a run for some partners, and other databases, use the grouped queries. Same sums."""
    from django.db import connection

    from assessments.services.scoring import _sums_by_subqueries, _sums_in_one_pass

    model = scoring_model_active()
    quarter = Quarter.parse(quarter)
    grouped = {row["partner_id"]: row for row in _sums_by_subqueries(quarter=quarter, model=model, partner_ids=None)}
    assert grouped and any(row["multilateral_weight_sum"] for row in grouped.values())
    if connection.vendor == "postgresql":
        one_pass = {row["partner_id"]: row for row in _sums_in_one_pass(quarter=quarter, model=model)}
        assert one_pass.keys() == grouped.keys()
        for partner_id, row in one_pass.items():
            for name, value in row.items():
                assert math.isclose(value or 0, grouped[partner_id][name] or 0, rel_tol=1e-12, abs_tol=1e-12), name
    everyone = scores_compute(quarter=quarter, model=model)
    some = sorted(everyone)[:3]
    for partner_id, score in scores_compute(quarter=quarter, model=model, partner_ids=some).items():
        for name, value in vars(score.inputs).items():
            expected = getattr(everyone[partner_id].inputs, name)
            if isinstance(value, float):
                assert math.isclose(value, expected, rel_tol=1e-12, abs_tol=1e-12), name
            else:
                assert value == expected, name


def test_one_pass_counts_the_quarters_of_the_longest_window(reference_data):
    """The one pass marks each overlapped quarter of the window by a bit (up to 40 quarters: past 32 bits)
    and counts them per partner; the grouped queries take a MAX per quarter. Same quarters, first to last."""
    from django.db import connection

    from assessments.services.scoring import _sums_by_subqueries, _sums_in_one_pass

    if connection.vendor != "postgresql":
        pytest.skip("the one pass is PostgreSQL's")
    model = scoring_model_active()
    model.lookback_quarters = 40
    quarter = Quarter.parse("2024-Q4")
    first = quarter.window(40)[0]
    make_engagement(["KEN", "GHA"], first.start, first.start + datetime.timedelta(days=2), ratings=(2, 3, 4))
    make_engagement(["KEN"], D(2016, 3, 20), D(2016, 4, 5))  # two quarters at once
    make_engagement(["KEN", "GHA", "SEN"], D(2024, 12, 1), D(2024, 12, 3))  # the 40th quarter: bit 39
    make_engagement(["KEN"], D(2024, 12, 10), D(2024, 12, 12))  # the same quarter again
    one_pass = {row["partner_id"]: row for row in _sums_in_one_pass(quarter=quarter, model=model)}
    grouped = {row["partner_id"]: row for row in _sums_by_subqueries(quarter=quarter, model=model, partner_ids=None)}
    assert {p: row["quarters_overlapped"] for p, row in one_pass.items()} == {
        p: row["quarters_overlapped"] for p, row in grouped.items()
    }
    assert one_pass[PartnerNation.objects.get(iso3="KEN").pk]["quarters_overlapped"] == 4
    assert one_pass[PartnerNation.objects.get(iso3="GHA").pk]["quarters_overlapped"] == 2
