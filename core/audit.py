"""The audit trail: every recorded create, change and delete across the application's history tables.

The history tables (django-simple-history) are written by the services with the acting user, for pages,
API, imports and tasks alike. This module only reads them: found dynamically, so a model that gains
history later appears here without a change. Nothing in the application edits or deletes these rows.
"""

from __future__ import annotations

import datetime

from django.apps import apps
from django.db.models import CharField, F, Q, QuerySet, Value
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _

LABEL_FIELDS = ["reference", "acronym", "iso3", "username", "title", "name", "version", "summary"]
ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}  # as exported (CSV): stable, never translated
ACTION_LABELS = {"+": _("created"), "~": _("changed"), "-": _("deleted")}  # as shown on the page


def history_models() -> dict[str, type]:
    """``app_label.model`` of the tracked model -> its historical model, for every tracked model."""
    found = {}
    for model in apps.get_models():
        tracked = getattr(model, "instance_type", None)
        if tracked is not None and hasattr(model, "history_type") and hasattr(model, "history_user"):
            found[tracked._meta.label_lower] = model
    return dict(sorted(found.items()))


def _label_expression(model):
    names = {f.name for f in model._meta.get_fields()}
    for name in LABEL_FIELDS:
        if name in names:
            return Cast(F(name), output_field=CharField())
    return Cast(F("id"), output_field=CharField())


def audit_entries(
    *,
    model: str = "",
    username: str = "",
    action: str = "",
    since: datetime.date | None = None,
    until: datetime.date | None = None,
) -> QuerySet:
    """One UNION ALL query over every history table: rows of (model, id, label, action, date, user)."""
    models = history_models()
    if model:
        models = {k: v for k, v in models.items() if k == model}
    condition = Q()
    if username:
        condition &= Q(history_user__username__iexact=username)
    if action in ACTIONS:
        condition &= Q(history_type=action)
    if since:
        condition &= Q(history_date__date__gte=since)
    if until:
        condition &= Q(history_date__date__lte=until)
    parts = []
    for label, history_model in models.items():
        parts.append(
            history_model.objects.filter(condition)
            .annotate(
                model_label=Value(label, output_field=CharField()),
                object_id=Cast(F("id"), output_field=CharField()),
                object_label=_label_expression(history_model),
                actor=F("history_user__username"),
            )
            .values(
                "model_label",
                "history_id",
                "object_id",
                "object_label",
                "history_type",
                "history_date",
                "actor",
                "history_change_reason",
            )
            .order_by()
        )
    if not parts:
        return apps.get_model("auth", "User").objects.none().values()
    query = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return query.order_by("-history_date", "-history_id")


def changed_fields(rows: list[dict]) -> dict[tuple[str, int], list[dict]]:
    """For the rows of one page: which fields each change touched, old and new values.

    One query per model on the page (the page's records and the records before them), never one per row.
    """
    models = history_models()
    wanted: dict[str, set] = {}
    for row in rows:
        if row["history_type"] == "~":
            wanted.setdefault(row["model_label"], set()).add(row["object_id"])
    result = {}
    for label, object_ids in wanted.items():
        history_model = models[label]
        records = list(history_model.objects.filter(id__in=object_ids).order_by("id", "history_date", "history_id"))
        # Many-to-many history costs a query per record: those changes show as their own rows instead.
        m2m = [field.name for field in getattr(history_model, "_history_m2m_fields", [])]
        previous = {}
        for record in records:
            before = previous.get(record.id)
            if before is not None and record.history_type == "~":
                delta = record.diff_against(before, excluded_fields=m2m)
                result[(label, record.history_id)] = [
                    {
                        "field": c.field,
                        "old": "—" if c.old in (None, "") else str(c.old),
                        "new": "—" if c.new in (None, "") else str(c.new),
                    }
                    for c in delta.changes
                    if c.field not in ("updated_at", "version")
                ]
            previous[record.id] = record
    return result
