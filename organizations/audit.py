"""How the audit log names organizations and memberships, and links them to the organization's page."""

from django.urls import reverse
from django.utils.translation import gettext

from core.audit import AuditSubject, audit_subject_register
from organizations.choices import MembershipStatus


def _membership(record, label) -> str:
    return gettext("%(partner)s in %(organization)s (%(status)s)") % {
        "partner": label("partners.partnernation", record.partner_id),
        "organization": label("organizations.organization", record.organization_id),
        "status": dict(MembershipStatus.choices).get(record.status, record.status),
    }


def register() -> None:
    audit_subject_register(
        "organizations.organization",
        AuditSubject(
            name=lambda record, label: f"{record.acronym} ({record.name})",
            label_field="acronym",
            link=lambda values: reverse("organizations:detail", args=[values["acronym"]]),
            link_fields=("acronym",),
        ),
    )
    audit_subject_register(
        "organizations.membership",
        AuditSubject(
            name=_membership,
            related={"partner_id": "partners.partnernation", "organization_id": "organizations.organization"},
            # A membership has no page of its own: the organization's page lists its members over time.
            link=lambda values: reverse("organizations:detail", args=[values["organization__acronym"]]),
            link_fields=("organization__acronym",),
        ),
    )
