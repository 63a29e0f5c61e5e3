"""Deconfliction: which other engagements a planner should look at before (or after) saving one, each once,
classified and ranked. The one home of these rules; pages, API, import preview and the availability check
all ask ``findings``.

A finding is about a pair of engagements, never repeated: if the other engagement is both in the same host
country and shares partners, that is one finding of its strongest kind, naming the partners too. Kinds, from
the most to the least pressing (``RANK``):

- ``likely_duplicate``: same host, start within 7 days, and the same series or a similar title;
- ``host_overlap``: same host country on overlapping dates (two events competing for the same host);
- ``partner_overlap``: a partner is already taking part in another engagement on overlapping dates;
- ``long_mission``: the only overlap is with a long mission (``LONG_MISSION_DAYS`` or more, e.g. a
  peacekeeping rotation): a partner with a contingent deployed for months is rarely unavailable for a week's
  exercise, so it is said once, last.

A dismissed finding (``FindingDismissal``, with who, when and a note) is not shown again for that pair.
Restricted engagements the user may not read are invisible here as everywhere: they never make a partner or
a host "busy" in that user's answer (DESIGN, "Restricted means invisible": even a bare "busy" on given dates
would reveal that something restricted is planned there).
"""

from __future__ import annotations

import datetime
import difflib
import operator
import re
from dataclasses import dataclass, field
from functools import reduce

from django.contrib.postgres.fields import DateRangeField
from django.db import connection
from django.db.backends.postgresql.psycopg_any import DateRange
from django.db.models import DateField, Exists, ExpressionWrapper, F, Func, IntegerField, OuterRef, Q, Value
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from engagements.choices import Status, WarningKind
from engagements.models import Engagement, ExerciseSeries, FindingDismissal, Participation
from partners.models import PartnerNation

DUPLICATE_WINDOW_DAYS = 7
TITLE_SIMILARITY = 0.75
# An engagement this long or longer is a long mission (peacekeeping rotations run for months).
LONG_MISSION_DAYS = 60
# Candidates read per check, and findings shown: enough for any real plan, bounded for any data.
MAX_CANDIDATES = 200
MAX_FINDINGS = 25

# What ``classify`` and a finding's message and dict read of the other engagement: its candidates are read
# with these alone (not the description, search names and the rest of each of 200 rows).
CANDIDATE_FIELDS = (
    "reference",
    "title",
    "start_date",
    "end_date",
    "series_id",
    "partner_ids",
    "host_country__name",
    "host_country__iso3",
)

# Lower first: the order findings are shown in.
RANK = {
    WarningKind.LIKELY_DUPLICATE: 1,
    WarningKind.HOST_OVERLAP: 2,
    WarningKind.PARTNER_OVERLAP: 3,
    WarningKind.LONG_MISSION: 4,
}
SEVERITY = {1: "high", 2: "high", 3: "medium", 4: "low"}
SEVERITY_LABELS = {
    "high": gettext_lazy("High"),
    "medium": gettext_lazy("Medium"),
    "low": gettext_lazy("Low"),
}


@dataclass(frozen=True)
class Plan:
    """What is known of the engagement being checked: dates and countries at least (the availability check
    needs nothing more); title and series find likely duplicates; ``engagement_id`` excludes itself."""

    start_date: datetime.date
    end_date: datetime.date
    host_country_id: int | None = None
    partner_ids: tuple[int, ...] = ()
    title: str = ""
    series_id: int | None = None
    engagement_id: int | None = None


