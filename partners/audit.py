"""How the audit log names partner nations and links them to their pages."""

from django.urls import reverse

from core.audit import AuditSubject, audit_subject_register


def register() -> None:
    audit_subject_register(
        "partners.partnernation",
        AuditSubject(
            name=lambda record, label: record.name,
            label_field="name",
            link=lambda values: reverse("partners:detail", args=[values["iso3"]]),
            link_fields=("iso3",),
        ),
    )
