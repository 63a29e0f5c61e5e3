"""The cooperation network on a small hand-built world: selector, snapshots, page, table, CSV and API.

Western Africa, window 2023-Q1 .. 2024-Q4 (eight quarters):

- GHA, SEN, CIV together in February 2024; GHA and SEN again in August 2024 and once long before, in
  2019 (so GHA-SEN is not a first-time pairing; GHA-CIV is).
- SEN and CIV met on 2022-12-31, the day before the window: outside it, and it makes SEN-CIV not first-time.
- CIV and NGA start on 2023-01-01, the window's first day (counted, first-time); SEN and NGA on 2024-12-31,
  its last day (counted); SEN and CIV again on 2025-01-01, the day after (not counted).
- GHA and NGA: a restricted exercise in May 2024 and a restricted one in 2022, plus an unrestricted one in
  November 2024. An analyst sees weight 2, not first-time (2022); a viewer sees weight 1, first-time.
- Cancelled and planned GHA-SEN engagements, a deleted one, and GHA with France (outside the region) are
  not counted.
"""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assessments.models import PairQuarter
from assessments.network import cooperation_network, network_graph, network_request_clean
from assessments.periods import Quarter, quarter_range
from assessments.services import assessment_run_execute, assessment_run_request
from tests.assessments.factories import make_engagement

pytestmark = pytest.mark.django_db

D = datetime.date
PAGE = "/assessments/network/"
API = "/api/v1/assessments/network/"
WINDOW = {"intermediate_region": "Western Africa", "first": "2023-Q1", "last": "2024-Q4"}
QUERY = "intermediate_region=Western+Africa&from=2023-Q1&to=2024-Q4"

# (partner, other) -> (shared engagements, first shared quarter, first-time), as each role sees them.
ANALYST_EDGES = {
    ("GHA", "SEN"): (2, "2019-Q2", False),
    ("GHA", "NGA"): (2, "2022-Q2", False),
    ("CIV", "GHA"): (1, "2024-Q1", True),
    ("CIV", "SEN"): (1, "2022-Q4", False),
    ("CIV", "NGA"): (1, "2023-Q1", True),
    ("NGA", "SEN"): (1, "2024-Q4", True),
}
VIEWER_EDGES = {**ANALYST_EDGES, ("GHA", "NGA"): (1, "2024-Q4", True)}


def run(periods):
    return assessment_run_execute(run_id=assessment_run_request(periods=periods, enqueue=False).pk)


@pytest.fixture
def world(reference_data):
    made = {
        "trio": make_engagement(["GHA", "SEN", "CIV"], D(2024, 2, 1), D(2024, 2, 10)),
        "gha_sen": make_engagement(["GHA", "SEN"], D(2024, 8, 1), D(2024, 8, 5), status="in_progress"),
        "long_ago": make_engagement(["GHA", "SEN"], D(2019, 5, 1), D(2019, 5, 2)),
        "eve": make_engagement(["SEN", "CIV"], D(2022, 12, 31), D(2023, 1, 3)),
        "first_day": make_engagement(["CIV", "NGA"], D(2023, 1, 1), D(2023, 1, 5)),
        "last_day": make_engagement(["SEN", "NGA"], D(2024, 12, 31), D(2025, 1, 2)),
        "after": make_engagement(["SEN", "CIV"], D(2025, 1, 1), D(2025, 1, 2)),
        "restricted": make_engagement(["GHA", "NGA"], D(2024, 5, 1), D(2024, 5, 3), sensitivity="restricted"),
        "restricted_before": make_engagement(["GHA", "NGA"], D(2022, 5, 1), D(2022, 5, 3), sensitivity="restricted"),
        "open": make_engagement(["GHA", "NGA"], D(2024, 11, 1), D(2024, 11, 3)),
        "cancelled": make_engagement(["GHA", "SEN"], D(2024, 3, 1), D(2024, 3, 2), status="cancelled"),
        "planned": make_engagement(["GHA", "SEN"], D(2024, 3, 5), D(2024, 3, 6), status="planned"),
        "deleted": make_engagement(["GHA", "SEN"], D(2024, 4, 1), D(2024, 4, 2), deleted_at=timezone.now()),
        "france": make_engagement(["GHA", "FRA"], D(2024, 6, 1), D(2024, 6, 2)),
    }
    return made