@dataclass
class Finding:
    kind: str
    other: Engagement
    partners: list = field(default_factory=list)  # PartnerNation rows shared with the other engagement
    same_host: bool = False
    reason: str = ""  # for duplicates: same series or similar title

    @property
    def rank(self) -> int:
        return RANK[self.kind]

    def message(self) -> str:
        other = self.other
        values = {
            "reference": other.reference,
            "title": other.title,
            "start": _short_date(other.start_date),
            "end": _short_date(other.end_date),
            "partners": ", ".join(p.name for p in self.partners),
            "host": other.host_country.name,
            "reason": self.reason,
            "days": other.duration_days,
        }
        if self.kind == WarningKind.LIKELY_DUPLICATE:
            text = _("Possible duplicate of %(reference)s “%(title)s” (%(reason)s, same host, starting %(start)s).")
        elif self.kind == WarningKind.HOST_OVERLAP:
            text = _("%(reference)s “%(title)s” is also in %(host)s from %(start)s to %(end)s.")
        elif self.kind == WarningKind.PARTNER_OVERLAP:
            text = _("Already in %(reference)s “%(title)s” from %(start)s to %(end)s: %(partners)s.")
        else:
            text = _(
                "Deployed in the long mission %(reference)s “%(title)s” (%(days)s days, %(start)s to %(end)s): "
                "%(partners)s."
            )
        text = text % values
        if self.kind in (WarningKind.LIKELY_DUPLICATE, WarningKind.HOST_OVERLAP) and self.partners:
            text += " " + _("Shared partners: %(partners)s.") % values
        return text

    def as_dict(self) -> dict:
        rank = self.rank
        return {
            "kind": self.kind,
            "rank": rank,
            "severity": SEVERITY[rank],
            "message": self.message(),
            "engagement_id": self.other.pk,
            "reference": self.other.reference,
            "title": self.other.title,
            "start_date": self.other.start_date,
            "end_date": self.other.end_date,
            "host_country": self.other.host_country.iso3,
            "partners": [p.iso3 for p in self.partners],
        }


def _short_date(day: datetime.date) -> str:
    return date_format(day, "SHORT_DATE_FORMAT")


def _normalise_title(title: str) -> str:
    title = re.sub(r"\b(19|20)\d{2}\b", " ", (title or "").lower())
    return re.sub(r"[^a-z0-9]+", " ", title).strip()


def is_long_mission(engagement: Engagement) -> bool:
    return engagement.duration_days >= LONG_MISSION_DAYS


def _duplicate_reason(plan: Plan, other: Engagement) -> str:
    if plan.host_country_id is None or other.host_country_id != plan.host_country_id:
        return ""
    if abs((other.start_date - plan.start_date).days) > DUPLICATE_WINDOW_DAYS:
        return ""
    if plan.series_id is not None and other.series_id == plan.series_id:
        return _("same series")
    wanted = _normalise_title(plan.title)
    if wanted and difflib.SequenceMatcher(None, wanted, _normalise_title(other.title)).ratio() >= TITLE_SIMILARITY:
        return _("similar title")
    return ""


def classify(plan: Plan, other: Engagement, shared_partners: list) -> Finding | None:
    """The one finding ``other`` makes against ``plan``, of its strongest kind; None if it is no concern."""
    overlaps = other.start_date <= plan.end_date and other.end_date >= plan.start_date
    same_host = plan.host_country_id is not None and other.host_country_id == plan.host_country_id
    reason = _duplicate_reason(plan, other)
    if reason:
        kind = WarningKind.LIKELY_DUPLICATE
    elif not overlaps:
        return None
    elif is_long_mission(other):
        # Whatever the overlap, a long mission is background: said once, lowest.
        kind = WarningKind.LONG_MISSION
        if not shared_partners and not same_host:
            return None
    elif same_host:
        kind = WarningKind.HOST_OVERLAP
    elif shared_partners:
        kind = WarningKind.PARTNER_OVERLAP
    else:
        return None
    return Finding(kind=kind, other=other, partners=shared_partners, same_host=same_host, reason=reason)


def _meeting(others, first: datetime.date, last: datetime.date):
    """``others`` whose days meet [first, last]. On PostgreSQL as an overlap of day ranges, read along the
    GiST index ``engagement_span_live`` (migration 0020): compared as two dates, PostgreSQL walked the
    start-date index from the oldest engagement, 928,457 rows read to find the 964 it needed at a million."""
    if connection.vendor != "postgresql":
        return others.filter(start_date__lte=last, end_date__gte=first)
    span = Func(F("start_date"), F("end_date"), Value("[]"), function="daterange", output_field=DateRangeField())
    return others.alias(span=span).filter(span__overlap=DateRange(first, last, "[]"))


