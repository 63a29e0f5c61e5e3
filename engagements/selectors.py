"""Reads of the engagements app. Every list comes ready (joins, prefetches, counts as annotations)."""

from __future__ import annotations

import datetime
import difflib
import re

from django.db.models import Case, Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from engagements.choices import Sensitivity, Status
from engagements.models import AfterActionReport, Engagement, ExerciseSeries, Participation

DUPLICATE_WINDOW_DAYS = 7
TITLE_SIMILARITY = 0.75
MAX_WARNINGS_PER_KIND = 10
AAR_OVERDUE_DAYS = 30


def engagement_list(*, user) -> QuerySet[Engagement]:
    """The engagements ``user`` may see, with everything a list row shows loaded in a fixed number of queries."""
    return (
        Engagement.objects.visible_to(user)
        .select_related("host_country", "series", "after_action")
        .prefetch_related(
            Prefetch(
                "participations", queryset=Participation.objects.select_related("partner").order_by("partner__name")
            ),
            "organizations",
        )
        .annotate(
            participant_count=Count("participations", distinct=True), personnel_total=Sum("participations__personnel")
        )
    )


def engagement_get(*, user, pk) -> Engagement | None:
    """One engagement the user may see, with participants, frameworks, series and AAR loaded; else None."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return (
        Engagement.objects.visible_to(user)
        .select_related(
            "host_country", "series", "after_action", "after_action__submitted_by", "created_by", "updated_by"
        )
        .prefetch_related(
            Prefetch(
                "participations", queryset=Participation.objects.select_related("partner").order_by("partner__name")
            ),
            "organizations",
        )
        .filter(pk=pk)
        .first()
    )


def _overlapping(start: datetime.date, end: datetime.date) -> Q:
    return Q(start_date__lte=end, end_date__gte=start)


def _normalise_title(title: str) -> str:
    title = re.sub(r"\b(19|20)\d{2}\b", " ", title.lower())
    return re.sub(r"[^a-z0-9]+", " ", title).strip()


def deconfliction_warnings(
    *,
    engagement: Engagement | None = None,
    start_date: datetime.date | None = None,
    end_date: datetime.date | None = None,
    host_country_id: int | None = None,
    partner_ids: list[int] | None = None,
    title: str = "",
    series_id: int | None = None,
) -> list[dict]:
    """Warnings, not errors: overlaps a planner should know of before (or after) saving.

    Three kinds: a partner already in another engagement on overlapping dates; another engagement in the
    same host country on overlapping dates; a likely duplicate (same series or a similar title, same host,
    start dates within 7 days). Cancelled and deleted engagements never conflict.
    """
    if engagement is not None:
        start_date, end_date = engagement.start_date, engagement.end_date
        host_country_id = engagement.host_country_id
        partner_ids = list(engagement.participations.values_list("partner_id", flat=True))
        title, series_id = engagement.title, engagement.series_id
    if not (start_date and end_date) or end_date < start_date:
        return []
    others = Engagement.objects.live().exclude(status=Status.CANCELLED)
    if engagement is not None:
        others = others.exclude(pk=engagement.pk)
    warnings: list[dict] = []

    if partner_ids:
        clashes = (
            Participation.objects.filter(
                partner_id__in=partner_ids, engagement__in=others.filter(_overlapping(start_date, end_date))
            )
            .select_related("partner", "engagement")
            .order_by("engagement__start_date", "engagement_id", "partner__name")[:200]
        )
        by_engagement: dict[int, list] = {}
        for clash in clashes:
            by_engagement.setdefault(clash.engagement_id, []).append(clash)
        for rows in list(by_engagement.values())[:MAX_WARNINGS_PER_KIND]:
            other = rows[0].engagement
            names = ", ".join(row.partner.name for row in rows)
            message = _("Already in %(reference)s “%(title)s” from %(start)s to %(end)s: %(partners)s.") % {
                "reference": other.reference,
                "title": other.title,
                "start": other.start_date.isoformat(),
                "end": other.end_date.isoformat(),
                "partners": names,
            }
            warnings.append(_warning("partner_overlap", other, message))
    if host_country_id:
        same_host = others.filter(_overlapping(start_date, end_date), host_country_id=host_country_id).order_by(
            "start_date"
        )
        for other in same_host[:MAX_WARNINGS_PER_KIND]:
            warnings.append(
                _warning(
                    "host_overlap",
                    other,
                    _("%(reference)s “%(title)s” is also in the same host country from %(start)s to %(end)s.")
                    % {
                        "reference": other.reference,
                        "title": other.title,
                        "start": other.start_date.isoformat(),
                        "end": other.end_date.isoformat(),
                    },
                )
            )
        window = datetime.timedelta(days=DUPLICATE_WINDOW_DAYS)
        near = others.filter(
            host_country_id=host_country_id, start_date__gte=start_date - window, start_date__lte=start_date + window
        )
        wanted = _normalise_title(title)
        for other in near.order_by("start_date")[:50]:
            same_series = series_id is not None and other.series_id == series_id
            similar = (
                bool(wanted)
                and difflib.SequenceMatcher(None, wanted, _normalise_title(other.title)).ratio() >= TITLE_SIMILARITY
            )
            if same_series or similar:
                reason = _("same series") if same_series else _("similar title")
                warnings.append(
                    _warning(
                        "likely_duplicate",
                        other,
                        _(
                            "Possible duplicate of %(reference)s “%(title)s” (%(reason)s, same host, starting %(start)s)."
                        )
                        % {
                            "reference": other.reference,
                            "title": other.title,
                            "reason": reason,
                            "start": other.start_date.isoformat(),
                        },
                    )
                )
    return warnings


def _warning(kind: str, other: Engagement, message: str) -> dict:
    return {
        "kind": kind,
        "message": message,
        "engagement_id": other.pk,
        "reference": other.reference,
        "title": other.title,
    }


def overdue_after_action(*, user, today: datetime.date | None = None) -> QuerySet[Engagement]:
    """Completed engagements that ended more than 30 days ago and still have no after-action report."""
    today = today or timezone.localdate()
    cutoff = today - datetime.timedelta(days=AAR_OVERDUE_DAYS)
    return (
        Engagement.objects.visible_to(user)
        .filter(status=Status.COMPLETED, end_date__lt=cutoff, after_action__isnull=True)
        .select_related("host_country")
        .order_by("end_date")
    )


def series_list() -> QuerySet[ExerciseSeries]:
    return ExerciseSeries.objects.select_related("lead_organization").annotate(
        iteration_count=Count("engagements", filter=Q(engagements__deleted_at__isnull=True))
    )


def series_iterations(*, series: ExerciseSeries, user) -> QuerySet[Engagement]:
    """The series' engagements, oldest first, with participants, personnel and mean AAR ratings per iteration."""
    return (
        Engagement.objects.visible_to(user)
        .filter(series=series)
        .select_related("host_country", "after_action")
        .annotate(
            participant_count=Count("participations", distinct=True), personnel_total=Sum("participations__personnel")
        )
        .order_by("start_date")
    )


