"""The quick checks of ``clean_value`` (an import's usual values) answer exactly what the whole check answers."""

import datetime
import decimal

import pytest

from engagements import rules
from engagements.models import AfterActionReport, Engagement, Participation
from engagements.services import inputs

FIELDS = [
    *(
        (Engagement, name)
        for name in rules.ENGAGEMENT_FIELDS
        if name not in inputs._REFERENCES and name != "threat_focus"
    ),
    *((Participation, name) for name in rules.PARTICIPANT_FIELDS if name != "partner"),
    *((AfterActionReport, name) for name in rules.AAR_FIELDS),
    (AfterActionReport, "submitted_at"),
]

VALUES = [
    "",
    "   ",
    "abc",
    "  padded text  ",
    "x" * 20,
    "x" * 21,
    "y" * 200,
    "y" * 201,
    "z" * 20_001,
    "a\x00b",
    "\x00",
    "2025-01-31",
    " 2025-01-31 ",
    "2025-02-30",
    "20250131",
    "2025-W05-1",
    "0001-01-01",
    "1899-12-31",
    "9999-12-31",
    "2025-01-31T10:00",
    "31/01/2025",
    "12",
    "012",
    " 7 ",
    "-1",
    "0",
    "1.5",
    "12.3456789",
    "1e3",
    "²",
    "１２",
    "99999999999999999999",
    "2147483648",
    "nan",
    None,
    0,
    5,
    -3,
    10**12,
    True,
    1.5,
    decimal.Decimal("2.5"),
    datetime.date(2025, 1, 31),
]


def _answer(clean, model, name, value):
    messages = []
    return clean(model, name, value, messages.append), messages


@pytest.mark.parametrize(("model", "name"), FIELDS, ids=[f"{m.__name__}.{n}" for m, n in FIELDS])
def test_quick_checks_answer_as_the_whole_check(model, name):
    model_field = model._meta.get_field(name)
    choices = [str(value) for value, _label in model_field.flatchoices] if model_field.choices else []
    values = [*VALUES, *choices, *(f" {c} " for c in choices), *(c.upper() for c in choices)]
    quick = inputs._checks(model, name)[4]
    for value in values:
        expected = _answer(inputs._clean_fully, model, name, value)
        assert _answer(inputs.clean_value, model, name, value) == expected, (name, value)
        if quick is not None and quick(value) is not inputs._SLOW:
            assert not expected[1], (name, value)  # a quick answer is never for a refused value
            assert type(quick(value)) is type(expected[0]), (name, value)


def test_the_usual_values_are_answered_quickly():
    for model, name, value in [
        (Engagement, "title", "Exercise"),
        (Engagement, "status", "planned"),
        (Engagement, "start_date", "2025-01-31"),
        (Engagement, "latitude", ""),
        (Engagement, "location_name", ""),
        (Participation, "personnel", "12"),
        (Participation, "role", "participant"),
    ]:
        assert inputs._checks(model, name)[4](value) is not inputs._SLOW, (name, value)


@pytest.mark.django_db
def test_answers_kept_for_an_import_are_the_answers_of_a_fresh_check():
    """``Lookups.accepted``: an import's repeated cells are checked once; a refused cell is refused on every row,
    with the same messages, and each row gets its own list."""
    from django.core.exceptions import ValidationError

    from engagements import services
    from tests.engagements.factories import default_unit, partner

    partner("NGA"), partner("GHA")
    unit = default_unit()

    def row(**changes):
        return {
            "title": "Exercise",
            "engagement_type": "exercise",
            "domain": "joint",
            "status": "planned",
            "start_date": "2025-01-31",
            "end_date": "2025-02-02",
            "host_country": "NGA",
            "threat_focus": ["cyber", "deterrence"],
            "owner_unit": unit,
            "participants": [{"partner": "NGA", "role": "host", "personnel": "12"}, {"partner": "GHA"}],
            **changes,
        }

    def answer(lookups, **changes):
        try:
            checked = services.engagement_create_clean(lookups=lookups, **row(**changes))
        except ValidationError as error:
            return error.message_dict
        return checked.fields, checked.participants

    shared = services.Lookups()
    rows = [
        {},
        {"participants": [{"partner": "NGA", "role": "boss", "personnel": "12"}]},
        {"domain": "underwater"},
        {},
        {"participants": [{"partner": "NGA", "role": "boss", "personnel": "-1"}]},
        {"domain": "underwater", "status": "planned"},
        {"threat_focus": ["cyber"]},
        {"start_date": "2025-02-30"},
        {"start_date": "2025-02-30"},
    ]
    for changes in rows:
        assert answer(shared, **changes) == answer(services.Lookups(), **changes), changes
    assert shared.accepted  # the repeated cells were kept
    first, second = answer(shared)[0], answer(shared)[0]
    assert first["threat_focus"] == ["cyber", "deterrence"] and first["threat_focus"] is not second["threat_focus"]
