"""Reads of the engagements app. Every list comes ready (joins, prefetches, counts as annotations)."""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.db.models import (
    Avg,
    Case,
    Count,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, ExtractYear
from django.utils import timezone
from django.utils.translation import gettext as _

from core.paging import SplitOrder
from engagements import rules
from engagements.choices import Domain, EngagementType, ParticipantRole, Sensitivity, Status, ThreatFocus
from engagements.feeds import key_of, secret_for
from engagements.models import (
    AfterActionReport,
    Approval,
    CalendarFeed,
    Engagement,
    ExerciseSeries,
    Participation,
    SavedFilter,
    may_read_restricted,
    readable_by,
)

AAR_OVERDUE_DAYS = 30


def _participation_totals() -> dict:
    """``participant_count`` and ``personnel_total`` as correlated subqueries, not a join with GROUP BY:
    the page's LIMIT can then use the date index instead of aggregating every engagement first."""
    per_engagement = Participation.objects.filter(engagement=OuterRef("pk")).order_by().values("engagement")
    return {
        "participant_count": Coalesce(
            Subquery(per_engagement.annotate(n=Count("pk")).values("n"), output_field=IntegerField()), Value(0)
        ),
        "personnel_total": Coalesce(
            Subquery(per_engagement.annotate(n=Sum("personnel")).values("n"), output_field=IntegerField()), Value(0)
        ),
    }


RECENT_DAYS = 30  # "recently changed": changed within this many days
UPCOMING_DAYS = 90  # "upcoming": starting within this many days


def list_order(today: datetime.date | None = None) -> list:
    """The lists' default order: what is under way or still to come first, by start date (so the current
    ones, then the next ones), then the past ones, most recent first; the id last so ties keep one order.
    A planner opening the list sees today's work, not the furthest future nor the oldest history.

    The first key is a ``SplitOrder``: the paginator finds a page's rows with two index-ordered queries
    (the few current and coming ones by their end date, then the past ones backwards along the start-date
    index) instead of sorting every row (bench/README.md, issue 18)."""
    today = today or timezone.localdate()
    not_over = Q(end_date__gte=today)
    return [
        SplitOrder(
            head=not_over,
            # Coalesce (= the start date, never empty): a sort of the few current and coming rows found by the
            # end-date index, never a walk along the start-date index from the oldest row, which the planner
            # would otherwise pick to avoid the sort.
            head_order=[Coalesce("start_date", "end_date").asc(), "-id"],
            # The start date bound says what the end date implies (an engagement ends on or after its start):
            # the walk backwards along the start-date index then begins at today, not at the furthest
            # future start (45,729 future rows skipped per page at a million engagements; bench/README.md).
            tail=~not_over & Q(start_date__lt=today),
            tail_order=["-start_date", "-id"],
            bucket=Case(When(not_over, then=Value(0)), default=Value(1), output_field=IntegerField()),
        ),
        Case(When(not_over, then=F("start_date"))).asc(),  # empty for past rows: they tie here
        F("start_date").desc(),
        F("id").desc(),
    ]


def engagement_list(*, user) -> QuerySet[Engagement]:
    """The engagements ``user`` may see, with everything a list row shows loaded in a fixed number of queries;
    in ``list_order`` (current and upcoming first), the id last so ties never repeat or skip a row between
    pages (``?ordering=`` replaces the order with the chosen keys and the id,
    ``core.filters.StableOrderingFilter``)."""
    return (
        Engagement.objects.visible_to(user)
        .select_related("host_country", "series", "after_action", "owner_unit", "point_of_contact")
        .prefetch_related(
            # Into lists (``listed_<relation>``, read by the page and core.api.serializers.QuickReadsMixin):
            # a prefetch into the relation builds a queryset for every row and relation, a third of the
            # Python time of loading a page of 100 rows.
            Prefetch(
                "participations",
                queryset=Participation.objects.select_related("partner").order_by("partner__name"),
                to_attr="listed_participations",
            ),
            Prefetch("organizations", queryset=_organizations(), to_attr="listed_organizations"),
        )
        .annotate(**_participation_totals())
        .order_by(*list_order())
    )


def _organizations() -> QuerySet:
    """All organizations in their default order (what ``engagement.organizations.all()`` gives)."""
    return Engagement._meta.get_field("organizations").related_model._default_manager.all()


def saved_filters_for(*, user) -> QuerySet[SavedFilter]:
    """The saved filters ``user`` may apply: their own and the shared ones, their own first, by name."""
    return (
        SavedFilter.objects.filter(Q(owner=user) | Q(shared=True))
        .select_related("owner")
        .annotate(is_own=Case(When(owner=user, then=Value(0)), default=Value(1), output_field=IntegerField()))
        .order_by("is_own", "name", "id")
    )


def saved_filter_get(*, user, pk) -> SavedFilter | None:
    """One saved filter ``user`` may apply (their own or a shared one), else None."""
    try:
        return saved_filters_for(user=user).get(pk=int(pk))
    except (TypeError, ValueError, SavedFilter.DoesNotExist):
        return None


def engagements_between(*, user, first_day: datetime.date, last_day: datetime.date) -> QuerySet[Engagement]:
    """The engagements ``user`` may see that overlap ``first_day``..``last_day`` (calendar and timeline), by start."""
    return (
        Engagement.objects.visible_to(user)
        .filter(_overlapping(first_day, last_day))
        .select_related("host_country")
        .order_by("start_date", "end_date", "id")
    )


def recent_engagements(*, user, limit: int = 8) -> QuerySet[Engagement]:
    """The engagements most recently created or changed, for the planner's home page."""
    return Engagement.objects.visible_to(user).select_related("host_country").order_by("-updated_at", "-id")[:limit]


def _visible_pk(pk) -> int | None:
    try:
        return int(pk)
    except (TypeError, ValueError):
        return None


def engagement_to_change(*, user, pk) -> Engagement | None:
    """One engagement the user may see, its row alone (else None): what a change is checked against before
    the service locks and reads it again, when the answer reads it with its relations after the change
    (``engagement_get``). Reading the relations before too cost a save a second ten-table join (about 2 ms
    of planning alone) and its prefetches."""
    pk = _visible_pk(pk)
    return None if pk is None else Engagement.objects.visible_to(user).filter(pk=pk).first()


def engagement_get(*, user, pk) -> Engagement | None:
    """One engagement the user may see, with participants, frameworks, series and AAR loaded; else None."""
    pk = _visible_pk(pk)
    if pk is None:
        return None
    return (
        Engagement.objects.visible_to(user)
        .select_related(
            "host_country",
            "series",
            "after_action",
            "after_action__submitted_by",
            "created_by",
            "updated_by",
            "owner_unit",
            "point_of_contact",
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


# --- four-eyes approval ----------------------------------------------------------------------------------


def approvals_of(*, engagement: Engagement) -> list[Approval]:
    """The engagement's approval steps, newest first, with who took each."""
    return list(engagement.approvals.select_related("user").order_by("-at", "-id"))


def approver_ids(*, engagement: Engagement, leave_out=()) -> list[int]:
    """The active approvers of the engagement's owner unit and of the units above it, never its creator
    (four eyes) nor ``leave_out``: who is asked when a planner requests approval."""
    from core.roles import APPROVER

    units = rules.units_above(engagement.owner_unit_id)
    found = (
        get_user_model()
        .objects.filter(is_active=True, units__in=units, groups__name=APPROVER)
        .exclude(pk__in=[*leave_out, engagement.created_by_id or 0])
        .values_list("pk", flat=True)
        .distinct()
        .order_by("pk")
    )
    return list(found)


def approval_recipient_ids(*, engagement: Engagement, leave_out=()) -> list[int]:
    """Who hears of an approval decision: those who asked for it, the creator and the point of contact."""
    requesters = engagement.approvals.filter(action=Approval.Action.REQUESTED).values_list("user_id", flat=True)
    ids = {*requesters, engagement.created_by_id, engagement.point_of_contact_id} - {None, *leave_out}
    return sorted(get_user_model().objects.filter(pk__in=ids, is_active=True).values_list("pk", flat=True))


def _overlapping(start: datetime.date, end: datetime.date) -> Q:
    return Q(start_date__lte=end, end_date__gte=start)


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


def series_list(*, user) -> QuerySet[ExerciseSeries]:
    """Every series with ``iteration_count`` and ``first_year``/``last_year``, counting only the iterations
    ``user`` may see (a viewer's counts never include restricted engagements)."""
    visible = Q(engagements__deleted_at__isnull=True) & readable_by(user, via="engagements__")
    return ExerciseSeries.objects.select_related("lead_organization").annotate(
        iteration_count=Count("engagements", filter=visible),
        first_year=ExtractYear(Min("engagements__start_date", filter=visible)),
        last_year=ExtractYear(Max("engagements__start_date", filter=visible)),
    )


def series_iterations(*, series: ExerciseSeries, user) -> QuerySet[Engagement]:
    """The series' engagements, oldest first, with participants, personnel and mean AAR ratings per iteration."""
    return (
        Engagement.objects.visible_to(user)
        .filter(series=series)
        .select_related("host_country", "after_action")
        .annotate(**_participation_totals())
        .order_by("start_date")
    )


def series_year_over_year(*, series: ExerciseSeries, user) -> list[dict]:
    """One row per year of the series: iterations, distinct partners, personnel and mean AAR ratings.

    Two grouped queries (ratings per engagement, participants per participation) so neither join
    multiplies the other's rows; the rows are then merged by year.
    """
    engagements = Engagement.objects.visible_to(user).filter(series=series).exclude(status=Status.CANCELLED)
    by_year = {
        row["year"]: {**row, "partners": 0, "personnel": 0}
        for row in engagements.annotate(year=ExtractYear("start_date"))
        .values("year")
        .annotate(
            iterations=Count("pk"),
            reports=Count("after_action"),
            interoperability=Avg("after_action__interoperability_rating"),
            capacity=Avg("after_action__capacity_rating"),
            trust=Avg("after_action__trust_rating"),
        )
        .order_by("year")
    }
    participation_rows = (
        Participation.objects.filter(engagement__in=engagements)
        .annotate(year=ExtractYear("engagement__start_date"))
        .values("year")
        .annotate(partners=Count("partner", distinct=True), personnel=Sum("personnel"))
        .order_by("year")
    )
    for row in participation_rows:
        if row["year"] in by_year:
            by_year[row["year"]].update(partners=row["partners"], personnel=row["personnel"] or 0)
    return list(by_year.values())


def engagement_history(*, engagement: Engagement) -> list[dict]:
    """Every recorded change to the engagement, its participants and its AAR, newest first:
    who, when, which fields (``field`` and its readable ``label``), old and new values as people read them
    (choice labels, country names, organization acronyms, not database ids)."""
    entries = []
    records = list(engagement.history.select_related("history_user").order_by("history_date", "history_id"))
    entries += _diffs(
        records, Engagement, _("Engagement"), skip={"version", "updated_at", "updated_by", "created_at", "deleted_by"}
    )
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
        entries += _diffs(rows, Participation, label, skip={"engagement", "partner"}, show_created=True)
    aar_records = list(
        AfterActionReport.history.model.objects.filter(engagement_id=engagement.pk)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    entries += _diffs(
        aar_records,
        AfterActionReport,
        _("After-action report"),
        skip={"updated_at", "engagement", "submitted_by", "submitted_at"},
        show_created=True,
    )
    _label_values(entries)
    entries.sort(key=lambda e: e["when"], reverse=True)
    return entries


def _diffs(records: list, model, label: str, *, skip: set[str], show_created: bool = False) -> list[dict]:
    entries = []
    previous = None
    tracked = [f for f in model._meta.concrete_fields if f.editable and f.name not in skip and not f.primary_key]
    for record in records:
        kind = {"+": _("created"), "~": _("changed"), "-": _("deleted")}[record.history_type]
        changes = []
        if previous is not None and record.history_type == "~":
            delta = record.diff_against(previous)
            for change in delta.changes:
                if change.field in skip:
                    continue
                changes.append(_change(model, change.field, change.old, change.new))
            if not changes and not record.history_change_reason:
                previous = record
                continue
        elif record.history_type == "+" and show_created:
            for model_field in tracked:
                value = getattr(record, model_field.attname)
                if value not in (None, ""):
                    changes.append(_change(model, model_field.name, None, value))
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


# Fields whose stored values are ids of other rows: shown by a name, looked up once for the whole history.
_RELATED_LABELS = {"host_country": "partner", "series": "series", "organizations": "organization"}
_CHOICE_LABELS = {
    "engagement_type": EngagementType,
    "domain": Domain,
    "status": Status,
    "sensitivity": Sensitivity,
    "role": ParticipantRole,
}


def _change(model, name: str, old, new) -> dict:
    try:
        label = str(model._meta.get_field(name).verbose_name)
    except Exception:  # a field the model no longer has: show its stored name
        label = name
    return {"field": name, "label": label[:1].upper() + label[1:], "old": old, "new": new}


def _ids(value) -> list:
    if value in (None, ""):
        return []
    if isinstance(value, list):
        return [v.get("organization") if isinstance(v, dict) else v for v in value]
    return [value]


def _label_values(entries: list[dict]) -> None:
    """Replace raw values by what people read, with one query per kind of related row."""
    from organizations.models import Organization
    from partners.models import PartnerNation

    wanted: dict[str, set] = {"partner": set(), "series": set(), "organization": set()}
    for entry in entries:
        for change in entry["changes"]:
            kind = _RELATED_LABELS.get(change["field"])
            if kind:
                wanted[kind].update(_ids(change["old"]) + _ids(change["new"]))
    names: dict[str, dict] = {"partner": {}, "series": {}, "organization": {}}
    if wanted["partner"]:
        names["partner"] = {
            pk: f"{name} ({iso3})"
            for pk, name, iso3 in PartnerNation.objects.filter(pk__in=wanted["partner"]).values_list(
                "pk", "name", "iso3"
            )
        }
    if wanted["series"]:
        names["series"] = dict(ExerciseSeries.objects.filter(pk__in=wanted["series"]).values_list("pk", "name"))
    if wanted["organization"]:
        names["organization"] = dict(
            Organization.objects.filter(pk__in=wanted["organization"]).values_list("pk", "acronym")
        )
    for entry in entries:
        for change in entry["changes"]:
            kind = _RELATED_LABELS.get(change["field"])
            for side in ("old", "new"):
                value = change[side]
                if kind:
                    labels = sorted(str(names[kind].get(i, i)) for i in _ids(value))
                    change[side] = ", ".join(labels) or "—"
                elif change["field"] in _CHOICE_LABELS and value not in (None, ""):
                    change[side] = str(dict(_CHOICE_LABELS[change["field"]].choices).get(value, value))
                elif change["field"] == "threat_focus" and isinstance(value, list):
                    change[side] = ", ".join(str(dict(ThreatFocus.choices).get(v, v)) for v in value) or "—"
                else:
                    change[side] = _display(value)


def _display(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def after_action_of(engagement: Engagement) -> AfterActionReport | None:
    """The engagement's report, or None; never a query when the list or page loaded it with select_related."""
    try:
        return engagement.after_action
    except AfterActionReport.DoesNotExist:
        return None


def aar_timeliness(engagement: Engagement, *, today: datetime.date | None = None) -> dict | None:
    """How the after-action report stands against the engagement's end.

    ``submitted``: days after the end it came in (negative if before). ``overdue``: completed, no report,
    ended more than 30 days ago (days since the end). ``due``: ended, no report yet, within the 30 days
    (days left). None when no report is expected yet (planned, approved, cancelled, still running).
    """
    report = after_action_of(engagement)
    if report is not None:
        days = (report.submitted_at.date() - engagement.end_date).days
        return {"state": "submitted", "days": days, "late": days > AAR_OVERDUE_DAYS}
    if engagement.status not in (Status.COMPLETED, Status.IN_PROGRESS):
        return None
    today = today or timezone.localdate()
    since_end = (today - engagement.end_date).days
    if since_end < 0:  # still running: the 30 days start at the end
        return None
    if engagement.status == Status.COMPLETED and since_end > AAR_OVERDUE_DAYS:
        return {"state": "overdue", "days": since_end, "late": True}
    return {"state": "due", "days": max(0, AAR_OVERDUE_DAYS - since_end), "late": False}


def stale_status(*, user, today: datetime.date | None = None) -> QuerySet[Engagement]:
    """Engagements still planned or approved after their end date (``rules.needs_update``), oldest first."""
    return (
        Engagement.objects.visible_to(user)
        .filter(rules.needs_update(today))
        .select_related("host_country")
        .order_by("end_date", "id")
    )


def upcoming_engagements(*, user, today: datetime.date | None = None, days: int = 90) -> QuerySet[Engagement]:
    """What starts in the next ``days`` days (not cancelled), soonest first."""
    today = today or timezone.localdate()
    return (
        Engagement.objects.visible_to(user)
        .filter(start_date__gte=today, start_date__lte=today + datetime.timedelta(days=days))
        .exclude(status=Status.CANCELLED)
        .select_related("host_country")
        .order_by("start_date", "id")
    )


def viewer_home(*, user, today: datetime.date | None = None) -> dict | None:
    """The home panel of users who read but do not write engagements: what is under way, what comes next,
    what was recently recorded (only what they may read), and where to go from there."""
    if user.has_perm("engagements.add_engagement"):
        return None
    today = today or timezone.localdate()
    visible = Engagement.objects.visible_to(user)
    counts = visible.aggregate(
        running=Count("pk", filter=Q(start_date__lte=today, end_date__gte=today) & ~Q(status=Status.CANCELLED)),
        upcoming=Count(
            "pk",
            filter=Q(start_date__gt=today, start_date__lte=today + datetime.timedelta(days=90))
            & ~Q(status=Status.CANCELLED),
        ),
    )
    running = (
        visible.filter(start_date__lte=today, end_date__gte=today)
        .exclude(status=Status.CANCELLED)
        .select_related("host_country")
        .order_by("end_date", "id")
    )
    return {
        "running": list(running[:8]),
        "upcoming": list(upcoming_engagements(user=user, today=today)[:8]),
        "recent": list(recent_engagements(user=user, limit=8)),
        "counts": counts,
        "today": today,
        "upcoming_until": today + datetime.timedelta(days=90),
    }


def planner_home(*, user, today: datetime.date | None = None) -> dict | None:
    """The planner's panel on the home page: engagements whose status needs an update, overdue after-action
    reports and recent engagements.

    None for users who cannot write engagements (the panel is not shown to them).
    """
    if not user.has_perm("engagements.add_engagement"):
        return None
    overdue = overdue_after_action(user=user, today=today)
    stale = stale_status(user=user, today=today)
    return {
        "stale": list(stale[:15]),
        "stale_count": stale.count(),
        "overdue": list(overdue[:15]),
        "overdue_count": overdue.count(),
        "recent": list(recent_engagements(user=user)),
        "today": today or timezone.localdate(),
    }


def _feed_window(since, after, *, order: int) -> Q:
    """History rows of one side of the feed (``order``: 0 engagements, 1 reports) at or after ``since``
    and strictly after the feed position ``after`` = (time, order, history id)."""
    window = Q(history_date__gte=since) if since is not None else Q()
    if after is not None:
        time, after_order, history_id = after
        if order > after_order:
            window &= Q(history_date__gte=time)
        elif order == after_order:
            window &= Q(history_date__gt=time) | Q(history_date=time, history_id__gt=history_id)
        else:
            window &= Q(history_date__gt=time)
    return window


def engagement_changes(
    *, user, since: datetime.datetime | None = None, after: tuple[datetime.datetime, int, int] | None = None
) -> QuerySet:
    """What happened to engagements at or after ``since`` and after the position ``after``, oldest first,
    from the change history.

    Rows are ordered by (``row_time``, ``row_order``, ``row_history_id``), a unique key: ``after`` is such a
    key (the last row a client read), so paging by it neither repeats nor skips rows that share a time.

    One row per recorded change: ``row_engagement`` (id), ``row_reference``, ``row_action`` (created, updated,
    deleted, withdrawn), ``row_time``, ``row_user`` (username or None). A soft delete is "deleted"; a change to
    the after-action report is an "updated" of its engagement.

    For users who may not read restricted engagements the feed replays what they could see: changes made
    while an engagement was restricted are left out; the change that made it restricted is "withdrawn" (a
    sync client drops its copy) and the one that made it unclassified again is "created" (it fetches it).
    Each row's state is compared with the engagement's previous recorded state in the same query, so the
    number of queries does not grow with the rows.
    """
    historical_engagement = Engagement.history.model
    historical_report = AfterActionReport.history.model
    restricted = Sensitivity.RESTRICTED

    engagement_rows = historical_engagement.objects.filter(_feed_window(since, after, order=0))
    report_rows = historical_report.objects.filter(_feed_window(since, after, order=1))
    deleted = [When(history_type="-", then=Value("deleted")), When(deleted_at__isnull=False, then=Value("deleted"))]
    created = [When(history_type="+", then=Value("created"))]
    actions = [*deleted, *created]
    if not may_read_restricted(user):
        # The engagement's sensitivity in its previous history row ("" for its first row).
        before = (
            historical_engagement.objects.filter(id=OuterRef("id"), history_id__lt=OuterRef("history_id"))
            .order_by("-history_id")
            .values("sensitivity")[:1]
        )
        engagement_rows = engagement_rows.annotate(sensitivity_before=Coalesce(Subquery(before), Value(""))).filter(
            ~Q(sensitivity=restricted) | ~Q(sensitivity_before__in=["", restricted])
        )
        actions = [
            When(sensitivity=restricted, then=Value("withdrawn")),  # kept above only when it just became restricted
            *deleted,
            When(sensitivity_before=restricted, then=Value("created")),  # the restriction was lifted
            *created,
        ]
        # A report change counts as the engagement's sensitivity stood at that moment (today's if no history).
        then = (
            historical_engagement.objects.filter(
                id=OuterRef("engagement_id"), history_date__lte=OuterRef("history_date")
            )
            .order_by("-history_date", "-history_id")
            .values("sensitivity")[:1]
        )
        now = Engagement.objects.filter(pk=OuterRef("engagement_id")).values("sensitivity")[:1]
        report_rows = report_rows.annotate(sensitivity_then=Coalesce(Subquery(then), Subquery(now), Value(""))).exclude(
            sensitivity_then=restricted
        )
    # Each side of the union must be unordered (history models order newest first by default).
    engagement_rows = engagement_rows.order_by().values(
        row_time=F("history_date"),
        row_order=Value(0),
        row_history_id=F("history_id"),
        row_engagement=F("id"),
        row_reference=F("reference"),
        row_action=Case(*actions, default=Value("updated")),
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


def calendar_feed_secret(*, user) -> str | None:
    """The secret of ``user``'s calendar feed address, or None when they have none yet."""
    key = CalendarFeed.objects.filter(user=user).values_list("key", flat=True).first()
    return secret_for(key) if key else None


def calendar_feed_owner(*, secret: str):
    """The active user whose feed ``secret`` this is, or None (wrong, reset, or the user was deactivated)."""
    key = key_of(secret)
    if key is None:
        return None
    feed = CalendarFeed.objects.select_related("user").filter(key=key, user__is_active=True).first()
    return feed.user if feed else None


def calendar_participations(*, engagement_ids) -> QuerySet[Participation]:
    """The participations of the engagements drawn on the timeline, with their partners (rows per partner)."""
    return Participation.objects.filter(engagement_id__in=list(engagement_ids)).select_related("partner")


def engagements_in_feed(*, user, since: datetime.date) -> QuerySet[Engagement]:
    """What ``user``'s calendar feed may hold: the engagements they may see that end on or after ``since``."""
    return (
        Engagement.objects.visible_to(user)
        .filter(end_date__gte=since)
        .select_related("host_country")
        .order_by("start_date", "id")
    )


# --- organisational units (their engagements are counted here: what a user may see) ---------------------


def _unit_counts(user):
    from core.models import Unit

    visible = Engagement.objects.visible_to(user).filter(owner_unit=OuterRef("pk")).order_by().values("owner_unit")
    members = Unit.members.through.objects.filter(unit=OuterRef("pk")).order_by().values("unit")
    return {
        "engagement_count": Coalesce(
            Subquery(visible.annotate(n=Count("pk")).values("n"), output_field=IntegerField()), Value(0)
        ),
        "member_count": Coalesce(
            Subquery(members.annotate(n=Count("pk")).values("n"), output_field=IntegerField()), Value(0)
        ),
    }


def unit_list(*, user) -> QuerySet:
    """Every unit with its parent's code, its members and the engagements ``user`` may see that it owns."""
    from core.models import Unit

    return Unit.objects.select_related("parent").annotate(**_unit_counts(user)).order_by("code")


def unit_tree(*, user) -> list:
    """The units depth first, each with ``depth`` (0 for a command), children after their parent by name."""
    units = list(unit_list(user=user).order_by("name"))
    children: dict = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    ordered, stack = [], [(unit, 0) for unit in reversed(children.get(None, []))]
    while stack:
        unit, depth = stack.pop()
        unit.depth = depth
        ordered.append(unit)
        stack.extend((child, depth + 1) for child in reversed(children.get(unit.pk, [])))
    return ordered


def unit_get(*, user, code: str):
    """One unit by code (any case) with its counts, its parent, children and members; None if unknown."""
    if "\x00" in (code or ""):
        return None
    unit = unit_list(user=user).filter(code__iexact=code).first()
    if unit is None:
        return None
    unit.child_units = list(unit_list(user=user).filter(parent=unit).order_by("name"))
    unit.member_list = list(unit.members.prefetch_related("groups").order_by("username"))
    return unit