def edges_of(network) -> dict:
    """(partner, other) by name -> (weight, first shared quarter, first-time)."""
    return {
        (e.partner.iso3, e.other.iso3): (e.engagements, str(e.first_quarter), e.first_time) for e in network["edges"]
    }


def network_for(user, **given):
    return cooperation_network(user=user, request=network_request_clean(**{**WINDOW, **given}))


# Every quarter counted by a run, none (all paired live), or some (the rest live): the same network.
COUNTED = {
    "all": [str(q) for q in quarter_range(Quarter(2019, 1), Quarter(2025, 1))],
    "none": [],
    "some": ["2022-Q2", "2023-Q1", "2024-Q1", "2024-Q3"],
}


@pytest.mark.parametrize("counted", COUNTED)
def test_edges_weights_and_first_time_pairings(world, analyst, viewer, counted):
    if COUNTED[counted]:
        run(COUNTED[counted])
    network = network_for(analyst)
    assert edges_of(network) == ANALYST_EDGES
    assert edges_of(network_for(viewer)) == VIEWER_EDGES
    # Nodes: partners with a shared engagement, by name; France is outside the region.
    assert [n.partner.iso3 for n in network["nodes"]] == ["CIV", "GHA", "NGA", "SEN"]
    ghana = next(n for n in network["nodes"] if n.partner.iso3 == "GHA")
    assert (ghana.partners, ghana.engagements, ghana.first_time) == (3, 2 + 2 + 1, 1)
    assert network["first_time_count"] == 3
    assert [e.engagements for e in network["edges"]] == sorted((e.engagements for e in network["edges"]), reverse=True)
    live = {str(q) for q in network["live_quarters"]}
    assert live == {str(q) for q in network["quarters"]} - set(COUNTED[counted])


def test_runs_store_pairs_once_each_with_restricted_apart(world):
    run(["2024-Q2", "2024-Q4"])

    def stored():
        return {
            (frozenset((r.partner.iso3, r.other.iso3)), str(Quarter.of(r.period)), r.restricted, r.engagements)
            for r in PairQuarter.objects.select_related("partner", "other")
        }

    # The table holds every pair, in the region or not (France); planned, cancelled and deleted ones left out.
    assert stored() == {
        (frozenset(("GHA", "NGA")), "2024-Q2", True, 1),
        (frozenset(("GHA", "FRA")), "2024-Q2", False, 1),
        (frozenset(("GHA", "NGA")), "2024-Q4", False, 1),
        (frozenset(("SEN", "NGA")), "2024-Q4", False, 1),
    }
    assert all(r.partner_id < r.other_id for r in PairQuarter.objects.all())
    # A later run of a quarter replaces its rows with today's counts.
    make_engagement(["SEN", "NGA"], D(2024, 10, 5), D(2024, 10, 6))
    run(["2024-Q4"])
    assert (frozenset(("SEN", "NGA")), "2024-Q4", False, 2) in stored()
    assert len(stored()) == 4


def test_window_boundaries(world, analyst):
    # One quarter: only the engagements starting in 2024-Q4 (SEN-NGA on its last day, GHA-NGA).
    network = network_for(analyst, first="2024-Q4", last="2024-Q4")
    assert edges_of(network) == {("GHA", "NGA"): (1, "2022-Q2", False), ("NGA", "SEN"): (1, "2024-Q4", True)}
    # From 2025-Q1: the SEN-CIV engagement of 2025-01-01, not first-time (they met in 2022 and 2024).
    network = network_for(analyst, first="2025-Q1", last="2025-Q1")
    assert edges_of(network) == {("CIV", "SEN"): (1, "2022-Q4", False)}


def test_organization_members_on_each_quarter_end(reference_data, analyst):
    """Burkina Faso was a (suspended) ECOWAS member until 2025-01-29: its 2024-Q4 engagement with Ghana
    counts in the ECOWAS network, its 2025-Q1 one does not."""
    make_engagement(["GHA", "BFA"], D(2024, 11, 1), D(2024, 11, 2))
    make_engagement(["GHA", "BFA"], D(2025, 2, 10), D(2025, 2, 12))
    make_engagement(["GHA", "FRA"], D(2024, 11, 1), D(2024, 11, 2))
    network = cooperation_network(
        user=analyst, request=network_request_clean(organization="ecowas", first="2024-Q4", last="2025-Q1")
    )
    assert network["scope"].organization == "ECOWAS"
    assert edges_of(network) == {("BFA", "GHA"): (1, "2024-Q4", True)}


