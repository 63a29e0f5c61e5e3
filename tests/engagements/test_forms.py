"""The engagement forms: parsing only, and the mapping of service refusals back onto fields."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from engagements import rules, services
from engagements.forms import (
    AfterActionForm,
    EngagementForm,
    ReferenceChoices,
    apply_service_errors,
    participant_formset,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def choices(reference_data):
    return ReferenceChoices.load()


def rows_data(rows, *, initial=0):
    data = {
        "participants-TOTAL_FORMS": str(len(rows)),
        "participants-INITIAL_FORMS": str(initial),
        "participants-MIN_NUM_FORMS": "0",
        "participants-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for name, value in row.items():
            data[f"participants-{index}-{name}"] = value
    return data


def test_reference_choices_label_partners_by_name_and_code(choices):
    assert ("FRA", "France (FRA)") in choices.partners
    assert any(code == "NATO" and "North Atlantic" in label for code, label in choices.organizations)
    assert choices.partners == sorted(choices.partners, key=lambda c: c[1].split(" (")[0])


def test_reference_choices_cost_three_queries_whatever_the_rows(choices, django_assert_num_queries):
    with django_assert_num_queries(3):
        loaded = ReferenceChoices.load()
    with django_assert_num_queries(0):
        formset = participant_formset(choices=loaded, extra=20)
        html = "".join(str(form["partner"]) for form in formset)
    assert html.count('<option value="FRA">France (FRA)</option>') == 20


def test_engagement_form_gives_the_service_codes(choices):
    form = EngagementForm(
        {
            "title": "  BALTOPS 2025 ",
            "engagement_type": "exercise",
            "domain": "maritime",
            "status": "approved",
            "start_date": "2025-06-05",
            "end_date": "2025-06-20",
            "host_country": "POL",
            "organizations": ["NATO", "EU"],
            "threat_focus": ["deterrence"],
            "series": "",
            "sensitivity": "restricted",
            "budget_usd": "",
            "point_of_contact": "",
        },
        choices=choices,
    )
    assert form.is_valid(), form.errors
    values = form.service_values()
    assert values["title"] == "BALTOPS 2025"
    assert values["host_country"] == "POL" and values["series"] is None
    assert values["organizations"] == ["NATO", "EU"]
    assert values["start_date"] == datetime.date(2025, 6, 5)
    assert values["budget_usd"] is None
    assert values["point_of_contact"] is None
    # No owner unit chosen: left out, so the service gives the planner's own unit (rules.default_owner_unit).
    assert set(values) == set(services.ENGAGEMENT_FIELDS) - {"owner_unit"} | {"organizations", "extensions"}


def test_editing_offers_the_current_status_and_the_allowed_moves_only(choices):
    moves = rules.status_moves(
        current="in_progress",
        has_report=False,
        start_date=datetime.date(2025, 1, 1),
        end_date=datetime.date(2025, 1, 2),
    )
    form = EngagementForm(choices=choices, status_choices=["in_progress", *moves])
    assert [value for value, _ in form.fields["status"].choices] == ["in_progress", "completed", "cancelled"]
    assert [value for value, _ in EngagementForm(choices=choices).fields["status"].choices] == [
        "planned",
        "approved",
        "in_progress",
        "completed",
        "cancelled",
    ]


def test_formset_skips_blank_rows_drops_removed_ones_and_flags_repeats(choices):
    formset = participant_formset(
        rows_data(
            [
                {"partner": "USA", "role": "lead", "personnel": "600"},
                {"partner": "", "role": "participant", "personnel": "0"},  # untouched spare row
                {"partner": "FRA", "role": "participant", "personnel": "20", "DELETE": "on"},
                {"partner": "GBR", "role": "observer", "personnel": ""},
            ]
        ),
        choices=choices,
    )
    assert formset.is_valid(), formset.errors
    assert formset.service_rows() == [
        {"partner": "USA", "role": "lead", "personnel": 600},
        {"partner": "GBR", "role": "observer", "personnel": 0},
    ]
    repeated = participant_formset(
        rows_data([{"partner": "USA", "role": "lead"}, {"partner": "FRA"}, {"partner": "USA", "role": "trainer"}]),
        choices=choices,
    )
    assert repeated.is_valid()  # parsed; the service judges the repeat and it lands on the row
    service_refusal(repeated, choices)
    assert repeated.forms[2].errors["partner"] == ["United States is listed twice (already listed in row 1)."]
    assert not repeated.forms[0].errors and not repeated.forms[1].errors


def service_refusal(formset, choices):
    form = EngagementForm({}, choices=choices)
    form.is_valid()
    with pytest.raises(ValidationError) as refused:
        services.engagement_create_clean(participants=formset.service_rows(), **form.service_values())
    apply_service_errors(refused.value, form=form, formset=formset, only_new=True)


def test_a_removed_repeat_is_no_repeat(choices):
    formset = participant_formset(
        rows_data([{"partner": "USA", "role": "lead"}, {"partner": "USA", "DELETE": "on"}]), choices=choices
    )
    assert formset.is_valid()
    assert [row["partner"] for row in formset.service_rows()] == ["USA"]


@pytest.mark.parametrize(
    "row, field, message",
    [
        ({"partner": "USA", "personnel": "-1"}, "personnel", "Personnel cannot be negative."),
        ({"partner": "USA", "personnel": "2000000"}, "personnel", "At most 1,000,000 personnel."),
        ({"partner": "USA", "personnel": "1.5"}, "personnel", "Enter a whole number of personnel."),
        ({"partner": "ATL", "personnel": "1"}, "partner", "Select a valid choice."),
        ({"partner": "USA", "role": "king"}, "role", "Select a valid choice."),
        ({"partner": "", "role": "lead"}, "partner", "This field is required."),
    ],
)
def test_participant_row_errors_stay_on_their_row(choices, row, field, message):
    formset = participant_formset(rows_data([{"partner": "FRA"}, row]), choices=choices)
    if formset.is_valid():  # parsed: the limit is the service's, whose refusal lands on the row
        service_refusal(formset, choices)
    assert not formset.forms[0].errors
    assert any(error.startswith(message) for error in formset.forms[1].errors[field])


def test_service_errors_land_beside_their_fields(choices):
    form = EngagementForm({}, choices=choices)
    formset = participant_formset(rows_data([]), choices=choices)
    form.is_valid()
    formset.is_valid()
    error = ValidationError(
        {
            "end_date": ["The end date cannot be before the start date (2025-02-10)."],
            "participants": ["Participant 1, partner: Unknown country code “ZZZ”."],
            "reference": ["Reference ENG-2025-000001 is already used."],
            "version": ["Someone else saved this engagement."],
        }
    )
    apply_service_errors(error, form=form, formset=formset)
    assert "The end date cannot be before the start date (2025-02-10)." in form.errors["end_date"]
    assert formset.non_form_errors() == ["Participant 1, partner: Unknown country code “ZZZ”."]
    assert form.non_field_errors() == [
        "Reference ENG-2025-000001 is already used.",
        "Someone else saved this engagement.",
    ]


def test_only_new_keeps_the_forms_own_message(choices):
    form = EngagementForm({"title": "x", "start_date": "2025-02-30"}, choices=choices)
    assert not form.is_valid()
    apply_service_errors(
        ValidationError({"start_date": ["This field is required."], "title": ["Too short."]}), form=form, only_new=True
    )
    assert form.errors["start_date"] == ["Enter a real date as YYYY-MM-DD, for example 2025-03-07."]
    assert form.errors["title"] == ["Too short."]


def test_a_message_without_field_goes_above_the_form(choices):
    form = AfterActionForm({})
    form.is_valid()
    apply_service_errors(ValidationError("This engagement has been deleted."), form=form)
    assert form.non_field_errors() == ["This engagement has been deleted."]


def test_after_action_form_lets_the_service_judge_the_scale():
    form = AfterActionForm(
        {"summary": "ok", "interoperability_rating": "9", "capacity_rating": "3", "trust_rating": "0"}
    )
    assert form.is_valid()  # parsed; the 1-5 rule is the service's, with its own message
    assert form.service_values()["interoperability_rating"] == 9
    rendered = str(form["trust_rating"])
    assert rendered.count('type="radio"') == 5


def test_after_action_service_errors_map_to_rating_fields(planner, reference_data):
    engagement = services.engagement_create(
        created_by=planner,
        title="T",
        engagement_type="exercise",
        domain="land",
        status="completed",
        start_date=datetime.date(2025, 1, 1),
        end_date=datetime.date(2025, 1, 2),
        host_country="FRA",
    ).engagement
    form = AfterActionForm(
        {"summary": "ok", "interoperability_rating": "9", "capacity_rating": "3", "trust_rating": "3"}
    )
    assert form.is_valid()
    with pytest.raises(ValidationError) as refused:
        services.after_action_submit(engagement=engagement, user=planner, **form.service_values())
    apply_service_errors(refused.value, form=form)
    assert form.errors["interoperability_rating"] == ["Ratings go from 1 (poor) to 5 (excellent)."]
