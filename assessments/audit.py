"""How the audit log names objectives, indicators, measurements, scoring models and their drafts, and links
them."""

from django.urls import reverse
from django.utils.translation import gettext

from core.audit import AuditSubject, audit_subject_register


def register() -> None:
    audit_subject_register(
        "assessments.objective",
        AuditSubject(
            name=lambda record, label: (
                gettext("%(title)s (%(partner)s)")
                % {"title": record.title, "partner": label("partners.partnernation", record.partner_id)}
            ),
            label_field="title",
            related={"partner_id": "partners.partnernation"},
            link=lambda values: reverse("assessments:objective", args=[values["pk"]]),
        ),
    )
    audit_subject_register(
        "assessments.indicator",
        AuditSubject(
            name=lambda record, label: (
                gettext("%(indicator)s, for %(objective)s")
                % {"indicator": record.name, "objective": label("assessments.objective", record.objective_id)}
            ),
            label_field="name",
            related={"objective_id": "assessments.objective"},
            link=lambda values: reverse("assessments:indicator", args=[values["pk"]]),
        ),
    )
    audit_subject_register(
        "assessments.measurement",
        AuditSubject(
            name=lambda record, label: (
                gettext("%(indicator)s on %(date)s: %(value)s")
                % {
                    "indicator": label("assessments.indicator", record.indicator_id),
                    "date": record.date.isoformat(),
                    "value": f"{record.value:g}",
                }
            ),
            related={"indicator_id": "assessments.indicator"},
            # Measurements are listed, and edited from, their indicator's page.
            link=lambda values: reverse("assessments:indicator", args=[values["indicator_id"]]),
            link_fields=("indicator_id",),
        ),
    )
    audit_subject_register(
        "assessments.scoringmodel",
        AuditSubject(
            name=lambda record, label: gettext("Scoring model version %(version)s") % {"version": record.version},
            label_field="version",
        ),
    )
    audit_subject_register(
        "assessments.scoringmodeldraft",
        AuditSubject(
            name=lambda record, label: gettext("Draft scoring model “%(name)s”") % {"name": record.name},
            label_field="name",
            link=lambda values: reverse("assessments:scoring-model", args=[values["pk"]]),
        ),
    )