def test_graph_elements(world, analyst):
    graph = network_graph(network_for(analyst))
    assert {n["id"] for n in graph["nodes"]} == {"GHA", "SEN", "CIV", "NGA"}
    edges = {frozenset((e["source"], e["target"])): (e["engagements"], e["first_time"]) for e in graph["edges"]}
    assert edges[frozenset(("GHA", "SEN"))] == (2, False)
    assert edges[frozenset(("CIV", "NGA"))] == (1, True)


# --- the request's rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"region": "Atlantis"}, "region"),
        ({"organization": "NOPE"}, "organization"),
        ({}, "region"),
        ({"region": "Africa", "first": "2024-Q9"}, "from"),
        ({"region": "Africa", "last": "soon"}, "to"),
        ({"region": "Africa", "first": "2024-Q4", "last": "2024-Q1"}, "from"),
        ({"region": "Africa", "first": "2010-Q1", "last": "2024-Q1"}, "from"),
    ],
)
def test_bad_requests_name_the_field(reference_data, given, field):
    with pytest.raises(ValidationError) as caught:
        network_request_clean(**given)
    assert field in caught.value.message_dict


def test_default_window_is_eight_quarters_ending_with_the_latest_finished_scored_quarter(world):
    run(["2024-Q3", "2024-Q4"])
    request = network_request_clean(region="africa")
    assert request.scope.region == "Africa"
    assert (str(request.first), str(request.last)) == ("2023-Q1", "2024-Q4")


# --- page, CSV and API --------------------------------------------------------------------------------------


def test_page_draws_the_network_and_its_table(world, client_for, analyst, django_assert_max_num_queries):
    run(COUNTED["some"])
    client = client_for(analyst)
    with django_assert_max_num_queries(20):
        response = client.get(f"{PAGE}?{QUERY}")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="network-graph"' in body and "vendor/cytoscape/cytoscape.min.js" in body
    graph = response.context["graph"]
    assert len(graph["nodes"]) == 4 and len(graph["edges"]) == 6
    # Heaviest first, then by name (Côte d'Ivoire, Ghana, Nigeria, Senegal).
    table = [(e.partner.iso3, e.other.iso3, e.engagements) for e in response.context["network"]["edges"]]
    assert table == [
        ("GHA", "NGA", 2),
        ("GHA", "SEN", 2),
        ("CIV", "GHA", 1),
        ("CIV", "NGA", 1),
        ("CIV", "SEN", 1),
        ("NGA", "SEN", 1),
    ]
    assert body.count('data-edge="') == 6


def test_page_for_a_viewer_leaves_restricted_out(world, client_for, viewer):
    response = client_for(viewer).get(f"{PAGE}?{QUERY}")
    edges = {(e.partner.iso3, e.other.iso3): e.engagements for e in response.context["network"]["edges"]}
    assert edges[("GHA", "NGA")] == 1


def test_page_without_scope_shows_the_form(reference_data, client_for, viewer):
    response = client_for(viewer).get(PAGE)
    assert response.status_code == 200
    assert "network" not in response.context or response.context["network"] is None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("region=Atlantis", "Atlantis"),
        ("region=Africa&from=2024-Q4&to=2024-Q1", "comes after"),
        ("region=Africa&from=2024-Q7", "2024-Q7"),
        ("from=2024-Q1", "Choose a region"),
    ],
)
def test_page_bad_input_is_a_400_beside_the_field(reference_data, client_for, viewer, query, message):
    response = client_for(viewer).get(f"{PAGE}?{query}")
    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode()
    assert message in response.content.decode()


