"""`{% world_map partners=... %}`: an inline SVG world map drawn on the server from the vendored
world-atlas shapes, so maps work on a closed network and without JavaScript. Each partner's country is
shaded and marked with a dot (small island states are too small to see as shapes at this scale); the
dot links to the partner's page. With ``zoom`` the map frames the partners' shapes (a partner's page shows
its country and neighbours, an organization's page its members' area) instead of the whole world."""

from __future__ import annotations

from functools import lru_cache

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from partners.maps import VIEWBOX, country_boxes, country_shapes, frame, project

register = template.Library()


@lru_cache(maxsize=1)
def _land_layer() -> str:
    return "".join(
        f'<path class="land" data-numeric="{shape.iso_numeric}" d="{shape.path}"/>' for shape in country_shapes()
    )


@lru_cache(maxsize=1)
def _paths_by_numeric() -> dict[str, str]:
    return {shape.iso_numeric: shape.path for shape in country_shapes() if shape.iso_numeric}


@register.simple_tag
def world_map(partners, label: str = "", zoom: bool = False) -> str:
    partners = [p for p in partners if p is not None]
    paths = _paths_by_numeric()
    viewbox, radius = VIEWBOX, 3.5
    if zoom and partners:
        boxes = country_boxes()
        framed = [
            boxes.get(p.iso_numeric) or (*project(p.latitude, p.longitude), *project(p.latitude, p.longitude))
            for p in partners
            if p.iso_numeric in boxes or (p.latitude is not None and p.longitude is not None)
        ]
        left, top, width, height = frame(framed)
        viewbox, radius = f"{left:.1f} {top:.1f} {width:.1f} {height:.1f}", max(width / 250, 0.3)
    highlighted = format_html_join(
        "",
        '<path class="land highlighted" d="{}"><title>{}</title></path>',
        ((paths[p.iso_numeric], p.name) for p in partners if p.iso_numeric in paths),
    )
    markers = format_html_join(
        "",
        '<a href="{}"><circle class="marker" cx="{}" cy="{}" r="{}"><title>{} ({})</title></circle></a>',
        (
            (
                reverse("partners:detail", args=[p.iso3]),
                *project(p.latitude, p.longitude),
                f"{radius:.2f}",
                p.name,
                p.iso3,
            )
            for p in partners
            if p.latitude is not None and p.longitude is not None
        ),
    )
    title = label or ""
    return format_html(
        '<svg class="map{}" viewBox="{}" role="group" aria-label="{}"><title>{}</title>'
        '<rect class="sea" width="1000" height="500"/><g>{}</g><g>{}</g><g>{}</g></svg>',
        " map-zoomed" if viewbox != VIEWBOX else "",
        viewbox,
        title,
        title,
        mark_safe(_land_layer()),  # noqa: S308 (built from our vendored, numeric-only path data)
        highlighted,
        markers,
    )