def _unindexed(name: str, output_field):
    """A column as ``column + 0`` on PostgreSQL: the same value, but no index on the column can serve it, so
    the range index is the only way in (with the columns themselves, PostgreSQL combined the range with the
    start-date index over 954,277 rows, 0.5 s)."""
    if connection.vendor != "postgresql":
        return F(name)
    return ExpressionWrapper(F(name) + 0, output_field=output_field)


def _taking_part(partner_ids: tuple[int, ...]) -> Q:
    """Engagements where one of ``partner_ids`` takes part. On PostgreSQL, from the partners the engagement
    carries on its row (``Engagement.partner_ids``, which triggers keep equal to its participations;
    migration 0022), included in ``engagement_span_live`` (migration 0024): the candidates' statement reads
    it from the range index, where it probed the participations once per engagement on the plan's days
    (about 1,000 to 9,000 probes on a save at a million)."""
    if connection.vendor == "postgresql":
        return Q(partner_ids__overlap=list(partner_ids))
    return Q(Exists(Participation.objects.filter(engagement_id=OuterRef("pk"), partner_id__in=partner_ids)))


def _shared_partners(plan: Plan, candidates: list[Engagement]) -> dict[int, list]:
    """Each candidate's partners among the plan's, by name: from the candidates' ``partner_ids`` and the
    plan's partners on PostgreSQL (one small query), from their participations elsewhere."""
    shared: dict[int, list] = {}
    if not (plan.partner_ids and candidates):
        return shared
    if connection.vendor == "postgresql":
        partners = PartnerNation.objects.filter(pk__in=plan.partner_ids).order_by("name", "pk")
        for partner in partners:
            for candidate in candidates:
                if partner.pk in candidate.partner_ids:
                    shared.setdefault(candidate.pk, []).append(partner)
        return shared
    rows = (
        Participation.objects.filter(engagement_id__in=[c.pk for c in candidates], partner_id__in=plan.partner_ids)
        .select_related("partner")
        .order_by("partner__name")
    )
    for row in rows:
        shared.setdefault(row.engagement_id, []).append(row.partner)
    return shared


def _candidates(plan: Plan, others):
    """The first ``MAX_CANDIDATES`` others by start date that share a partner over the plan's days, or its
    host over its days or near its start, with their host country: one statement.

    Every candidate meets the plan's days widened by the duplicate window, so the statement reads those from
    the range index ``engagement_span_live`` alone (live engagements not cancelled; it holds their id,
    dates, host, sensitivity and partners: no table row is read), keeps the ones of the same host or with one
    of the partners (``_taking_part``), and reads the details of the first ``MAX_CANDIDATES``. Three
    statements before, one per condition and one for the details: the partners' read each overlapping
    engagement's row. The first ``MAX_CANDIDATES`` of the union are the first of the union of each
    condition's first ``MAX_CANDIDATES``: the same candidates as then."""
    first, last = plan.start_date, plan.end_date
    found = others.alias(
        starts=_unindexed("start_date", DateField()),
        ends=_unindexed("end_date", DateField()),
        host=_unindexed("host_country_id", IntegerField()),
    )
    overlapping = Q(starts__lte=plan.end_date, ends__gte=plan.start_date)
    wanted = []
    if plan.partner_ids:
        wanted.append(overlapping & _taking_part(plan.partner_ids))
    if plan.host_country_id is not None:
        window = datetime.timedelta(days=DUPLICATE_WINDOW_DAYS)
        near = Q(starts__gte=plan.start_date - window, starts__lte=plan.start_date + window)
        wanted.append(Q(host=plan.host_country_id) & (overlapping | near))
        first, last = min(first, plan.start_date - window), max(last, plan.start_date + window)
    found = _meeting(found, first, last).filter(reduce(operator.or_, wanted))
    ids = found.order_by("starts", "id").values("pk")[:MAX_CANDIDATES]
    return (
        Engagement.objects.filter(pk__in=ids)
        .select_related("host_country")
        .only(*CANDIDATE_FIELDS)
        .order_by("start_date", "id")
    )


