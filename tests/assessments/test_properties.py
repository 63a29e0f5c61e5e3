"""Property test (hypothesis) on the scoring service: whatever the engagements, reports, indicators,
measurements and scoring model, every component and the overall score are within 0-100 or null.

Engagements are written directly (any status, dates, ratings, participants, frameworks); indicators and
measurements go through their services (which bound values to +-10^12); the scoring model's parameters
are drawn within the ranges its constraints allow. Each example is rolled back.
"""

from __future__ import annotations

import datetime
import math

import pytest
from django.db import transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from assessments.choices import COMPONENTS
from assessments.models import ScoringModel
from assessments.periods import Quarter
from assessments.services import indicator_create, measurement_create, scores_compute
from engagements.choices import Status
from tests.assessments.factories import ObjectiveFactory, make_engagement, partner
from tests.engagements import test_properties  # noqa: F401  (registers and loads the hypothesis profile)

pytestmark = pytest.mark.django_db

PARTNERS = ["KEN", "TZA", "UGA", "GHA", "SEN"]
FIRST, LAST = datetime.date(2023, 1, 1), datetime.date(2025, 12, 31)

engagements = st.lists(
    st.fixed_dictionaries(
        {
            "partners": st.lists(st.sampled_from(PARTNERS), min_size=1, max_size=5, unique=True),
            "start": st.dates(FIRST, LAST),
            "days": st.integers(0, 400),
            "status": st.sampled_from(list(Status.values)),
            "ratings": st.one_of(st.none(), st.tuples(*[st.integers(1, 5)] * 3)),
            "organizations": st.sampled_from([[], ["ECOWAS"], ["EAC", "AU"]]),
        }
    ),
    max_size=8,
)
bounded = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)
indicators = st.lists(
    st.fixed_dictionaries(
        {
            "partner": st.sampled_from(PARTNERS),
            "baseline": bounded,
            "target": bounded,
            "measurements": st.lists(st.tuples(st.dates(FIRST, datetime.date(2025, 6, 30)), bounded), max_size=3),
        }
    ).filter(lambda i: i["baseline"] != i["target"]),
    max_size=4,
)
models = st.builds(
    dict,
    weights=st.fixed_dictionaries(
        {name: st.one_of(st.just(0.0), st.floats(0, 1000), st.integers(0, 5)) for name in COMPONENTS}
    ).filter(lambda w: sum(w.values()) > 0),
    half_life_days=st.integers(1, 5000),
    lookback_quarters=st.integers(1, 40),
    activity_scale=st.floats(min_value=1e-6, max_value=1e6),
)


def in_range(value) -> bool:
    return value is None or (math.isfinite(value) and 0.0 <= value <= 100.0)


@given(
    engagement_rows=engagements,
    indicator_rows=indicators,
    parameters=models,
    quarter=st.builds(Quarter, st.integers(2023, 2025), st.integers(1, 4)),
)
@settings(max_examples=max(10, settings.default.max_examples // 2))
def test_scores_stay_within_0_and_100_or_null(reference_data, engagement_rows, indicator_rows, parameters, quarter):
    with transaction.atomic():
        for row in engagement_rows:
            end = min(row["start"] + datetime.timedelta(days=row["days"]), LAST)
            make_engagement(
                row["partners"],
                row["start"],
                end,
                status=row["status"],
                ratings=row["ratings"],
                organizations=row["organizations"],
            )
        for row in indicator_rows:
            indicator = indicator_create(
                objective=ObjectiveFactory(partner=partner(row["partner"])),
                name="Patrols",
                baseline_value=row["baseline"],
                target_value=row["target"],
            )
            for day, value in dict(row["measurements"]).items():
                measurement_create(indicator=indicator, date=day, value=value)
        model = ScoringModel.objects.create(version=99, is_active=False, **parameters)
        scores = scores_compute(quarter=quarter, model=model)
        for score in scores.values():
            assert in_range(score.overall), score
            assert all(in_range(value) for value in score.components.values()), score.components
            assert score.overall is not None or all(
                score.components[name] is None or parameters["weights"][name] == 0 for name in COMPONENTS
            )
        transaction.set_rollback(True)


# --- what the property test found --------------------------------------------------------------------------


def test_a_target_a_hair_from_the_baseline_does_not_break_scoring(reference_data):
    """1e12 / 5e-324 overflows: PostgreSQL raised an error and the whole run failed for every partner."""
    from assessments.services import scoring_model_active

    indicator = indicator_create(
        objective=ObjectiveFactory(partner=partner("KEN")), name="Patrols", baseline_value=0.0, target_value=5e-324
    )
    measurement_create(indicator=indicator, date=datetime.date(2024, 5, 1), value=1e12)
    falling = indicator_create(
        objective=ObjectiveFactory(partner=partner("TZA")), name="Incidents", baseline_value=1e-300, target_value=0.0
    )
    measurement_create(indicator=falling, date=datetime.date(2024, 5, 1), value=5e-301)
    scores = scores_compute(quarter=Quarter(2024, 2), model=scoring_model_active())
    assert scores[partner("KEN").pk].components["objectives"] == 100.0
    assert scores[partner("TZA").pk].components["objectives"] == pytest.approx(50.0)


def test_a_component_never_exceeds_100_by_rounding(reference_data):
    """100 * w / w is 100.00000000000001 for some weights w (here a multilateral engagement)."""
    make_engagement(["KEN", "TZA", "UGA"], datetime.date(2023, 3, 1), datetime.date(2024, 3, 30), status="in_progress")
    model = ScoringModel.objects.create(
        version=99,
        weights=dict.fromkeys(COMPONENTS, 1.0),
        half_life_days=1085,
        lookback_quarters=5,
        activity_scale=1.0,
    )
    for score in scores_compute(quarter=Quarter(2025, 1), model=model).values():
        assert score.components["multilateral"] == 100.0