def engagement_history(*, engagement: Engagement) -> list[dict]:
    """Every recorded change to the engagement, its participants and its AAR, newest first:
    who, when, which fields, old and new values."""
    entries = []
    records = list(engagement.history.select_related("history_user").order_by("history_date", "history_id"))
    entries += _diffs(records, _("Engagement"), skip={"version", "updated_at", "updated_by", "created_at"})
    participation_model = Participation.history.model
    participations = list(
        participation_model.objects.filter(engagement_id=engagement.pk)
        .select_related("history_user", "partner")
        .order_by("id", "history_date", "history_id")
    )
    by_row: dict[int, list] = {}
    for record in participations:
        by_row.setdefault(record.id, []).append(record)
    for rows in by_row.values():
        label = _("Participant %(partner)s") % {"partner": rows[-1].partner.name if rows[-1].partner_id else "?"}
        entries += _diffs(rows, label, skip=set())
    aar_records = list(
        AfterActionReport.history.model.objects.filter(engagement_id=engagement.pk)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    entries += _diffs(aar_records, _("After-action report"), skip={"updated_at"})
    entries.sort(key=lambda e: e["when"], reverse=True)
    return entries


def _diffs(records: list, label: str, *, skip: set[str]) -> list[dict]:
    entries = []
    previous = None
    for record in records:
        kind = {"+": _("created"), "~": _("changed"), "-": _("deleted")}[record.history_type]
        changes = []
        if previous is not None and record.history_type == "~":
            delta = record.diff_against(previous)
            for change in delta.changes:
                if change.field in skip:
                    continue
                changes.append({"field": change.field, "old": _display(change.old), "new": _display(change.new)})
            if not changes and not record.history_change_reason:
                previous = record
                continue
        entries.append(
            {
                "when": record.history_date,
                "who": record.history_user.get_username() if record.history_user else _("system"),
                "what": label,
                "action": kind,
                "changes": changes,
                "reason": record.history_change_reason or "",
            }
        )
        previous = record
    return entries


def _display(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v.get("organization", v)) if isinstance(v, dict) else str(v) for v in value) or "—"
    return str(value)


def engagement_changes(*, user, since: datetime.datetime) -> QuerySet:
    """What happened to engagements at or after ``since``, oldest first, from the change history.

    One row per recorded change: ``row_engagement`` (id), ``row_reference``, ``row_action`` (created, updated,
    deleted), ``row_time``, ``row_user`` (username or None). A soft delete is "deleted"; a change to the
    after-action report is an "updated" of its engagement. Restricted engagements (now or at the time of the
    change) are left out for users who may not read them.
    """
    historical_engagement = Engagement.history.model
    historical_report = AfterActionReport.history.model
    may_read_restricted = user.has_perm("engagements.read_restricted_engagement")

    engagement_rows = historical_engagement.objects.filter(history_date__gte=since)
    report_rows = historical_report.objects.filter(history_date__gte=since)
    if not may_read_restricted:
        restricted = Engagement.objects.filter(sensitivity=Sensitivity.RESTRICTED)
        engagement_rows = engagement_rows.exclude(sensitivity=Sensitivity.RESTRICTED).exclude(
            Exists(restricted.filter(pk=OuterRef("id")))
        )
        report_rows = report_rows.exclude(Exists(restricted.filter(pk=OuterRef("engagement_id"))))
    # Each side of the union must be unordered (history models order newest first by default).
    engagement_rows = engagement_rows.order_by().values(
        row_time=F("history_date"),
        row_order=Value(0),
        row_history_id=F("history_id"),
        row_engagement=F("id"),
        row_reference=F("reference"),
        row_action=Case(
            When(history_type="-", then=Value("deleted")),
            When(deleted_at__isnull=False, then=Value("deleted")),
            When(history_type="+", then=Value("created")),
            default=Value("updated"),
        ),
        row_user=F("history_user__username"),
    )
    report_rows = report_rows.order_by().values(
        row_time=F("history_date"),
        row_order=Value(1),
        row_history_id=F("history_id"),
        row_engagement=F("engagement_id"),
        row_reference=Coalesce(
            Subquery(Engagement.objects.filter(pk=OuterRef("engagement_id")).values("reference")[:1]), Value("")
        ),
        row_action=Value("updated"),
        row_user=F("history_user__username"),
    )
    return engagement_rows.union(report_rows, all=True).order_by("row_time", "row_order", "row_history_id")
