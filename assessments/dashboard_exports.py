"""The dashboards' CSV tables: each page's tables as files, with the columns the page shows.

A dashboard view asks ``requested_table(request)`` and, when a table is asked for, returns one of these
instead of the page; kept apart from the views so a view only parses, calls and renders.
"""

from __future__ import annotations

import itertools

from django.utils.text import slugify
from django.utils.translation import ngettext

from assessments.choices import COMPONENTS, Component
from core.exports import csv_response

SCORE_COLUMNS = ["overall", *COMPONENTS]


def requested_table(request) -> str | None:
    """The table asked for as CSV (``?export=csv&table=name``), or None for the page."""
    if request.GET.get("export") != "csv":
        return None
    return request.GET.get("table") or "scores"


def _num(value):
    """A figure as a CSV cell: empty when missing, else rounded to 4 places."""
    return "" if value is None else round(value, 4)


def trend_csv(trend: list[dict], *, filename: str):
    """Mean scores per quarter (the overview's and the organization and region pages' trend)."""
    return csv_response(
        filename=filename,
        header=["period", "partners_scored", "overall", *COMPONENTS],
        rows=([str(r["quarter"]), r["partners_scored"], *[_num(r[name]) for name in SCORE_COLUMNS]] for r in trend),
    )


def group_scores_csv(rows, *, key: str, header: str, quarter, filename: str):
    """Region or organization means for a quarter (the overview's comparison tables)."""
    return csv_response(
        filename=filename,
        header=[header, "period", "partners_scored", "overall", *COMPONENTS],
        rows=([r[key], str(quarter), r["partners_scored"], *[_num(r[n]) for n in SCORE_COLUMNS]] for r in rows),
    )


def overview_csv(table: str, *, quarter, scores, data: dict):
    """One of the overview's tables; ``data`` as ``dashboard_selectors.overview_data`` gives it."""
    trend, activity, alerts, movers = data["trend"], data["activity"], data["alerts"], data["movers"]
    if table in ("regions", "organizations"):
        key, header = ("partner__region", "region") if table == "regions" else ("organization__acronym", "organization")
        return group_scores_csv(
            data["region_scores"] if table == "regions" else data["organization_scores"],
            key=key,
            header=header,
            quarter=quarter,
            filename=f"{table}-{quarter}.csv",
        )
    if table == "trend":
        return trend_csv(trend, filename=f"mean-scores-to-{quarter}.csv")
    if table == "activity":
        types = [s["type"] for s in activity["series"]]
        return csv_response(
            filename=f"engagements-by-type-to-{quarter}.csv",
            header=["period", *types, "total"],
            rows=(
                [label, *[s["counts"][i] for s in activity["series"]], activity["totals"][i]]
                for i, label in enumerate(activity["quarters"])
            ),
        )
    if table == "alerts":
        return csv_response(
            filename=f"open-alerts-to-{quarter}.csv",
            header=[
                "partner",
                "name",
                "period",
                "previous_overall",
                "overall",
                "delta_overall",
                "raised_at",
                "provisional",
            ],
            rows=(
                [
                    a.partner.iso3,
                    a.partner.name,
                    a.period_label,
                    _num(a.previous_overall),
                    _num(a.overall),
                    _num(a.delta_overall),
                    a.raised_at.isoformat(),
                    a.provisional,
                ]
                for a in alerts
            ),
        )
    if table == "movers":
        return csv_response(
            filename=f"movers-{quarter}.csv",
            header=["direction", "partner", "name", "period", "overall", "delta_overall"],
            rows=(
                [direction, s.partner.iso3, s.partner.name, s.period_label, _num(s.overall), _num(s.delta_overall)]
                for direction in ("risers", "fallers")
                for s in movers[direction]
            ),
        )
    return scores_csv(scores, filename=f"scores-{quarter}.csv")


SCORE_CSV_HEADER = [
    "partner",
    "name",
    "region",
    "period",
    "overall",
    *COMPONENTS,
    "engagement_count",
    "delta_overall",
    "scoring_model",
    "computed_at",
    # Added with the second edition: at the end, so that readers of the earlier columns by position go on working.
    "report_count",
    "confidence",
    "provisional",
]


def scores_csv(scores, *, filename: str):
    """Score rows as the scores API lists them."""
    rows = (
        [
            s.partner.iso3,
            s.partner.name,
            s.partner.region,
            s.period_label,
            _num(s.overall),
            *[_num(getattr(s, name)) for name in COMPONENTS],
            s.engagement_count,
            _num(s.delta_overall),
            s.scoring_model.version,
            s.computed_at.isoformat(),
            s.report_count,
            s.confidence,
            s.provisional,
        ]
        for s in scores
    )
    return csv_response(filename=filename, header=SCORE_CSV_HEADER, rows=rows)


