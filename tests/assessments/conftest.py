import datetime

import pytest

from assessments.services import assessment_run_execute, assessment_run_request
from organizations.models import Membership
from tests.assessments.factories import make_engagement

D = datetime.date


@pytest.fixture
def ghana_senegal_drop(reference_data):
    """Ghana and Senegal fall from all-5 ratings in 2024-Q3 to all-1 ratings in 2024-Q4 (two alerts);
    France, Germany and Italy meet in 2024-Q4. Returns the run that scored both quarters."""
    make_engagement(["GHA", "SEN"], D(2024, 9, 1), D(2024, 9, 30), ratings=(5, 5, 5))
    make_engagement(["GHA", "SEN"], D(2024, 12, 1), D(2024, 12, 31), ratings=(1, 1, 1))
    make_engagement(["FRA", "DEU", "ITA"], D(2024, 11, 1), D(2024, 11, 3))
    return assessment_run_execute(run_id=assessment_run_request(periods=["2024-Q3", "2024-Q4"], enqueue=False).pk)


@pytest.fixture
def world(reference_data):
    """Engagements of every kind the counts tell apart, and memberships that begin, end or are suspended
    inside the quarters, so that a partner counts for an organization on some start dates and not others."""
    ghana = Membership.objects.get(partner__iso3="GHA", organization__acronym="ECOWAS")
    ghana.joined, ghana.left = D(2024, 9, 15), None  # joins mid-September
    ghana.save()
    senegal = Membership.objects.get(partner__iso3="SEN", organization__acronym="ECOWAS")
    senegal.joined, senegal.left = None, D(2024, 11, 1)  # leaves on 1 November
    senegal.save()
    Membership.objects.filter(partner__iso3="NGA", organization__acronym="ECOWAS").update(status="suspended")
    made = [
        make_engagement(["GHA", "SEN"], D(2024, 9, 1), D(2024, 9, 30)),  # Ghana not yet in ECOWAS
        make_engagement(["GHA", "SEN", "NGA"], D(2024, 10, 1), D(2024, 10, 3), engagement_type="training_exchange"),
        make_engagement(["SEN"], D(2024, 11, 1), D(2024, 11, 2)),  # Senegal left that day
        make_engagement(["KEN", "TZA"], D(2024, 11, 5), D(2024, 11, 9), sensitivity="restricted"),
        make_engagement(["FRA", "DEU"], D(2024, 11, 6), D(2024, 11, 7), sensitivity="restricted"),
        make_engagement(["FRA"], D(2024, 12, 1), D(2024, 12, 2), status="planned"),
        make_engagement(["NGA"], D(2024, 12, 1), D(2024, 12, 2), status="cancelled"),
        make_engagement([], D(2024, 12, 5), D(2024, 12, 6), engagement_type="advisory_mission"),
        make_engagement(["MAR", "USA"], D(2023, 2, 1), D(2023, 2, 3)),
        make_engagement(["USA"], D(2025, 2, 1), D(2025, 2, 3)),
    ]
    deleted = make_engagement(["MLI"], D(2024, 12, 3), D(2024, 12, 4))
    deleted.deleted_at = datetime.datetime(2024, 12, 4, tzinfo=datetime.UTC)
    deleted.save(update_fields=["deleted_at"])
    return made
