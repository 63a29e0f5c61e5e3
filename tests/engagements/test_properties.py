"""Property tests (hypothesis) on the services: random valid and invalid input never raises anything but
ValidationError (StaleVersionError is one), and the data's invariants hold after any sequence of saves;
scores stay within 0-100 (or null) whatever the engagements, indicators and scoring model.

Examples run inside a savepoint that is rolled back, so each starts from the reference data alone. The
"ci" profile (CI=true) runs more examples than a local run.
"""

from __future__ import annotations

import datetime
import os
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from engagements import services
from engagements.choices import Domain, EngagementType, ParticipantRole, Sensitivity, Status, ThreatFocus
from engagements.models import AfterActionReport, Engagement, Participation

pytestmark = pytest.mark.django_db

settings.register_profile(
    "engagement-tracker",
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "engagement-tracker-ci",
    parent=settings.get_profile("engagement-tracker"),
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", 100)),
)
settings.load_profile("engagement-tracker-ci" if os.environ.get("CI") == "true" else "engagement-tracker")

PARTNERS = ["KEN", "TZA", "UGA", "GHA", "SEN", "USA", "FRA", "NGA", "CIV"]
ORGANIZATIONS = ["ECOWAS", "EAC", "AU", "NATO"]
REFERENCE = re.compile(r"^ENG-\d{4}-\d{6}$")

# --- strategies: valid input, and input with junk in some fields -------------------------------------------

junk = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.just(""),
    st.just("\x00"),
    st.dates(),
)
printable = st.characters(blacklist_categories=("Cs", "Cc"))


def words(min_size=0, max_size=40):
    return st.text(printable, min_size=min_size, max_size=max_size).filter(lambda t: not min_size or t.strip())