def test_csv_export(world, client_for, analyst):
    response = client_for(analyst).get(f"{PAGE}?{QUERY}&export=csv")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="network-western-africa-2023-Q1-2024-Q4.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    found = {
        tuple(sorted((r["partner"], r["other"]))): (
            int(r["shared_engagements"]),
            r["first_shared_quarter"],
            r["first_time"],
        )
        for r in rows
    }
    assert found == {tuple(sorted(k)): (n, q, "yes" if f else "no") for k, (n, q, f) in ANALYST_EDGES.items()}
    nodes = client_for(analyst).get(f"{PAGE}?{QUERY}&export=csv&table=nodes")
    rows = list(csv.DictReader(io.StringIO(b"".join(nodes.streaming_content).decode("utf-8-sig"))))
    assert {r["partner"]: (r["partners"], r["shared_engagements"], r["first_time_pairings"]) for r in rows} == {
        "CIV": ("3", "3", "2"),
        "GHA": ("3", "5", "1"),
        "NGA": ("3", "4", "2"),
        "SEN": ("3", "4", "1"),
    }


def test_api_answers_the_same_network(world, api_for, analyst, viewer, django_assert_max_num_queries):
    run(COUNTED["all"])
    client = api_for(analyst)
    with django_assert_max_num_queries(15):
        response = client.get(f"{API}?{QUERY}")
    assert response.status_code == 200
    data = response.json()
    assert data["from"] == "2023-Q1" and data["to"] == "2024-Q4"
    assert data["scope"] == {"region": "", "subregion": "", "intermediate_region": "Western Africa", "organization": ""}
    assert {n["partner"] for n in data["nodes"]} == {"GHA", "SEN", "CIV", "NGA"}
    got = {
        tuple(sorted((e["partner"], e["other"]))): (e["shared_engagements"], e["first_shared_quarter"], e["first_time"])
        for e in data["edges"]
    }
    assert got == {tuple(sorted(k)): v for k, v in ANALYST_EDGES.items()}
    viewed = api_for(viewer).get(f"{API}?{QUERY}").json()
    gha_nga = next(e for e in viewed["edges"] if {e["partner"], e["other"]} == {"GHA", "NGA"})
    assert (gha_nga["shared_engagements"], gha_nga["first_time"]) == (1, True)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("region=Atlantis", "region"),
        ("region=Africa&to=2024-Q0", "to"),
        ("", "region"),
        ("organization=X", "organization"),
    ],
)
def test_api_bad_parameters_are_400_with_the_field(reference_data, api_for, viewer, query, field):
    response = api_for(viewer).get(f"{API}?{query}")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_query_count_does_not_grow_with_engagements(world, analyst):
    """Seven reads (scope ids, oldest engagement, counted quarters, stored pairs, live pairs, history,
    partners) and the user's two permission reads, with 14 engagements or 60."""
    run(COUNTED["some"])
    request = network_request_clean(**WINDOW)

    def queries() -> int:
        user = type(analyst).objects.get(pk=analyst.pk)  # permissions not cached yet
        with CaptureQueriesContext(connection) as captured:
            cooperation_network(user=user, request=request)
        return len(captured)

    before = queries()
    for month in range(1, 12):
        for day in range(1, 5):
            make_engagement(["GHA", "SEN", "CIV", "NGA"], D(2023, month, day), D(2023, month, day + 1))
    assert queries() == before <= 9


# --- links from the dashboards ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "link"),
    [
        ("/assessments/?region=Africa&period=2024-Q4", "/assessments/network/?region=Africa&amp;to=2024-Q4"),
        ("/assessments/", '/assessments/network/"'),
        (
            "/assessments/regions/western-africa/?period=2024-Q4",
            "/assessments/network/?intermediate_region=Western+Africa&amp;to=2024-Q4",
        ),
        (
            "/assessments/organizations/ECOWAS/?period=2024-Q4",
            "/assessments/network/?organization=ECOWAS&amp;to=2024-Q4",
        ),
    ],
)
def test_dashboards_link_to_their_network(world, client_for, viewer, page, link):
    run(["2024-Q4"])
    response = client_for(viewer).get(page)
    assert response.status_code == 200
    assert f'href="{link}' in response.content.decode()


def test_pairs_table_escapes_names(world, client_for, analyst):
    from partners.models import PartnerNation

    PartnerNation.objects.filter(iso3="NGA").update(name="Nigeria <b>&</b>")
    body = client_for(analyst).get(f"{PAGE}?{QUERY}").content.decode()
    assert "Nigeria &lt;b&gt;&amp;&lt;/b&gt;" in body
    assert "Nigeria <b>" not in body
