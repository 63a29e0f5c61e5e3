"""The roles table of DESIGN.md as data: which permissions each group holds.

Patterns are ``app_label.codename`` with shell wildcards. ``exclude`` removes matches again (history
tables are written by the history machinery, never by a role). Permissions of models that do not exist yet
are simply not matched; every `migrate` re-syncs, so a new model's permissions reach the groups as soon as
its migration runs.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

VIEWER = "viewer"
ANALYST = "analyst"
PLANNER = "planner"
APPROVER = "approver"
ADMIN = "admin"

# Most powerful first: a user's role is the first of these groups they belong to. An approver is often a
# planner too (the group adds the right to approve); one who is only an approver reads like an analyst.
ROLE_ORDER = [ADMIN, PLANNER, APPROVER, ANALYST, VIEWER]

# Moving a planned engagement to approved (four-eyes): the approver group's own permission.
APPROVE_ENGAGEMENT = "engagements.approve_engagement"

READ_RESTRICTED = "engagements.read_restricted_engagement"

_READ = [
    "partners.view_*",
    "organizations.view_*",
    "engagements.view_*",
    "assessments.view_*",
]
_NEVER_BY_ROLE = ["*.add_historical*", "*.change_historical*", "*.delete_historical*"]

ROLE_PERMISSIONS: dict[str, dict[str, list[str]]] = {
    VIEWER: {"include": _READ, "exclude": _NEVER_BY_ROLE},
    ANALYST: {
        "include": _READ
        + [
            READ_RESTRICTED,
            "assessments.add_objective",
            "assessments.change_objective",
            "assessments.delete_objective",
            "assessments.add_indicator",
            "assessments.change_indicator",
            "assessments.delete_indicator",
            "assessments.add_measurement",
            "assessments.change_measurement",
            "assessments.delete_measurement",
            "assessments.add_assessmentrun",
            "assessments.acknowledge_alert",
            # What-if scoring models: analysts draft and preview; activating one is for admins.
            "assessments.add_scoringmodeldraft",
            "assessments.change_scoringmodeldraft",
            "assessments.delete_scoringmodeldraft",
        ],
        "exclude": _NEVER_BY_ROLE,
    },
    PLANNER: {
        "include": _READ
        + [
            READ_RESTRICTED,
            "engagements.add_*",
            "engagements.change_*",
            "engagements.delete_*",
            "engagements.import_engagements",
        ],
        "exclude": _NEVER_BY_ROLE,
    },
    APPROVER: {"include": _READ + [READ_RESTRICTED, APPROVE_ENGAGEMENT], "exclude": _NEVER_BY_ROLE},
    ADMIN: {"include": ["*.*"], "exclude": []},
}

ROLE_LABELS = {
    VIEWER: _("Viewer"),
    ANALYST: _("Analyst"),
    PLANNER: _("Planner"),
    APPROVER: _("Approver"),
    ADMIN: _("Administrator"),
}


def role_of(user) -> str | None:
    """The user's role name (a group of ROLE_ORDER), or None for anonymous users and users without one."""
    if not getattr(user, "is_authenticated", False):
        return None
    if user.is_superuser:
        return ADMIN
    from core.user_facts import group_names

    names = group_names(user)
    for role in ROLE_ORDER:
        if role in names:
            return role
    return None
