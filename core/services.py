"""Writes of the core app: the roles' permissions, the worker heartbeat, the demo accounts, API tokens."""

from __future__ import annotations

import fnmatch

from django.apps import apps as global_apps
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.roles import ADMIN, ANALYST, APPROVER, PLANNER, ROLE_PERMISSIONS, VIEWER


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


def default_unit_ensure(*, using: str = "default"):
    """The default unit (settings.DEFAULT_UNIT_CODE), which owns engagements nobody assigned: made by a migration,
    and again after every ``migrate`` (a flush empties the table; the migration does not run again)."""
    from django.db import connections

    from core.models import Unit

    if Unit._meta.db_table not in connections[using].introspection.table_names():
        return None  # a partial migrate that has not reached the units yet
    return Unit.objects.using(using).get_or_create(
        code=settings.DEFAULT_UNIT_CODE, defaults={"name": settings.DEFAULT_UNIT_NAME}
    )[0]


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
    # Four-eyes approval and units (engagements/demo.py puts each in a unit of one of two commands).
    ("approver", APPROVER, False),
    ("planner-eu", PLANNER, False),
    ("approver-eu", APPROVER, False),
]
DEMO_PASSWORD_SUFFIX = "-demo-2026"  # noqa: S105 (demo accounts exist only in debug mode)


def demo_password(username: str) -> str:
    return f"{username}{DEMO_PASSWORD_SUFFIX}"


@transaction.atomic
def demo_users_ensure() -> list[str]:
    """Create the demo accounts (one per role, plus an API integrator) if missing. Debug mode only."""
    from django.contrib.auth import get_user_model

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
    return created


# --- API tokens ------------------------------------------------------------------------------------------


@transaction.atomic
def api_token_create(*, user, name: str = "", expires_in_days: int | None = None):
    """A new API token for ``user``: returns ``(token, secret)``. The secret exists only in this answer;
    the database keeps its hash."""
    from django.contrib.auth import get_user_model

    from core import rules, selectors
    from core.models import ApiToken

    lifetime = rules.api_token_lifetime(expires_in_days)
    # One at a time per user, so two requests cannot both pass the limit.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    rules.api_token_room_check(live_tokens=selectors.api_tokens_of(user=user).count())
    return ApiToken.objects.create(
        user=user,
        expiry=lifetime,
        name=name.strip(),
        password_fingerprint=ApiToken.fingerprint(user),
    )


def api_token_revoke(*, user, token_id: int) -> None:
    """Revoke one of ``user``'s own tokens. Another user's token, or none, is ``ApiToken.DoesNotExist``."""
    from core.models import ApiToken

    deleted, _rows = ApiToken.objects.filter(user=user, pk=token_id).delete()
    if not deleted:
        raise ApiToken.DoesNotExist


def api_tokens_discard(*, user) -> int:
    """Delete every token of ``user`` (after a password change, which already left them dead; this clears
    them away). Returns how many there were."""
    from core.models import ApiToken

    deleted, _rows = ApiToken.objects.filter(user=user).delete()
    return deleted


def api_token_mark_used(*, token) -> None:
    """Record when a token was last used, at most once a minute (not a write per request)."""
    from core.models import ApiToken

    now = timezone.now()
    if token.last_used is None or (now - token.last_used).total_seconds() >= 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        token.last_used = now


# --- organisational units ---------------------------------------------------------------------------------


def _unit_members(usernames, problems: dict) -> list:
    from django.contrib.auth import get_user_model

    wanted = [str(name).strip() for name in usernames or [] if str(name).strip()]
    found = {u.username: u for u in get_user_model().objects.filter(username__in=wanted)}
    unknown = [name for name in wanted if name not in found]
    if unknown:
        problems.setdefault("members", []).append(
            _("Unknown users: %(names)s.") % {"names": ", ".join(sorted(set(unknown)))}
        )
    return list(found.values())


def _unit_parent(code, problems: dict):
    from core.models import Unit

    if code in (None, ""):
        return None
    if isinstance(code, Unit):
        return code
    parent = Unit.objects.filter(code__iexact=str(code).strip()).first()
    if parent is None:
        problems.setdefault("parent", []).append(_("Unknown unit “%(code)s”.") % {"code": code})
    return parent


_UNSET = object()


@transaction.atomic
def unit_save(*, unit=None, code=_UNSET, name=_UNSET, parent=_UNSET, members=None):
    """Create (``unit`` None) or change a unit: its code, name, parent (a unit or its code) and, when given,
    its members (usernames, replacing the list). Every problem at once, by field, nothing half-saved."""
    from django.core.exceptions import ValidationError

    from core.models import Unit
    from core.rules import unit_parent_refusal

    problems: dict[str, list[str]] = {}
    unit = unit or Unit()
    if code is not _UNSET:
        unit.code = str(code or "").strip()
    if name is not _UNSET:
        unit.name = str(name or "").strip()
    if parent is not _UNSET:
        unit.parent = _unit_parent(parent, problems)
        refusal = unit_parent_refusal(unit=unit, parent=unit.parent)
        if refusal:
            problems.setdefault("parent", []).append(refusal)
    people = _unit_members(members, problems) if members is not None else None
    try:
        unit.full_clean(exclude=["parent"] if "parent" in problems else None)
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            problems.setdefault(field, []).extend(messages)
    if unit.code and Unit.objects.filter(code__iexact=unit.code).exclude(pk=unit.pk).exists():
        problems.setdefault("code", []).append(_("A unit with this code already exists."))
    if problems:
        raise ValidationError({field: sorted(set(messages)) for field, messages in problems.items()})
    unit.save()
    if people is not None:
        unit.members.set(people)
    return unit
