"""The audit trail: every recorded create, change and delete across the application's history tables.

The history tables (django-simple-history) are written by the services with the acting user, for pages,
API, imports and tasks alike. This module only reads them: found dynamically, so a model that gains
history later appears here without a change. Nothing in the application edits or deletes these rows.

Each app says how its records read to people (``AuditSubject``: "Ghana in ENG-2026-000123", "Report on
ENG-2026-000123") and which page shows them; ``describe`` names, links and diffs a page of rows with a few
queries per model on the page, whatever the number of rows, and the CSV export goes through it too.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from django.apps import apps
from django.db.models import CharField, F, Q, QuerySet, Value
from django.db.models.functions import Cast
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from simple_history.models import ModelChange
from simple_history.utils import get_m2m_reverse_field_name

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


# Bookkeeping columns every save touches: noise in a change list (who and when are columns of their own).
HIDDEN_FIELDS = {"updated_at", "updated_by", "version"}
CSV_HEADER = ["when", "user", "action", "record_type", "record_id", "record", "page", "changes", "reason"]
CSV_BATCH = 500
EMPTY = "—"


@dataclass(frozen=True)
class AuditSubject:
    """How the audit log names the records of one model in its users' words, and which page shows them.

    Registered by the app that owns the model (``audit_subject_register`` in its ``AppConfig.ready()``), so
    core never imports the apps above it.

    - ``name(record, label)``: the text for a history record (the object as it was then). ``label(model,
      id)`` gives the short name of a related object (an engagement's reference), loaded for the whole page
      at once; ``related`` lists the record's id columns ``name`` asks about, with their model.
    - ``label_field``: how other records name this model's objects (an engagement by its reference).
    - ``link(values)``: the URL of the page that shows the object, from the current row's ``link_fields``;
      asked only for objects that still exist and match ``live`` (a deleted engagement has no page).
    """

    name: Callable[[Any, Callable[[str, Any], str]], str]
    label_field: str = ""
    related: Mapping[str, str] = dc_field(default_factory=dict)
    link: Callable[[dict], str] | None = None
    link_fields: tuple[str, ...] = ()
    live: Q = dc_field(default_factory=Q)


_SUBJECTS: dict[str, AuditSubject] = {}


def audit_subject_register(model: str, subject: AuditSubject) -> None:
    """How the audit log names and links the records of ``model`` (``app_label.model``)."""
    _SUBJECTS[model] = subject


def audit_subject_models() -> set[str]:
    """The models whose records the audit log knows how to name."""
    return set(_SUBJECTS)


def record_type_label(model_label: str) -> str:
    """The tracked model's name as users say it ("Participation"), for the page and the filter."""
    try:
        return capfirst(str(apps.get_model(model_label)._meta.verbose_name))
    except LookupError:
        return model_label


def _history_of_page(rows: list[dict]) -> tuple[dict, dict]:
    """The history records of the page's rows, and the field changes of its "changed" rows.

    One query per model on the page (the page's objects' records, in order) and one per many-to-many field
    of those models, never one per row; each change is a record compared with the record before it.
    """
    models = history_models()
    on_page = {(row["model_label"], row["history_id"]) for row in rows}
    wanted: dict[str, set] = {}
    for row in rows:
        wanted.setdefault(row["model_label"], set()).add(row["object_id"])
    records, changes = {}, {}
    for label, object_ids in wanted.items():
        history_model = models[label]
        m2m_fields = list(getattr(history_model, "_history_m2m_fields", []))
        previous, pairs = {}, []
        for record in history_model.objects.filter(id__in=object_ids).order_by("id", "history_date", "history_id"):
            key = (label, record.history_id)
            if key in on_page:
                records[key] = record
                before = previous.get(record.id)
                if before is not None and record.history_type == "~":
                    pairs.append((key, before, record))
            previous[record.id] = record
        for key, before, record in pairs:
            delta = record.diff_against(before, excluded_fields=[f.name for f in m2m_fields])
            changes[key] = [c for c in delta.changes if c.field not in HIDDEN_FIELDS]
        for m2m_field in m2m_fields if pairs else []:
            members = _m2m_members(history_model, m2m_field, {r.history_id for pair in pairs for r in pair[1:]})
            for key, before, record in pairs:
                old, new = members.get(before.history_id, []), members.get(record.history_id, [])
                if set(old) != set(new):
                    changes[key].append(ModelChange(m2m_field.name, sorted(old), sorted(new)))
    return records, changes


def _m2m_members(history_model, m2m_field, history_ids: set) -> dict[int, list]:
    """The related ids a many-to-many field held at each of ``history_ids`` (one query)."""
    rows = getattr(history_model, m2m_field.name).model.objects.filter(history_id__in=history_ids)
    members: dict[int, list] = {}
    for history_id, related_id in rows.values_list("history_id", get_m2m_reverse_field_name(m2m_field) + "_id"):
        members.setdefault(history_id, []).append(related_id)
    return members


def _labels(wanted: dict[str, set]) -> dict[str, dict]:
    """Short names of related objects: one query per model, from the current rows, and for the objects
    deleted since, one more from their history (the name they last had)."""
    models = history_models()
    found: dict[str, dict] = {}
    for target, ids in wanted.items():
        ids = {pk for pk in ids if pk is not None}
        subject = _SUBJECTS.get(target)
        if not ids or subject is None or not subject.label_field:
            continue
        model = apps.get_model(target)
        names = dict(model._base_manager.filter(pk__in=ids).values_list("pk", subject.label_field))
        missing = ids - names.keys()
        if missing and target in models:
            history = models[target].objects.filter(id__in=missing).order_by("history_date", "history_id")
            names.update(history.values_list("id", subject.label_field))
        found[target] = names
    return found


def _links(rows: list[dict]) -> dict[tuple[str, str], str]:
    """The page of every row's object that still exists: one query per model on the page."""
    wanted: dict[str, set] = {}
    for row in rows:
        subject = _SUBJECTS.get(row["model_label"])
        if subject is not None and subject.link is not None:
            wanted.setdefault(row["model_label"], set()).add(row["object_id"])
    links = {}
    for label, object_ids in wanted.items():
        subject = _SUBJECTS[label]
        current = apps.get_model(label)._base_manager.filter(subject.live, pk__in=object_ids)
        for values in current.values("pk", *subject.link_fields):
            links[(label, str(values["pk"]))] = subject.link(values)
    return links


def _shown(value) -> str:
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or EMPTY
    return str(value)


def describe(rows: list[dict]) -> list[dict]:
    """Complete a page of ``audit_entries`` rows for people: ``record_type`` ("Participation"), ``name``
    ("Ghana in ENG-2026-000001"), ``url`` (its page, when it still has one), ``action`` and ``changes``
    (field, old and new value as users read them: names for related objects, labels for choices).

    A constant number of queries whatever the number of rows: a few per model on the page.
    """
    records, changes = _history_of_page(rows)
    wanted: dict[str, set] = {}
    for key, record in records.items():
        subject = _SUBJECTS.get(key[0])
        for column, target in subject.related.items() if subject else ():
            wanted.setdefault(target, set()).add(getattr(record, column))
    for (label, _history_id), field_changes in changes.items():
        for change in field_changes:
            field = apps.get_model(label)._meta.get_field(change.field)
            if field.is_relation and field.related_model is not None:
                ids = [*change.old, *change.new] if field.many_to_many else [change.old, change.new]
                wanted.setdefault(field.related_model._meta.label_lower, set()).update(ids)
    labels = _labels(wanted)
    links = _links(rows)

    def label(target: str, pk) -> str:
        if pk is None:
            return EMPTY
        return str(labels.get(target, {}).get(pk) or f"#{pk}")

    for row in rows:
        key = (row["model_label"], row["history_id"])
        record, subject = records.get(key), _SUBJECTS.get(row["model_label"])
        row["record_type"] = record_type_label(row["model_label"])
        row["name"] = (
            subject.name(record, label) if subject and record else f"#{row['object_id']} {row['object_label']}"
        )
        row["url"] = links.get((row["model_label"], row["object_id"]))
        row["action"] = ACTION_LABELS[row["history_type"]]
        row["changes"] = [_change(row["model_label"], change, label) for change in changes.get(key, [])]
    return rows


def _change(model_label: str, change, label) -> dict:
    field = apps.get_model(model_label)._meta.get_field(change.field)
    if field.many_to_many:
        target = field.related_model._meta.label_lower
        old, new = (", ".join(label(target, pk) for pk in ids) or EMPTY for ids in (change.old, change.new))
    elif field.is_relation and field.related_model is not None:
        target = field.related_model._meta.label_lower
        old, new = label(target, change.old), label(target, change.new)
    elif field.choices:
        choices = dict(field.flatchoices)
        old, new = (_shown(choices.get(value, value)) for value in (change.old, change.new))
    else:
        old, new = _shown(change.old), _shown(change.new)
    return {"field": str(field.verbose_name), "old": old, "new": new}


def csv_rows(entries: QuerySet) -> Iterator[list]:
    """The export of ``audit_entries``: the same names, pages and changes as the page, in batches."""
    batch = []
    for entry in entries.iterator(chunk_size=CSV_BATCH):
        batch.append(entry)
        if len(batch) == CSV_BATCH:
            yield from _csv_batch(batch)
            batch = []
    yield from _csv_batch(batch)


def _csv_batch(rows: list[dict]) -> Iterator[list]:
    for row in describe(rows) if rows else []:
        yield [
            row["history_date"].isoformat(),
            row["actor"] or "",
            ACTIONS[row["history_type"]],
            row["model_label"],
            row["object_id"],
            row["name"],
            row["url"] or "",
            "; ".join(f"{c['field']}: {c['old']} -> {c['new']}" for c in row["changes"]),
            row["history_change_reason"] or "",
        ]


def register_user_subject() -> None:
    """User accounts: named by username and full name; the application has no page for them."""
    from django.contrib.auth import get_user_model

    def name(record, label) -> str:
        full_name = f"{record.first_name} {record.last_name}".strip()
        return f"{record.username} ({full_name})" if full_name else record.username

    audit_subject_register(
        get_user_model()._meta.label_lower, AuditSubject(name=name, label_field=get_user_model().USERNAME_FIELD)
    )