def mostly(valid: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(valid, valid, valid, junk)


def choice(choices) -> st.SearchStrategy:
    return st.sampled_from(list(choices.values))


recent = st.dates(datetime.date(2020, 1, 1), datetime.date(2026, 12, 31))
any_day = st.dates(min_value=datetime.date(1890, 1, 1), max_value=datetime.date(2110, 12, 31))
participants = st.lists(st.sampled_from(PARTNERS), unique=True, max_size=4).flatmap(
    lambda codes: st.tuples(
        *[
            st.fixed_dictionaries(
                {
                    "partner": st.just(code),
                    "role": choice(ParticipantRole),
                    "personnel": st.integers(min_value=0, max_value=5000),
                }
            )
            for code in codes
        ]
    ).map(list)
)
junk_participants = st.lists(
    st.fixed_dictionaries(
        {
            "partner": mostly(st.sampled_from(PARTNERS)),
            "role": mostly(choice(ParticipantRole)),
            "personnel": mostly(st.integers(min_value=-10, max_value=2_000_000)),
        }
    ),
    max_size=4,
)
ratings = st.integers(min_value=1, max_value=5)
report = st.fixed_dictionaries(
    {"summary": words(1), "interoperability_rating": ratings, "capacity_rating": ratings, "trust_rating": ratings},
    optional={"lessons_learned": words(), "recommendations": words()},
)
junk_report = st.fixed_dictionaries(
    {
        "summary": mostly(words(1)),
        "interoperability_rating": mostly(st.integers(min_value=-1, max_value=7)),
        "capacity_rating": mostly(st.integers(min_value=-1, max_value=7)),
        "trust_rating": mostly(ratings),
    },
    optional={"lessons_learned": junk, "recommendations": mostly(words())},
)

VALID = {
    "title": words(1, 200),
    "engagement_type": choice(EngagementType),
    "domain": choice(Domain),
    "status": choice(Status),
    "host_country": st.sampled_from(PARTNERS),
    "location_name": words(max_size=200),
    "threat_focus": st.lists(choice(ThreatFocus), unique=True, max_size=3),
    "description": words(),
    "budget_usd": st.one_of(st.none(), st.decimals(min_value=0, max_value=10**9, places=2)),
    "funding_source": words(max_size=120),
    "sensitivity": choice(Sensitivity),
    "series": st.sampled_from([None, ""]),
    "organizations": st.lists(st.sampled_from(ORGANIZATIONS), unique=True, max_size=3),
    "participants": participants,
}
JUNK = {
    **{name: mostly(strategy) for name, strategy in VALID.items()},
    "title": mostly(st.text(max_size=210)),
    "start_date": mostly(st.one_of(recent, any_day, any_day.map(str))),
    "end_date": mostly(st.one_of(recent, any_day, any_day.map(str))),
    "latitude": st.one_of(st.none(), st.decimals(-200, 200, places=6), st.floats(-200, 200), junk),
    "longitude": st.one_of(st.none(), st.decimals(-200, 200, places=6), st.floats(-200, 200), junk),
    "threat_focus": st.one_of(st.lists(mostly(choice(ThreatFocus)), max_size=4), st.text(max_size=30), junk),
    "budget_usd": st.one_of(st.decimals(-10, 10**13, places=3), st.integers(-5, 10**13), junk),
    "series": st.one_of(st.text(max_size=10), junk),
    "organizations": st.lists(mostly(st.sampled_from(ORGANIZATIONS)), max_size=3),
    "participants": junk_participants,
    "after_action": st.one_of(st.none(), junk_report),
    "reference": st.one_of(st.none(), st.from_regex(REFERENCE, fullmatch=True), st.text(max_size=20)),
}
REQUIRED = ["title", "engagement_type", "domain", "start_date", "end_date", "host_country"]


@st.composite
def engagement_input(draw, *, new: bool):
    """All fields valid (half the time), or some junk among them; ``new``: the fields a creation needs."""
    valid = draw(st.booleans())
    names = [name for name in [*VALID, *JUNK] if name not in ("start_date", "end_date")]
    chosen = {name for name in dict.fromkeys(names) if (new and name in REQUIRED) or draw(st.booleans())}
    data = {}
    for name in dict.fromkeys(names):
        if name in chosen and not (valid and name not in VALID):
            data[name] = draw(VALID[name] if valid else JUNK[name])
    if valid:
        if new or draw(st.booleans()):
            data["start_date"] = draw(recent)
            data["end_date"] = data["start_date"] + datetime.timedelta(days=draw(st.integers(0, 60)))
        if draw(st.booleans()):
            data["latitude"] = draw(st.decimals(-90, 90, places=5))
            data["longitude"] = draw(st.decimals(-180, 180, places=5))
        if data.get("status") in (Status.IN_PROGRESS, Status.COMPLETED) and draw(st.booleans()):
            data["after_action"] = draw(report)
    else:
        for name in ("start_date", "end_date", "latitude", "longitude"):
            if (new and name in REQUIRED) or draw(st.booleans()):
                data[name] = draw(JUNK[name])
    if not new:
        data.pop("reference", None)
    return data


new_engagement = engagement_input(new=True)
changes = engagement_input(new=False)


# --- invariants ---------------------------------------------------------------------------------------------


def assert_invariants() -> None:
    rows = list(Engagement.objects.values_list("reference", "start_date", "end_date", "latitude", "longitude"))
    for reference, start, end, latitude, longitude in rows:
        assert end >= start, reference
        assert REFERENCE.match(reference), reference
        assert (latitude is None) == (longitude is None)
        assert latitude is None or (-90 <= latitude <= 90 and -180 <= longitude <= 180)
    assert len({r[0] for r in rows}) == len(rows)  # references unique
    assert not Engagement.objects.filter(title="").exists()
    assert not Engagement.objects.filter(budget_usd__lt=0).exists()
    twice = Participation.objects.values("engagement", "partner").annotate(n=Count("id")).filter(n__gt=1)
    assert not twice.exists()  # unique partners per engagement
    assert not Participation.objects.filter(personnel__lt=0).exists()
    for name in ("interoperability_rating", "capacity_rating", "trust_rating"):
        assert not AfterActionReport.objects.exclude(**{f"{name}__range": (1, 5)}).exists()
    reported = AfterActionReport.objects.values_list("engagement__status", flat=True)
    assert set(reported) <= {Status.IN_PROGRESS, Status.COMPLETED}


class Savepoint:
    """Everything an example writes is rolled back when it ends."""

    def __enter__(self):
        self.atomic = transaction.atomic()
        self.atomic.__enter__()

    def __exit__(self, *exc):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)


# --- create -----------------------------------------------------------------------------------------------


