import datetime

import pytest

from assessments.services import assessment_run_execute, assessment_run_request
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
