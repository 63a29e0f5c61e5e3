"""Writes of the core app: the roles' permissions, the worker heartbeat, and the demo accounts."""

from __future__ import annotations

import fnmatch

from django.apps import apps as global_apps
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from core.roles import ADMIN, ANALYST, PLANNER, ROLE_PERMISSIONS, VIEWER


def _matches(label: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(label, pattern) for pattern in patterns)


@transaction.atomic
def roles_sync(*, using: str = "default") -> dict[str, int]:
    """Create the role groups and give each exactly the permissions of the roles table.

    Returns the number of permissions per group. Safe to run any number of times.
    """
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    permissions = list(Permission.objects.using(using).select_related("content_type"))
    labelled = [(f"{p.content_type.app_label}.{p.codename}", p) for p in permissions]
    counts = {}
    for role, rule in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.using(using).get_or_create(name=role)
        wanted = [
            p for label, p in labelled if _matches(label, rule["include"]) and not _matches(label, rule["exclude"])
        ]
        group.permissions.set(wanted)
        counts[role] = len(wanted)
    return counts


def worker_heartbeat_record(*, worker: str) -> None:
    """Record that a Celery worker ran a task just now (shown by /healthz)."""
    from core.models import WorkerHeartbeat

    WorkerHeartbeat.objects.update_or_create(worker=worker[:200], defaults={"last_seen": timezone.now()})


DEMO_USERS = [
    # username, group, staff (admin site access)
    ("planner", PLANNER, False),
    ("analyst", ANALYST, False),
    ("viewer", VIEWER, False),
    ("admin", ADMIN, True),
    ("integrator", PLANNER, False),
]
DEMO_PASSWORD_SUFFIX = "-demo-2026"  # noqa: S105 (demo accounts exist only in debug mode)


def demo_password(username: str) -> str:
    return f"{username}{DEMO_PASSWORD_SUFFIX}"


@transaction.atomic
def demo_users_ensure() -> list[str]:
    """Create the demo accounts (one per role, plus an API integrator) if missing. Debug mode only."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    if not settings.DEBUG:
        raise RuntimeError("Demo accounts are created only with DJANGO_DEBUG=1, never in production.")
    roles_sync()
    user_model = get_user_model()
    created = []
    for username, role, staff in DEMO_USERS:
        user, was_created = user_model.objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.org", "is_staff": staff}
        )
        if was_created:
            user.set_password(demo_password(username))
            user.save(update_fields=["password"])
            created.append(username)
        user.groups.add(Group.objects.get(name=role))
        if username == "integrator":
            Token.objects.get_or_create(user=user)
    return created
