"""Reads of the cooperation network: who trains with whom in a region or an organization over a window of
quarters. Partners are the nodes; two partners are linked by the engagements both took part in (as host,
lead or any other role), counted as the scores count them (completed or in progress, not deleted), each in
the quarter it starts; a pairing is *first-time* when the pair's first shared engagement falls inside the
window.

Restricted means invisible: for a user who may not read restricted engagements, they do not exist, so
they add nothing to an edge and cannot make a pairing "not first-time" either. The figures come from the
runs' pair snapshots (``PairQuarter``, ``services/pairs.py``); quarters no run has counted are paired live.

``network_request_clean`` is the one home of the request's rules (scope, window, defaults), asked by the
page's form and the API's serializer alike; ``cooperation_network`` runs a fixed number of queries,
whatever the number of engagements, partners or quarters.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import DateField, Min, Q, Sum, Value
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from assessments.dashboard_selectors import TREND_QUARTERS, Scope
from assessments.models import ActivityScope, PairQuarter, PartnerScore, QuarterActivity, ScoringModel
from assessments.periods import PeriodError, Quarter, quarter_range
from assessments.services.activity import quarter_of
from assessments.services.pairs import pair_rows, quarter_blocks
from assessments.services.runs import scoring_model_active
from engagements.models import Engagement, may_read_restricted, readable_by
from organizations.models import Membership
from partners import selectors as partner_selectors
from partners.models import PartnerNation

# The window drawn by default, ending with the latest scored quarter that has ended.
NETWORK_DEFAULT_QUARTERS = 8
# The longest window: ten years, as the trends.
NETWORK_MAX_QUARTERS = TREND_QUARTERS
# The query parameters naming the scope, as the overview names them; at least one is needed.
SCOPE_PARAMETERS = ("region", "subregion", "intermediate_region", "organization")


@dataclass(frozen=True)
class NetworkRequest:
    scope: Scope
    first: Quarter
    last: Quarter

    @property
    def quarters(self) -> list[Quarter]:
        return quarter_range(self.first, self.last)


def network_url(scope: Scope, *, last: Quarter | None = None) -> str:
    """The network page of a scope (the form alone for no scope), its window ending with ``last``."""
    params = {name: getattr(scope, name) for name in SCOPE_PARAMETERS if getattr(scope, name)}
    if params and last is not None:
        params["to"] = str(last)
    return reverse("assessments:network") + (f"?{urlencode(params)}" if params else "")


def network_default_last(model: ScoringModel | None = None) -> Quarter:
    """The latest quarter that has ended and has scores; the last quarter that ended when none has."""
    finished = Quarter.current().shift(-1)
    latest = (
        PartnerScore.objects.filter(scoring_model=model or scoring_model_active(), period__lte=finished.start)
        .order_by("-period")
        .values_list("period", flat=True)
        .first()
    )
    return Quarter.of(latest) if latest else finished


def network_request_clean(
    *,
    region: str = "",
    subregion: str = "",
    intermediate_region: str = "",
    organization: str = "",
    first: str = "",
    last: str = "",
    model: ScoringModel | None = None,
) -> NetworkRequest:
    """The scope (names as the reference data spells them, matched without case) and the window
    (``first`` and ``last`` as ``YYYY-Qn``; by default the ``NETWORK_DEFAULT_QUARTERS`` quarters ending with
    ``network_default_last``). Raises ``ValidationError`` with every field's message at once, keyed by the
    query parameters (``region``, ``subregion``, ``intermediate_region``, ``organization``, ``from``, ``to``).
    """
    errors: dict[str, list[str]] = {}
    given = {"region": region, "subregion": subregion, "intermediate_region": intermediate_region}
    names: dict[str, str] = {}
    for level, value in given.items():
        value = (value or "").strip()
        if not value:
            continue
        known = {name.lower(): name for name in partner_selectors.region_choices(level)}
        if value.lower() in known:
            names[level] = known[value.lower()]
        else:
            errors[level] = [_("Unknown UN M49 name “%(value)s”: pick one from the list.") % {"value": value}]
    acronym = (organization or "").strip()
    if acronym:
        known = {name.lower(): name for name in partner_selectors.organization_acronyms()}
        if acronym.lower() in known:
            names["organization"] = known[acronym.lower()]
        else:
            errors["organization"] = [
                _("Unknown organization “%(value)s”: use an acronym such as ECOWAS.") % {"value": acronym}
            ]
    if not names and not errors:
        errors["region"] = [
            _("Choose a region or an organization (or a subregion): the network is drawn for the partners in it.")
        ]
    quarters: dict[str, Quarter | None] = {}
    for parameter, value in (("from", first), ("to", last)):
        quarters[parameter] = None
        if (value or "").strip():
            try:
                quarters[parameter] = Quarter.parse(value.strip())
            except PeriodError as exc:
                errors[parameter] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    end = quarters["to"] or network_default_last(model)
    start = quarters["from"] or end.shift(1 - NETWORK_DEFAULT_QUARTERS)
    if start > end:
        field = "from" if quarters["from"] else "to"
        raise ValidationError(
            {
                field: [
                    _("The window runs from %(first)s to %(last)s: the first quarter comes after the last.")
                    % {"first": start, "last": end}
                ]
            }
        )
    length = end.index - start.index + 1
    if length > NETWORK_MAX_QUARTERS:
        raise ValidationError(
            {
                "from": [
                    _("Choose at most %(max)s quarters; from %(first)s to %(last)s is %(count)s.")
                    % {"max": NETWORK_MAX_QUARTERS, "first": start, "last": end, "count": length}
                ]
            }
        )
    return NetworkRequest(scope=Scope(**names), first=start, last=end)


def network_request_from(params) -> NetworkRequest:
    """``network_request_clean`` of query parameters as the page and the API name them (``from``, ``to``)."""
    return network_request_clean(
        **{name: params.get(name) or "" for name in SCOPE_PARAMETERS},
        first=params.get("from") or "",
        last=params.get("to") or "",
    )


@dataclass
class Edge:
    partner: PartnerNation
    other: PartnerNation
    engagements: int
    first_quarter: Quarter  # the pair's first shared quarter in all the history the user may see
    first_time: bool


@dataclass
class Node:
    partner: PartnerNation
    partners: int = 0  # how many partners of the scope it shares engagements with in the window
    engagements: int = 0  # the sum of its edges' weights (an engagement with three others counts three times)
    first_time: int = 0  # how many of its pairings are first-time


def _members_by_quarter(acronym: str, quarters: list[Quarter]) -> dict[datetime.date, set[int]]:
    """The organization's members on each quarter's last day (``members_on``, the rule's home), by the
    quarter's first day: one query."""
    asked = [
        Membership.objects.members_on(q.end)
        .filter(organization__acronym__iexact=acronym)
        .annotate(quarter=Value(q.start, output_field=DateField()))
        .order_by()
        .values_list("partner_id", "quarter")
        for q in quarters
    ]
    members: dict[datetime.date, set[int]] = defaultdict(set)
    for partner_id, period in asked[0].union(*asked[1:], all=True):
        members[quarter_of(period).start].add(partner_id)
    return members


def _uncounted_blocks(*, last: Quarter) -> list[tuple[Quarter, Quarter]]:
    """The quarters up to ``last`` that hold engagements and that no run has counted, as runs of
    consecutive quarters: they are paired live. Two queries (the oldest engagement, the counted quarters)."""
    oldest = Engagement.objects.aggregate(first=Min("start_date"))["first"]
    if oldest is None or Quarter.of(oldest) > last:
        return []
    wanted = quarter_range(Quarter.of(oldest), last)
    counted = {
        Quarter.of(period)
        for period in QuarterActivity.objects.filter(
            scope_kind=ActivityScope.EVERYTHING, period__gte=wanted[0].start, period__lte=last.start
        ).values_list("period", flat=True)
    }
    return quarter_blocks(q for q in wanted if q not in counted)


def cooperation_network(*, user, request: NetworkRequest) -> dict:
    """The network of ``request`` as ``user`` may see it: ``nodes`` (partners with at least one shared
    engagement, by name) and ``edges`` (heaviest first), each edge with the pair's first shared quarter in
    all the history ``user`` may see, and ``live_quarters`` (those of the window no run has counted yet,
    paired live). A partner is in an organization's network for the quarters it was a member on their last
    day, as the organization's scores count it. At most nine queries.
    """
    scope, quarters, first = request.scope, request.quarters, request.first
    regional = Scope(region=scope.region, subregion=scope.subregion, intermediate_region=scope.intermediate_region)
    members = _members_by_quarter(scope.organization, quarters) if scope.organization else None
    in_region = None
    if not regional.is_everything:
        in_region = set(regional.partners(PartnerNation.objects.all()).values_list("pk", flat=True))
    if members is None:
        ids = in_region or set()
    else:
        ids = set().union(*members.values()) if members else set()
        if in_region is not None:
            ids &= in_region

    # Quarters as their first days while adding up: thousands of rows, and dates compare fast.
    first_day = first.start
    weights: dict[tuple[int, int], int] = defaultdict(int)
    window_first: dict[tuple[int, int], datetime.date] = {}
    earlier: dict[tuple[int, int], datetime.date] = {}

    def add(partner_id: int, other_id: int, period, engagements: int) -> None:
        if isinstance(period, datetime.datetime):  # a truncated date, on some databases
            period = period.date()
        pair = (partner_id, other_id)
        if not engagements:
            return
        if period < first_day:
            if pair not in earlier or period < earlier[pair]:
                earlier[pair] = period
        elif members is None or (partner_id in members.get(period, ()) and other_id in members.get(period, ())):
            weights[pair] += engagements
            if pair not in window_first or period < window_first[pair]:
                window_first[pair] = period

    blocks = _uncounted_blocks(last=request.last) if ids else []
    live = {q for block in blocks for q in quarter_range(*block)}
    visible = Q() if may_read_restricted(user) else Q(restricted=False)
    if ids:
        stored = PairQuarter.objects.filter(
            visible,
            period__gte=first.start,
            period__lte=request.last.start,
            partner__in=ids,
            other__in=ids,
        )
        for row in stored.values_list("partner_id", "other_id", "period").annotate(n=Sum("engagements")).order_by():
            add(*row)
    if blocks:
        days = Q()
        for block_first, block_last in blocks:
            days |= Q(engagement__start_date__gte=block_first.start, engagement__start_date__lte=block_last.end)
        rows = pair_rows(first_day=blocks[0][0].start, last_day=blocks[-1][1].end).filter(
            days, readable_by(user, via="engagement__"), partner_id__in=ids, other__in=ids
        )
        for row in rows:
            add(row["partner_id"], row["other"], row["quarter_start"], row["engagements"])
    if weights:
        linked = {pid for pair in weights for pid in pair}
        history = (
            PairQuarter.objects.filter(visible, period__lt=first.start, partner__in=linked, other__in=linked)
            .values_list("partner_id", "other_id")
            .annotate(first=Min("period"))
            .order_by()
        )
        for a, b, period in history:
            add(a, b, period, 1)
    partners = {p.pk: p for p in PartnerNation.objects.filter(pk__in={pid for pair in weights for pid in pair})}
    edges = [
        Edge(
            # By name, as the table lists them.
            *sorted((partners[a], partners[b]), key=lambda p: p.name),
            engagements=n,
            first_quarter=Quarter.of(earlier.get((a, b), window_first[(a, b)])),
            first_time=(a, b) not in earlier,
        )
        for (a, b), n in weights.items()
    ]
    edges.sort(key=lambda e: (-e.engagements, e.partner.name, e.other.name))
    nodes = {pk: Node(partner=p) for pk, p in partners.items()}
    for edge in edges:
        for end in (edge.partner, edge.other):
            node = nodes[end.pk]
            node.partners += 1
            node.engagements += edge.engagements
            node.first_time += edge.first_time
    return {
        "request": request,
        "scope": scope,
        "first": first,
        "last": request.last,
        "quarters": quarters,
        "nodes": sorted(nodes.values(), key=lambda n: n.partner.name),
        "edges": edges,
        "live_quarters": [q for q in quarters if q in live],
        "first_time_count": sum(e.first_time for e in edges),
    }


def network_graph(network: dict) -> dict:
    """The network as the page's script draws it (cytoscape elements): ids are ISO codes."""
    return {
        "nodes": [
            {"id": n.partner.iso3, "label": n.partner.name, "partners": n.partners, "engagements": n.engagements}
            for n in network["nodes"]
        ],
        "edges": [
            {
                "source": e.partner.iso3,
                "target": e.other.iso3,
                "engagements": e.engagements,
                "first_time": e.first_time,
            }
            for e in network["edges"]
        ],
    }
