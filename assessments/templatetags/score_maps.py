"""`{% score_map scores=... members=... %}`: a choropleth of overall scores, drawn on the server as inline SVG
from the vendored world-atlas shapes (keyed by ISO 3166-1 numeric, as ``PartnerNation.iso_numeric``), so it
works on a closed network and without JavaScript.

What the map says, and its legend with it:
- a country in the view with a score is filled by its score bucket (``score-0`` .. ``score-4``); one in the
  view without a score is ``score-none``, a colour of its own; every other shape is plain ``land``, "not in
  this view";
- a low-confidence score (DESIGN.md, Scores) is hatched: an SVG pattern laid over its fill;
- every shape has a ``<title>`` (the tooltip): the country's name, its score or "no score", the score's
  confidence and whether its quarter is provisional; the colour is never the only carrier of the value,
  and the pages list the same values in a table;
- a country whose shape is too small to see at the map's scale (Cape Verde, Seychelles, The Gambia on the
  world map), or which has no shape at 1:110m, also gets a circle marker with the same class and tooltip;
- ``zoom`` frames the shapes of the countries in the view (with padding) instead of the whole world.
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
from assessments.templatetags.dashboards import confidence_text
from partners.maps import HEIGHT, WIDTH, country_boxes, country_shapes, frame, project

register = template.Library()

# A shape whose larger side is under this share of the view's width is too small to find: it gets a marker.
SMALL_SHARE = 0.012
# The marker's radius as a share of the view's width (the same size on screen at every zoom).
MARKER_SHARE = 1 / 160
HATCH_ID = "score-hatch-low"
# The whole world without Antarctica and the empty far north, where no partner is scored.
WORLD = (0.0, 15.0, WIDTH, HEIGHT * 0.8)


@lru_cache(maxsize=4)  # one per language
def _land_shapes(suffix: str) -> list[tuple[str, str]]:
    """Every shape as plain land, its title naming it (atlas names) as outside the view: (numeric, SVG)."""
    return [
        (
            shape.iso_numeric,
            format_html('<path class="land" d="{}"><title>{}{}</title></path>', shape.path, shape.name, suffix),
        )
        for shape in country_shapes()
        if shape.path
    ]


def _land_layer(drawn: set[str]) -> str:
    """The land outside the view: the countries in it are drawn on top in full, so their shapes are left
    out here rather than sent twice."""
    return "".join(svg for numeric, svg in _land_shapes(_(": not in this view")) if numeric not in drawn)


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


def _point_box(partner) -> tuple[float, float, float, float] | None:
    if partner.latitude is None or partner.longitude is None:
        return None
    x, y = project(partner.latitude, partner.longitude)
    return x, y, x, y


def _tooltip(partner, score, period) -> str:
    """ "Senegal (SEN): 54.97 in 2026-Q4, low confidence, provisional" or "...: no score in 2026-Q4"."""
    values = {"name": partner.name, "iso3": partner.iso3, "period": quarter_display(period)}
    if score is None or score.overall is None:
        text = _("%(name)s (%(iso3)s): no score in %(period)s") % values
    else:
        text = _("%(name)s (%(iso3)s): %(score)s in %(period)s") % {
            **values,
            "score": number_format(score.overall, 2),
        }
        if score.confidence:
            text += ", " + confidence_text(score.confidence)
    if hasattr(period, "is_provisional") and period.is_provisional():
        text += ", " + _("provisional")
    return text


def _legend(*, hatched: bool, markers: bool) -> str:
    items = format_html_join(
        "",
        '<li><span class="swatch score-{}" aria-hidden="true"></span>{}</li>',
        (
            (index, _("%(low)s to %(high)s") % {"low": low, "high": high})
            for index, (low, high) in enumerate(SCORE_BUCKETS)
        ),
    )
    items += format_html('<li><span class="swatch score-none" aria-hidden="true"></span>{}</li>', _("no score"))
    if hatched:
        items += format_html(
            '<li><span class="swatch swatch-hatch" aria-hidden="true"></span>{}</li>',
            _("hatched: low confidence (fewer than 3 engagements or no after-action report)"),
        )
    if markers:
        items += format_html(
            '<li><span class="swatch swatch-marker" aria-hidden="true"></span>{}</li>',
            _("circle: a country too small to see at this scale"),
        )
    items += format_html('<li><span class="swatch land" aria-hidden="true"></span>{}</li>', _("not in this view"))
    return items


@register.simple_tag
def score_map(scores, label: str = "", period="", members=(), zoom: bool = False) -> str:
    """The choropleth. ``scores``: PartnerScore rows with ``partner`` loaded; ``members``: every partner in
    the page's view (those without a score are drawn as "no score"); ``zoom``: frame the view's countries."""
    scores = [s for s in scores if s is not None]
    by_partner = {s.partner_id: s for s in scores}
    in_view = [s.partner for s in scores] + [m for m in members if m.pk not in by_partner]
    query = f"?period={period}" if period else ""
    paths, boxes = _paths_by_numeric(), country_boxes()

    if zoom:
        framed = [boxes.get(p.iso_numeric) or _point_box(p) for p in in_view]
        left, top, width, height = frame([b for b in framed if b is not None])
    else:
        left, top, width, height = WORLD
    radius = width * MARKER_SHARE

    countries, hatches, markers, marker_hatches = [], [], [], []
    for partner in in_view:
        score = by_partner.get(partner.pk)
        css = "score-" + bucket(score.overall if score else None)
        low = score is not None and score.confidence == "low"
        if low:
            css += " confidence-low"
        href = reverse("assessments:partner", args=[partner.iso3]) + query
        tooltip = _tooltip(partner, score, period)
        path = paths.get(partner.iso_numeric)
        if path:
            countries.append((href, css, partner.iso3, path, tooltip))
            if low:
                hatches.append((partner.iso3, path))
        box = boxes.get(partner.iso_numeric)
        small = box is None or max(box[2] - box[0], box[3] - box[1]) < width * SMALL_SHARE
        centre = _point_box(partner) or (box and ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2) * 2)
        if small and centre:
            # A small state without a score stays findable, but its marker is smaller than a scored one's.
            size = radius if score is not None else radius * 0.6
            markers.append((href, css, partner.iso3, f"{centre[0]:.1f}", f"{centre[1]:.1f}", f"{size:.2f}", tooltip))
            if low:
                marker_hatches.append((partner.iso3, f"{centre[0]:.1f}", f"{centre[1]:.1f}", f"{size:.2f}"))

    return format_html(
        '<figure class="score-map"><svg class="map choropleth{}" viewBox="{} {} {} {}" role="group" aria-label="{}">'
        "<title>{}</title>"
        '<defs><pattern id="{}" class="hatch-pattern" patternUnits="userSpaceOnUse" width="{}" height="{}" '
        'patternTransform="rotate(45)"><rect width="{}" height="{}" class="hatch-line"/></pattern></defs>'
        '<rect class="sea" x="-10" y="-10" width="1020" height="520"/><g>{}</g><g class="countries">{}</g>'
        '<g class="hatches" aria-hidden="true">{}</g><g class="markers">{}</g><g class="hatches" aria-hidden="true">{}</g>'
        "</svg>"
        '<figcaption><span class="muted">{}</span><ul class="map-legend">{}</ul></figcaption></figure>',
        " map-zoomed" if zoom else "",
        f"{left:.1f}",
        f"{top:.1f}",
        f"{width:.1f}",
        f"{height:.1f}",
        label,
        label,
        HATCH_ID,
        f"{width / 160:.2f}",
        f"{width / 160:.2f}",
        f"{width / 400:.2f}",
        f"{width / 160:.2f}",
        mark_safe(_land_layer({p.iso_numeric for p in in_view if p.iso_numeric})),  # noqa: S308 (each piece escaped by format_html)
        format_html_join(
            "",
            '<a href="{}"><path class="land score {}" data-iso3="{}" d="{}"><title>{}</title></path></a>',
            countries,
        ),
        format_html_join("", '<path class="hatch" data-iso3="{}" d="{}" fill="url(#' + HATCH_ID + ')"/>', hatches),
        format_html_join(
            "",
            '<a href="{}"><circle class="score-marker {}" data-iso3="{}" cx="{}" cy="{}" r="{}"><title>{}</title>'
            "</circle></a>",
            markers,
        ),
        format_html_join(
            "",
            '<circle class="hatch" data-iso3="{}" cx="{}" cy="{}" r="{}" fill="url(#' + HATCH_ID + ')"/>',
            marker_hatches,
        ),
        _("Overall score (0 to 100); select a country to open its assessment."),
        _legend(hatched=bool(hatches) or any("confidence-low" in m[1] for m in markers), markers=bool(markers)),
    )
