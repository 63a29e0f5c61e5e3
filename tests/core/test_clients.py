"""Client addresses (DESIGN "Production"): throttling and the login lock-out key on the real client, as the
DJANGO_TRUSTED_PROXIES proxies report it, never on a header a client writes itself."""

import uuid

import pytest
from django.conf import settings as django_settings
from django.test import Client, RequestFactory, override_settings
from rest_framework.test import APIClient

from core.clients import client_ip

PROXY = "10.0.0.7"


@pytest.mark.parametrize(
    "proxies, remote, forwarded, expected",
    [
        (0, "198.51.100.4", None, "198.51.100.4"),
        (0, "198.51.100.4", "203.0.113.9", "198.51.100.4"),  # no proxy: the header is a client's claim
        (1, PROXY, "203.0.113.9", "203.0.113.9"),
        (1, PROXY, "1.1.1.1, 2.2.2.2, 203.0.113.9", "203.0.113.9"),  # what the client wrote is on the left
        (2, PROXY, "1.1.1.1, 203.0.113.9, 10.0.0.3", "203.0.113.9"),
        (2, PROXY, "203.0.113.9", PROXY),  # fewer hops than proxies: not through all of them
        (1, PROXY, "", PROXY),
        (1, PROXY, "1.1.1.1, not-an-address", PROXY),
        (1, PROXY, "2001:DB8::1", "2001:db8::1"),
    ],
)
def test_the_client_is_the_address_the_outermost_trusted_proxy_saw(settings, proxies, remote, forwarded, expected):
    settings.TRUSTED_PROXIES = proxies
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    assert client_ip(RequestFactory().get("/", **extra)) == expected


def anon_rate(rate: str):
    return override_settings(
        REST_FRAMEWORK={
            **django_settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"anon": rate, "user": "1000/minute"},
        },
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": str(uuid.uuid4())}},
    )


def token_request(client, remote: str, forwarded: str | None = None) -> int:
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post("/api/v1/auth/token/", {"username": "nobody", "password": "wrong"}, **extra).status_code


@pytest.mark.django_db
def test_without_a_proxy_a_forged_forwarded_for_does_not_reset_the_throttle(settings):
    settings.TRUSTED_PROXIES = 0
    client = APIClient()
    with anon_rate("3/minute"):
        answers = [token_request(client, "198.51.100.4", f"203.0.113.{n}") for n in range(5)]
        other_client = token_request(client, "198.51.100.5")
    assert answers == [400, 400, 400, 429, 429]
    assert other_client == 400


@pytest.mark.django_db
def test_behind_one_proxy_clients_are_told_apart_and_cannot_evade(settings):
    settings.TRUSTED_PROXIES = 1
    client = APIClient()
    with anon_rate("2/minute"):
        # Every request comes from the proxy; the proxy appends the address it saw.
        first = [token_request(client, PROXY, f"192.0.2.{n}, 203.0.113.9") for n in range(4)]
        second = [token_request(client, PROXY, "203.0.113.10") for _ in range(2)]
    assert first == [400, 400, 429, 429]
    assert second == [400, 400]


def login(client, username: str, password: str, remote: str, forwarded: str | None = None) -> int:
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra).status_code


@pytest.mark.django_db
def test_without_a_proxy_a_forged_forwarded_for_does_not_dodge_the_lock_out(settings, make_user):
    settings.AXES_ENABLED = True
    settings.TRUSTED_PROXIES = 0
    make_user("target", "planner")
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(client, "target", "wrong", "198.51.100.4", f"203.0.113.{n}") == 200
    assert login(client, "target", "wrong", "198.51.100.4", "203.0.113.200") == 429
    assert login(client, "target", "pw-for-tests-123", "198.51.100.4", "203.0.113.201") == 429
    # The owner, from their own address, still gets in.
    assert login(Client(), "target", "pw-for-tests-123", "198.51.100.99") == 302


@pytest.mark.django_db
def test_behind_one_proxy_an_attacker_locks_only_themselves_out(settings, make_user):
    settings.AXES_ENABLED = True
    settings.TRUSTED_PROXIES = 1
    make_user("target", "planner")
    attacker = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        # Each time a different made-up address in front of the one the proxy appends.
        login(attacker, "target", "wrong", PROXY, f"192.0.2.{n}, 203.0.113.66")
    assert login(attacker, "target", "pw-for-tests-123", PROXY, "192.0.2.250, 203.0.113.66") == 429
    # The real user, behind the same proxy from another address, is not locked out.
    assert login(Client(), "target", "pw-for-tests-123", PROXY, "203.0.113.10") == 302
