"""How the audit log names engagements, participations, reports and series, and links them to their pages."""

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext

from core.audit import AuditSubject, audit_subject_register


def _engagement_page(values: dict) -> str:
    return reverse("engagements:detail", args=[values.get("engagement_id", values["pk"])])


def _part_of_engagement(name, **related) -> AuditSubject:
    """A record that belongs to an engagement (a participation, a report): linked to the engagement's page
    while the engagement is not deleted."""
    return AuditSubject(
        name=name,
        related={"engagement_id": "engagements.engagement", **related},
        link=_engagement_page,
        link_fields=("engagement_id",),
        live=Q(engagement__deleted_at__isnull=True),
    )


def register() -> None:
    audit_subject_register(
        "engagements.engagement",
        AuditSubject(
            name=lambda record, label: f"{record.reference} {record.title}",
            label_field="reference",
            link=_engagement_page,
            live=Q(deleted_at__isnull=True),
        ),
    )
    audit_subject_register(
        "engagements.participation",
        _part_of_engagement(
            lambda record, label: (
                gettext("%(partner)s in %(engagement)s")
                % {
                    "partner": label("partners.partnernation", record.partner_id),
                    "engagement": label("engagements.engagement", record.engagement_id),
                }
            ),
            partner_id="partners.partnernation",
        ),
    )
    audit_subject_register(
        "engagements.afteractionreport",
        _part_of_engagement(
            lambda record, label: (
                gettext("Report on %(engagement)s")
                % {"engagement": label("engagements.engagement", record.engagement_id)}
            )
        ),
    )
    audit_subject_register(
        "engagements.exerciseseries",
        AuditSubject(
            name=lambda record, label: record.name,
            label_field="name",
            link=lambda values: reverse("engagements:series_detail", args=[values["slug"]]),
            link_fields=("slug",),
        ),
    )
