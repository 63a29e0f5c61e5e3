"""The alerts workspace (/assessments/alerts/): the overview's filters, pages, and acknowledging many at once
through the one acknowledge rule (services.alerts_acknowledge)."""

import pytest
from django.urls import reverse

from assessments.models import Alert
from assessments.services import scoring_model_active
from partners.models import PartnerNation

pytestmark = pytest.mark.django_db

URL = "/assessments/alerts/"


def listed(response) -> set[str]:
    """The ISO codes of the partners whose alerts the page lists."""
    page = response.content.decode()
    return {a.partner.iso3 for a in Alert.objects.select_related("partner") if f'data-alert="{a.pk}"' in page}


def test_everyone_reads_the_alerts_with_a_link_to_the_explanation(ghana_senegal_drop, viewer, client_for):
    response = client_for(viewer).get(URL)
    assert response.status_code == 200 and listed(response) == {"GHA", "SEN"}
    page = response.content.decode()
    assert "/assessments/partners/GHA/?period=2024-Q4#explanation" in page
    assert 'name="alerts"' not in page and "acknowledge-form" not in page  # viewers may not acknowledge


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"region": "Africa"}, {"GHA", "SEN"}),
        ({"region": "Europe"}, set()),
        ({"subregion": "Sub-Saharan Africa"}, {"GHA", "SEN"}),
        ({"intermediate_region": "Western Africa"}, {"GHA", "SEN"}),
        ({"organization": "ECOWAS"}, {"GHA", "SEN"}),
        ({"organization": "NATO"}, set()),
        ({"period": "2024-Q4"}, {"GHA", "SEN"}),
        ({"period": "2024-Q3"}, set()),
        ({"acknowledged": "no"}, {"GHA", "SEN"}),
        ({"acknowledged": "yes"}, set()),
    ],
)
def test_filters(ghana_senegal_drop, viewer, client_for, params, expected):
    response = client_for(viewer).get(URL, params)
    assert response.status_code == 200 and listed(response) == expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"period": "2024-Q9"}, "is not a quarter"),
        ({"region": "Atlantis"}, "Unknown region"),
        ({"acknowledged": "maybe"}, "Choose yes, no or nothing."),
    ],
)
def test_a_bad_filter_is_a_400_with_its_message(ghana_senegal_drop, viewer, client_for, params, message):
    response = client_for(viewer).get(URL, params)
    assert response.status_code == 400 and message in response.content.decode()


def test_an_analyst_acknowledges_many_with_one_note(ghana_senegal_drop, analyst, client_for):
    client = client_for(analyst)
    ids = list(Alert.objects.values_list("pk", flat=True))
    response = client.post(f"{URL}?region=Africa", {"alerts": ids, "note": "Elections; expected."})
    assert response.status_code == 302 and response["Location"] == f"{URL}?region=Africa"
    rows = list(Alert.objects.select_related("acknowledged_by"))
    assert {(a.acknowledged_by.username, a.note) for a in rows} == {(analyst.username, "Elections; expected.")}
    assert all(a.acknowledged_at for a in rows)
    page = client.get(URL, {"acknowledged": "yes"})
    assert listed(page) == {"GHA", "SEN"} and f"Acknowledged by {analyst.username} on" in page.content.decode()
    assert listed(client.get(URL, {"acknowledged": "no"})) == set()


def test_acknowledging_again_keeps_the_first_acknowledgement(ghana_senegal_drop, analyst, admin_user_role, client_for):
    gha = Alert.objects.get(partner__iso3="GHA")
    client_for(analyst).post(URL, {"alerts": [gha.pk], "note": "first"})
    first = Alert.objects.get(pk=gha.pk)
    sen = Alert.objects.get(partner__iso3="SEN")
    client_for(admin_user_role).post(URL, {"alerts": [gha.pk, sen.pk], "note": "second"})
    again = Alert.objects.get(pk=gha.pk)
    assert (again.acknowledged_by, again.acknowledged_at, again.note) == (analyst, first.acknowledged_at, "first")
    assert Alert.objects.get(pk=sen.pk).note == "second"


@pytest.mark.parametrize("role", ["viewer", "planner"])
def test_viewers_and_planners_may_not_acknowledge(ghana_senegal_drop, make_user, client_for, role):
    user = make_user(username=f"a-{role}", role=role)
    response = client_for(user).post(URL, {"alerts": list(Alert.objects.values_list("pk", flat=True))})
    assert response.status_code == 403
    assert not Alert.objects.filter(acknowledged_at__isnull=False).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"note": "nothing ticked"}, "Tick at least one alert to acknowledge."),
        ({"alerts": ["999999"]}, "does not exist"),
        ({"alerts": ["abc"]}, "is not an alert number"),
        ({"alerts": ["GHA"], "note": "x" * 501}, "at most 500 characters"),
    ],
)
def test_bad_acknowledgements_are_a_400_beside_the_field(ghana_senegal_drop, analyst, client_for, data, message):
    if data.get("alerts") == ["GHA"]:
        data = {**data, "alerts": [Alert.objects.get(partner__iso3="GHA").pk]}
    response = client_for(analyst).post(URL, data)
    assert response.status_code == 400 and message.lower() in response.content.decode().lower()
    assert not Alert.objects.filter(acknowledged_at__isnull=False).exists()


def many_alerts(n: int) -> None:
    model = scoring_model_active()
    partners = PartnerNation.objects.order_by("iso3")[:n]
    Alert.objects.bulk_create(
        Alert(
            partner=p, period="2024-10-01", scoring_model=model, overall=40.0, previous_overall=55.0, delta_overall=-15
        )
        for p in partners
    )


@pytest.mark.parametrize("n", [3, 60])
def test_queries_are_constant_and_the_list_is_paginated(
    reference_data, analyst, client_for, django_assert_max_num_queries, n
):
    many_alerts(n)
    client = client_for(analyst)
    client.get(URL)  # the session and permissions are cached after the first request
    # 14: the page's 13 and the unread count of the inbox in the header (one COUNT on every page).
    with django_assert_max_num_queries(14):
        response = client.get(URL, {"organization": "AU", "acknowledged": "no"})
    assert response.status_code == 200  # (no scores here, so no partner was a member by the score's rule)
    with django_assert_max_num_queries(14):
        response = client.get(URL)
    assert response.content.decode().count('data-alert="') == min(n, 50)
    if n > 50:
        assert client.get(URL, {"page": 2}).content.decode().count('data-alert="') == n - 50


def test_the_overview_links_to_the_workspace(ghana_senegal_drop, viewer, client_for):
    page = client_for(viewer).get("/assessments/", {"region": "Africa"}).content.decode()
    assert f"{reverse('assessments:alerts')}?acknowledged=no&amp;region=Africa" in page
