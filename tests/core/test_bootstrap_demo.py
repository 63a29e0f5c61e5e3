import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from core.models import ApiToken
from core.roles import role_of

pytestmark = pytest.mark.django_db


def test_demo_users_exist_in_their_groups_and_can_log_in(settings):
    settings.DEBUG = True
    call_command("bootstrap_demo", verbosity=0)
    expected = {
        "planner": "planner",
        "analyst": "analyst",
        "viewer": "viewer",
        "admin": "admin",
        "integrator": "planner",
    }
    for username, role in expected.items():
        user = authenticate(username=username, password=f"{username}-demo-2026")
        assert user is not None, username
        assert role_of(user) == role
    assert get_user_model().objects.get(username="admin").is_staff
    # No token is made in advance: a token's secret is shown once, to whoever asks for it.
    assert not ApiToken.objects.exists()


def test_bootstrap_twice_changes_nothing(settings):
    settings.DEBUG = True
    call_command("bootstrap_demo", verbosity=0)
    users = list(get_user_model().objects.order_by("username").values_list("username", "password"))
    call_command("bootstrap_demo", verbosity=0)
    assert list(get_user_model().objects.order_by("username").values_list("username", "password")) == users


def test_no_demo_accounts_in_production(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only with DJANGO_DEBUG=1"):
        call_command("bootstrap_demo", verbosity=0)
    assert not get_user_model().objects.filter(username="planner").exists()
    call_command("bootstrap_demo", "--no-demo", verbosity=0)
    assert not get_user_model().objects.exists()
