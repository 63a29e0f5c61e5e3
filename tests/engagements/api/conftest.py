import datetime

import pytest

from engagements import services
from tests.engagements.factories import ExerciseSeriesFactory, approve

D = datetime.date


@pytest.fixture
def engagement_payload():
    def _payload(**overrides):
        payload = {
            "title": "African Lion 2026",
            "engagement_type": "exercise",
            "domain": "joint",
            "start_date": "2026-05-04",
            "end_date": "2026-05-22",
            "host_country": "MAR",
            "location_name": "Tan-Tan",
            "latitude": 28.43799,
            "longitude": -11.10321,
            "threat_focus": ["terrorism", "deterrence"],
            "budget_usd": "1500000.00",
            "participants": [
                {"partner": "MAR", "role": "host", "personnel": 3500},
                {"partner": "USA", "role": "lead", "personnel": 4200},
                {"partner": "SEN", "role": "participant", "personnel": 300},
            ],
            "organizations": ["AU"],
        }
        payload.update(overrides)
        return payload

    return _payload


@pytest.fixture
def three(planner, reference_data):
    """Three engagements that differ in every filtered field."""
    lion = ExerciseSeriesFactory(slug="african-lion", name="African Lion")
    make = services.engagement_create
    return {
        "lion": make(
            created_by=planner,
            title="African Lion 2025",
            engagement_type="exercise",
            domain="joint",
            status="completed",
            start_date=D(2025, 5, 4),
            end_date=D(2025, 5, 22),
            host_country="MAR",
            location_name="Tan-Tan",
            series=lion,
            participants=[{"partner": "MAR"}, {"partner": "USA"}],
            organizations=["AU"],
        ).engagement,
        "sentinel": make(
            created_by=planner,
            title="Baltic Sentinel",
            engagement_type="multilateral_drill",
            domain="maritime",
            status="planned",
            start_date=D(2025, 9, 1),
            end_date=D(2025, 9, 9),
            host_country="EST",
            description="Mine countermeasures off Tallinn",
            participants=[{"partner": "EST"}, {"partner": "FIN"}],
            organizations=["NATO", "EU"],
        ).engagement,
        "advisers": approve(
            make(
                created_by=planner,
                title="Coast guard advisers",
                engagement_type="advisory_mission",
                domain="land",
                status="planned",
                start_date=D(2024, 1, 15),
                end_date=D(2024, 3, 1),
                host_country="SEN",
                participants=[{"partner": "SEN"}, {"partner": "FRA"}],
            ).engagement
        ),
    }