def restricted_lines(explanation: dict) -> list[dict]:
    """The explanation's restricted-engagement lines with their component's label and a sentence for exports."""
    labels = dict(Component.choices)
    return [
        {
            **line,
            "label": labels[line["component"]],
            "text": ngettext(
                "%(component)s: %(count)d restricted engagement, weight %(weight).2f",
                "%(component)s: %(count)d restricted engagements, weight %(weight).2f",
                line["engagement_count"],
            )
            % {"component": labels[line["component"]], "count": line["engagement_count"], "weight": line["weight"]},
        }
        for line in explanation["restricted"]
    ]


def partner_csv(table, *, partner, quarter, data: dict):
    """One of a partner's tables: its score history, the explanation's engagements, the components beside
    the region's means, or its indicators."""
    code = partner.iso3
    history, explanation, comparison = data["history"], data["explanation"], data["comparison"]
    indicators = data["indicators"]
    if table == "engagements":
        return csv_response(
            filename=f"explanation-{code}-{quarter}.csv",
            header=[
                "reference",
                "title",
                "start_date",
                "end_date",
                "status",
                "role",
                "age_days",
                "weight",
                "share_of_weight",
                "participants",
                "organizations",
                "multilateral",
                "interoperability_rating",
                "capacity_rating",
                "trust_rating",
            ],
            rows=itertools.chain(
                (
                    [
                        e["reference"],
                        e["title"],
                        e["start_date"],
                        e["end_date"],
                        e["status"],
                        e["role"],
                        e["age_days"],
                        _num(e["weight"]),
                        _num(e["share_of_weight"]),
                        e["participant_count"],
                        ";".join(e["organizations"]),
                        e["multilateral"],
                        *((e["ratings"] or {}).get(k, "") for k in ("interoperability", "capacity", "trust")),
                    ]
                    for e in explanation["engagements"]
                ),
                # For users who may not read them, restricted engagements are one line per component, nothing more.
                (
                    ["restricted", line["text"], *[""] * 5, _num(line["weight"]), *[""] * 7]
                    for line in restricted_lines(explanation)
                ),
            ),
        )
    if table == "components":
        return csv_response(
            filename=f"components-{code}-{quarter}.csv",
            header=["component", "partner", "region_mean"],
            rows=([row["name"], _num(row["partner"]), _num(row["region"])] for row in comparison),
        )
    if table == "indicators":
        return csv_response(
            filename=f"indicators-{code}-{quarter}.csv",
            header=["objective", "indicator", "unit", "baseline", "target", "latest_value", "latest_date", "progress"],
            rows=(
                [
                    i.objective.title,
                    i.name,
                    i.unit,
                    i.baseline_value,
                    i.target_value,
                    "" if i.latest_value is None else i.latest_value,
                    i.latest_date or "",
                    _num(i.progress),
                ]
                for i in indicators
            ),
        )
    return scores_csv(history, filename=f"scores-{code}.csv")


def comparison_csv(table: str, *, comparison: dict, component_rows: list[dict]):
    """A comparison's tables: the components side by side (one column per partner, the default), each
    partner's overall-score trend, or the shared engagements."""
    quarter = comparison["quarter"]
    codes = [row["partner"].iso3 for row in comparison["partners"]]
    name = "-".join(codes)
    if table == "trend":
        return csv_response(
            filename=f"compare-{name}-trend-to-{quarter}.csv",
            header=["period", *codes],
            rows=(
                [str(q), *[_num(row["trend"][i]) for row in comparison["partners"]]]
                for i, q in enumerate(comparison["trend_quarters"])
            ),
        )
    if table == "shared":
        return csv_response(
            filename=f"compare-{name}-shared-{quarter}.csv",
            header=["reference", "title", "start_date", "end_date", "status", "partners"],
            rows=(
                [
                    s["engagement"].reference,
                    s["engagement"].title,
                    s["engagement"].start_date,
                    s["engagement"].end_date,
                    s["engagement"].status,
                    ";".join(p.iso3 for p in s["partners"]),
                ]
                for s in comparison["shared"]
            ),
        )
    return csv_response(
        filename=f"compare-{name}-{quarter}.csv",
        header=["measure", *codes],
        rows=([row["name"], *[_cell(v) for v in row["values"]]] for row in component_rows),
    )


def _cell(value):
    return _num(value) if isinstance(value, float) else ("" if value is None else value)


def network_csv(table: str, *, network: dict):
    """The cooperation network's tables: its edges (the default; one row per pair) or its nodes."""
    scope = network["scope"].label
    name = f"network-{slugify(scope)}-{network['first']}-{network['last']}"
    if table == "nodes":
        return csv_response(
            filename=f"{name}-partners.csv",
            header=["partner", "name", "partners", "shared_engagements", "first_time_pairings"],
            rows=([n.partner.iso3, n.partner.name, n.partners, n.engagements, n.first_time] for n in network["nodes"]),
        )
    return csv_response(
        filename=f"{name}.csv",
        header=["partner", "other", "shared_engagements", "first_shared_quarter", "first_time"],
        rows=(
            [e.partner.iso3, e.other.iso3, e.engagements, str(e.first_quarter), "yes" if e.first_time else "no"]
            for e in network["edges"]
        ),
    )