@given(data=new_engagement)
def test_create_accepts_or_refuses_with_validation_errors_only(reference_data, planner, data):
    with Savepoint():
        try:
            result = services.engagement_create(created_by=planner, **data)
        except ValidationError as error:
            assert error.message_dict  # keyed by field, for the form or the API to show
            event("refused")
        else:
            event("created")
            engagement = result.engagement
            assert engagement.pk and engagement.version == 1 and engagement.title == str(data["title"]).strip()
            if not data.get("reference"):
                assert engagement.reference.startswith(f"ENG-{engagement.start_date.year}-")
        assert_invariants()


# --- any sequence of create, update, status change, delete -------------------------------------------------


class EngagementEditing(RuleBasedStateMachine):
    engagements = Bundle("engagements")

    def __init__(self, planner):
        super().__init__()
        self.planner = planner
        self.savepoint = Savepoint()
        self.savepoint.__enter__()

    def teardown(self):
        self.savepoint.__exit__(None, None, None)

    def _save(self, call):
        try:
            result = call()
        except ValidationError as error:
            assert error.messages
            event(f"{type(error).__name__}")
            return None
        event("saved")
        return result

    @initialize(target=engagements)
    def first(self):
        return services.engagement_create(
            created_by=self.planner,
            title="Seed exercise",
            engagement_type="exercise",
            domain="land",
            status="in_progress",
            start_date=datetime.date(2025, 3, 1),
            end_date=datetime.date(2025, 3, 9),
            host_country="KEN",
            participants=[{"partner": "KEN", "role": "host", "personnel": 10}],
        ).engagement.pk

    @rule(target=engagements, data=new_engagement)
    def create(self, data):
        result = self._save(lambda: services.engagement_create(created_by=self.planner, **data))
        return result.engagement.pk if result else None

    @rule(pk=engagements, data=changes, version=st.sampled_from(["current", "stale", "none"]))
    def update(self, pk, data, version):
        if pk is None:
            return
        engagement = Engagement.objects.get(pk=pk)
        expected = {"current": engagement.version, "stale": engagement.version - 1, "none": None}[version]
        before = engagement.version
        result = self._save(
            lambda: services.engagement_update(
                engagement=engagement, updated_by=self.planner, expected_version=expected, **data
            )
        )
        after = Engagement.objects.get(pk=pk).version
        if version == "stale":
            assert result is None and after == before  # a stale save never lands
        assert after == (before + 1 if result else before)

    @rule(pk=engagements, status=choice(Status))
    def change_status(self, pk, status):
        if pk is not None:
            engagement = Engagement.objects.get(pk=pk)
            self._save(lambda: services.engagement_change_status(engagement=engagement, status=status, user=None))

    @rule(pk=engagements, reason=mostly(st.text(min_size=1, max_size=40)))
    def delete(self, pk, reason):
        if pk is not None:
            engagement = Engagement.objects.get(pk=pk)
            self._save(lambda: services.engagement_delete(engagement=engagement, user=self.planner, reason=reason))

    @invariant()
    def data_is_consistent(self):
        assert_invariants()


def test_any_sequence_of_saves_keeps_the_invariants(reference_data, planner):
    examples = settings.default.max_examples // 3
    run_state_machine_as_test(
        lambda: EngagementEditing(planner),
        settings=settings(max_examples=max(examples, 5), stateful_step_count=8),
    )


# --- what the property tests found -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, field",
    [
        ({"host_country": "\x00"}, "host_country"),  # PostgreSQL: "A string literal cannot contain NUL"
        ({"series": "a\x00b"}, "series"),
        ({"participants": [{"partner": "K\x00N"}]}, "participants"),
        ({"threat_focus": 7}, "threat_focus"),  # TypeError: 'int' object is not iterable
    ],
)
def test_input_that_used_to_escape_as_a_non_validation_error(planner, reference_data, data, field):
    values = {
        "title": "Exercise",
        "engagement_type": "exercise",
        "domain": "land",
        "start_date": datetime.date(2025, 1, 1),
        "end_date": datetime.date(2025, 1, 2),
        "host_country": "KEN",
        **data,
    }
    with pytest.raises(ValidationError) as refused:
        services.engagement_create(created_by=planner, **values)
    assert field in refused.value.message_dict
    assert not Engagement.objects.exists()
