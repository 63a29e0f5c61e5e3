import pytest


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
