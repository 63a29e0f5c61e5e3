"""`{% score_map scores=... %}`: a world choropleth of overall scores, drawn on the server as inline SVG from
the vendored world-atlas shapes (keyed by ISO 3166-1 numeric, as ``PartnerNation.iso_numeric``).

Each scored country is filled by its score bucket and links to its assessment page; its ``<title>`` names
the country and the score, so the colour is never the only carrier of the value (the page also lists the
same values in a table). Countries too small to see at this scale get a dot in their bucket's colour.
"""

from __future__ import annotations

from functools import lru_cache

from django import template
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from assessments.dashboard_selectors import SCORE_BUCKETS
from assessments.periods import quarter_display
from partners.maps import HEIGHT, WIDTH, country_shapes, project

register = template.Library()

# Shapes shorter than this many characters of path data are islands too small to click on the world map.
SMALL_SHAPE = 120
MIN_ZOOM_WIDTH = 160.0


@lru_cache(maxsize=1)
def _land_layer() -> str:
    return "".join(f'<path class="land" d="{shape.path}"/>' for shape in country_shapes() if shape.path)


@lru_cache(maxsize=1)
def _paths_by_numeric() -> dict[str, str]:
    paths: dict[str, str] = {}
    for shape in country_shapes():
        if shape.iso_numeric and shape.path:
            paths[shape.iso_numeric] = paths.get(shape.iso_numeric, "") + shape.path
    return paths


def score_bucket(value) -> int | None:
    """0..4 for a score in [0, 100] (the top bucket includes 100); None for no score."""
    if value is None:
        return None
    for index, (_low, high) in enumerate(SCORE_BUCKETS):
        if value < high:
            return index
    return len(SCORE_BUCKETS) - 1


@register.filter
def bucket(value) -> str:
    index = score_bucket(value)
    return "none" if index is None else str(index)


def _viewbox(partners) -> tuple[float, float, float, float]:
    points = [project(p.latitude, p.longitude) for p in partners if p.latitude is not None and p.longitude is not None]
    if not points:
        return 0.0, 0.0, WIDTH, HEIGHT
    xs, ys = [x for x, _y in points], [y for _x, y in points]
    pad = 35.0
    left, right = min(xs) - pad, max(xs) + pad
    top, bottom = min(ys) - pad, max(ys) + pad
    width = max(right - left, (bottom - top) * 2, MIN_ZOOM_WIDTH)
    width = min(width, WIDTH)
    height = width / 2
    centre_x, centre_y = (left + right) / 2, (top + bottom) / 2
    left = min(max(centre_x - width / 2, 0.0), WIDTH - width)
    top = min(max(centre_y - height / 2, 0.0), HEIGHT - height)
    return left, top, width, height


def _label(score, period: str) -> str:
    if score.overall is None:
        return _("%(name)s (%(iso3)s): no overall score in %(period)s") % {
            "name": score.partner.name,
            "iso3": score.partner.iso3,
            "period": period,
        }
    return _("%(name)s (%(iso3)s): %(score)s in %(period)s") % {
        "name": score.partner.name,
        "iso3": score.partner.iso3,
        "score": number_format(score.overall, 2),
        "period": period,
    }


@register.simple_tag
def score_map(scores, label: str = "", period: str = "", members=(), zoom: bool = False) -> str:
    """The choropleth. ``scores``: PartnerScore rows with ``partner`` loaded; ``members``: partners of the
    page's scope that have no score (shown hatched, with a title saying so); ``zoom``: frame the partners."""
    scores = [s for s in scores if s is not None]
    period = str(period or "")
    shown = quarter_display(period)  # the tooltips' text; the links keep YYYY-Qn
    paths = _paths_by_numeric()
    query = f"?period={period}" if period else ""

    # The whole world without Antarctica and the empty far north, where no partner is scored.
    world = (0.0, 15.0, WIDTH, HEIGHT * 0.8)
    left, top, width, height = _viewbox([s.partner for s in scores] + list(members)) if zoom else world
    radius = f"{max(width / 300, 1.2):.2f}"

    def link(score) -> str:
        return reverse("assessments:partner", args=[score.partner.iso3]) + query

    shapes = format_html_join(
        "",
        '<a href="{}"><path class="land score score-{}" d="{}"><title>{}</title></path></a>',
        (
            (link(s), bucket(s.overall), paths[s.partner.iso_numeric], _label(s, shown))
            for s in scores
            if s.partner.iso_numeric in paths
        ),
    )
    dots = format_html_join(
        "",
        '<a href="{}"><circle class="score-dot score-{}" cx="{}" cy="{}" r="{}"><title>{}</title></circle></a>',
        (
            (link(s), bucket(s.overall), *project(s.partner.latitude, s.partner.longitude), radius, _label(s, shown))
            for s in scores
            if s.partner.latitude is not None
            and s.partner.longitude is not None
            and len(paths.get(s.partner.iso_numeric, "")) < SMALL_SHAPE
        ),
    )
    scored = {s.partner_id for s in scores}
    unscored = [m for m in members if m.pk not in scored]
    hatched = format_html_join(
        "",
        '<path class="land member-unscored" d="{}"><title>{}</title></path>',
        (
            (paths[m.iso_numeric], _("%(name)s (%(iso3)s): no score") % {"name": m.name, "iso3": m.iso3})
            for m in unscored
            if m.iso_numeric in paths
        ),
    )
    legend = format_html_join(
        "",
        '<li><span class="swatch score-{}" aria-hidden="true"></span>{}</li>',
        (
            (index, (_("%(low)s to %(high)s") % {"low": low, "high": high}))
            for index, (low, high) in enumerate(SCORE_BUCKETS)
        ),
    )
    legend += format_html(
        '<li><span class="swatch score-none" aria-hidden="true"></span>{}</li>', _("no overall score")
    )
    if members:
        legend += format_html(
            '<li><span class="swatch member-unscored" aria-hidden="true"></span>{}</li>', _("member, no score")
        )
    legend += format_html('<li><span class="swatch land" aria-hidden="true"></span>{}</li>', _("not in this view"))
    return format_html(
        '<figure class="score-map"><svg class="map choropleth{}" viewBox="{} {} {} {}" role="group" aria-label="{}">'
        "<title>{}</title>"
        '<rect class="sea" x="-10" y="-10" width="1020" height="520"/><g>{}</g><g>{}</g><g>{}</g><g>{}</g></svg>'
        '<figcaption><span class="muted">{}</span><ul class="map-legend">{}</ul></figcaption></figure>',
        " map-zoomed" if zoom else "",
        f"{left:.1f}",
        f"{top:.1f}",
        f"{width:.1f}",
        f"{height:.1f}",
        label,
        label,
        mark_safe(_land_layer()),  # noqa: S308 (built from our vendored, numeric-only path data)
        hatched,
        shapes,
        dots,
        _("Overall score (0 to 100); select a country to open its assessment."),
        legend,
    )