def dismissed_pairs(engagement_id: int) -> dict[int, FindingDismissal]:
    """The other engagements whose finding with ``engagement_id`` was dismissed, with the dismissal."""
    rows = FindingDismissal.objects.filter(Q(first_id=engagement_id) | Q(second_id=engagement_id)).select_related(
        "dismissed_by"
    )
    return {(row.second_id if row.first_id == engagement_id else row.first_id): row for row in rows}


def findings(plan: Plan, *, user=None, dismissed: set[int] | frozenset[int] = frozenset()) -> list[Finding]:
    """The findings for ``plan``, ranked (kind, then start date), at most ``MAX_FINDINGS``. Cancelled and
    deleted engagements never conflict; with ``user``, only what that user may read counts; the engagements
    in ``dismissed`` are left out. Two queries whatever the data (the candidates, their shared partners)."""
    if not (plan.start_date and plan.end_date) or plan.end_date < plan.start_date:
        return []
    if not plan.partner_ids and plan.host_country_id is None:
        return []
    others = Engagement.objects.visible_to(user) if user is not None else Engagement.objects.live()
    others = others.exclude(status=Status.CANCELLED)
    if plan.engagement_id is not None:
        others = others.exclude(pk=plan.engagement_id)
    candidates = [c for c in _candidates(plan, others) if c.pk not in dismissed]
    shared = _shared_partners(plan, candidates)
    found = [f for c in candidates if (f := classify(plan, c, shared.get(c.pk, []))) is not None]
    found.sort(key=lambda f: (f.rank, f.other.start_date, f.other.pk))
    return found[:MAX_FINDINGS]


def plan_from_codes(
    *,
    start_date: datetime.date,
    end_date: datetime.date,
    host: str | None = None,
    partners=(),
    title: str = "",
    series: str | None = None,
    engagement_id: int | None = None,
) -> tuple[Plan, list[str]]:
    """A plan from what a form or a query gives (ISO alpha-3 codes, a series slug), and the codes not known."""
    wanted = {code.strip().upper() for code in [host or "", *partners] if code and code.strip()}
    known = dict(PartnerNation.objects.filter(iso3__in=wanted).values_list("iso3", "pk"))
    unknown = sorted(wanted - set(known))
    host_code = (host or "").strip().upper()
    series_id = ExerciseSeries.objects.filter(slug=series).values_list("pk", flat=True).first() if series else None
    plan = Plan(
        start_date=start_date,
        end_date=end_date,
        host_country_id=known.get(host_code),
        partner_ids=tuple(sorted({known[c.strip().upper()] for c in partners if c and c.strip().upper() in known})),
        title=title or "",
        series_id=series_id,
        engagement_id=engagement_id,
    )
    return plan, unknown


def plan_of(engagement: Engagement) -> Plan:
    """The plan of a saved engagement (its participants read in one query)."""
    return Plan(
        start_date=engagement.start_date,
        end_date=engagement.end_date,
        host_country_id=engagement.host_country_id,
        partner_ids=tuple(engagement.participations.values_list("partner_id", flat=True)),
        title=engagement.title,
        series_id=engagement.series_id,
        engagement_id=engagement.pk,
    )


def engagement_findings(engagement: Engagement, *, user=None) -> list[dict]:
    """The findings of a saved engagement not dismissed, as dicts (pages, API answers after a save)."""
    dismissed = set(dismissed_pairs(engagement.pk)) if engagement.pk else set()
    return [f.as_dict() for f in findings(plan_of(engagement), user=user, dismissed=dismissed)]


def engagement_review(engagement: Engagement, *, user) -> dict:
    """What the findings panel and ``GET .../findings/`` show ``user``: the open findings, ranked, and the
    dismissed ones (``{"other", "dismissal"}``, oldest first) whose other engagement the user may see."""
    dismissed = dismissed_pairs(engagement.pk)
    found = findings(plan_of(engagement), user=user, dismissed=set(dismissed))
    others = Engagement.objects.visible_to(user).filter(pk__in=list(dismissed)).only("reference", "title")
    return {
        "findings": [f.as_dict() for f in found],
        "dismissed": sorted(
            ({"other": other, "dismissal": dismissed[other.pk]} for other in others),
            key=lambda row: row["dismissal"].dismissed_at,
        ),
    }
