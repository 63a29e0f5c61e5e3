import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api_for(reference_data):
    def _client(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return _client
