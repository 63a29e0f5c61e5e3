"""Country outlines for an offline world map, as SVG path strings.

The tracker runs on closed networks, so a map cannot come from a tile server or a JavaScript library fetched
at run time. Instead the country outlines ship with the repository (``static/vendor/world-atlas/``, the npm
package ``world-atlas`` 2.0.2, Natural Earth 1:110m, ISC licence) and are turned into plain SVG paths here,
on the server, with no dependency beyond the standard library. A template can then inline the paths and
colour countries by their ISO 3166-1 numeric code without any client-side code.

The projection is equirectangular (plate carrée): longitude and latitude map linearly onto x and y. It is
the simplest projection that is still a recognisable world map, it needs no trigonometry, and its inverse is
just as simple, so a point placed with :func:`project` lands exactly where the outlines put that place.
Areas near the poles are stretched; for a map that only has to show which partner is where, that is an
acceptable price.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

VIEWBOX = "0 0 1000 500"
WIDTH = 1000.0
HEIGHT = 500.0

# Repository-relative rather than through staticfiles finders: the file is data read by Python, not an
# asset served to the browser, and this keeps decoding usable without a configured Django (scripts, tests).
WORLD_ATLAS_PATH = Path(__file__).resolve().parent.parent / "static/vendor/world-atlas/countries-110m.json"

Point = tuple[float, float]


@dataclass(frozen=True)
class CountryShape:
    """One country's outline: its ISO 3166-1 numeric code ("" where Natural Earth gives none), name and path."""

    iso_numeric: str
    name: str
    path: str


def project(latitude: float, longitude: float) -> tuple[float, float]:
    """Place a point on the ``VIEWBOX`` with the same equirectangular projection as the outlines.

    The result is rounded to one decimal like the path coordinates: a tenth of a unit is far below a screen
    pixel at any sensible map size, and rounding keeps the inlined SVG small.
    """
    x, y = _project_exact(latitude, longitude)
    return _round(x), _round(y)


@functools.lru_cache(maxsize=1)
def country_shapes() -> list[CountryShape]:
    """Every country of the bundled world-atlas file, in the file's order, as SVG path data.

    Decoding reads and walks the whole file, so the result is computed once per process and the same list
    is returned on every call; callers must treat it as read-only.
    """
    topology = json.loads(WORLD_ATLAS_PATH.read_text(encoding="utf-8"))
    arcs = _decode_arcs(topology["arcs"], topology.get("transform"))
    shapes = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        if geometry["type"] == "Polygon":
            polygons = [geometry["arcs"]]
        elif geometry["type"] == "MultiPolygon":
            polygons = geometry["arcs"]
        else:
            # Points or lines have no area to fill; the countries object should not contain any.
            continue
        raw_id = geometry.get("id")
        # Disputed areas (N. Cyprus, Kosovo, Somaliland) have no ISO code; keep them so the map has no holes.
        iso_numeric = str(raw_id).zfill(3) if raw_id is not None else ""
        name = geometry.get("properties", {}).get("name", "")
        path = "".join(
            _ring_path(piece)
            for polygon in polygons
            for ring in polygon
            for piece in _split_at_antimeridian(_stitch(ring, arcs))
        )
        shapes.append(CountryShape(iso_numeric=iso_numeric, name=name, path=path))
    return shapes


def _project_exact(latitude: float, longitude: float) -> Point:
    return (longitude + 180.0) / 360.0 * WIDTH, (90.0 - latitude) / 180.0 * HEIGHT


def _round(value: float) -> float:
    # Adding 0.0 turns -0.0 into 0.0, so "-0" never appears in a path or a comparison.
    return round(value, 1) + 0.0


def _decode_arcs(raw_arcs: list[list[list[int]]], transform: dict | None) -> list[list[Point]]:
    """Turn TopoJSON arcs into lists of (longitude, latitude) points.

    A quantized topology stores each arc's first position as an integer and every later one as the delta
    from its predecessor; the transform then scales and translates the integers back to degrees.
    """
    decoded = []
    for raw_arc in raw_arcs:
        if transform is None:
            decoded.append([(float(position[0]), float(position[1])) for position in raw_arc])
            continue
        (scale_x, scale_y), (translate_x, translate_y) = transform["scale"], transform["translate"]
        points = []
        x = y = 0
        for position in raw_arc:
            x += position[0]
            y += position[1]
            points.append((x * scale_x + translate_x, y * scale_y + translate_y))
        decoded.append(points)
    return decoded


def _stitch(ring: list[int], arcs: list[list[Point]]) -> list[Point]:
    """Join a ring's arcs into one closed line of (longitude, latitude) points.

    A negative index ``~i`` means arc ``i`` walked backwards (shared borders are stored once and reused by
    both neighbours). Consecutive arcs share their joining point, so it is kept only once.
    """
    points: list[Point] = []
    for index in ring:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc[1:] if points else arc)
    return points


def _split_at_antimeridian(ring: list[Point]) -> list[list[Point]]:
    """Cut a closed ring where it crosses 180° so that no edge runs across the whole flat map.

    On the sphere a step from 179.4°E to 180°W is a few kilometres; projected naively it is a line across
    the entire map. Natural Earth 1:110m has such rings: Fiji's Vanua Levu, Russia's Chukotka and Wrangel
    Island each cross the line twice, and Antarctica's coast goes once all the way round the South Pole.

    A ring that crosses an even number of times becomes one ring per side, each closed along the map's
    left or right edge (exact for the twice-crossing rings of this data). A ring that crosses once
    encloses a pole; it stays one ring and detours along the map's top or bottom edge, which is where an
    equirectangular projection puts the pole, so Antarctica fills down to the bottom of the map.
    """
    pieces: list[list[Point]] = [[ring[0]]]
    crossing_latitudes = []
    for (lon_a, lat_a), (lon_b, lat_b) in zip(ring, ring[1:], strict=False):
        if abs(lon_b - lon_a) > 180.0:
            edge = 180.0 if lon_a > 0 else -180.0
            span = lon_b + 2 * edge - lon_a
            # A step from +180 to -180 (the same meridian) has no span: it crosses right at its start.
            latitude = lat_a + (edge - lon_a) / span * (lat_b - lat_a) if span else lat_a
            pieces[-1].append((edge, latitude))
            pieces.append([(-edge, latitude)])
            crossing_latitudes.append(latitude)
        pieces[-1].append((lon_b, lat_b))
    if len(pieces) == 1:
        return pieces
    if len(crossing_latitudes) % 2 == 1:
        joined = pieces[0]
        for piece, latitude in zip(pieces[1:], crossing_latitudes, strict=True):
            pole = -90.0 if latitude < 0 else 90.0
            edge = joined[-1][0]
            joined.extend([(edge, pole), (-edge, pole)])
            joined.extend(piece)
        return [joined]
    # The ring ends where it starts, so its last piece continues its first one on the same side.
    pieces[0] = pieces.pop() + pieces[0][1:]
    return pieces


def _ring_path(points: list[Point]) -> str:
    rounded: list[Point] = []
    for longitude, latitude in points:
        x, y = _project_exact(latitude, longitude)
        point = (_round(x), _round(y))
        # Rounding merges neighbouring points on small features; repeats would only bloat the path.
        if not rounded or rounded[-1] != point:
            rounded.append(point)
    # "Z" closes the ring back to its start, so a repeated closing point is redundant.
    if len(rounded) > 1 and rounded[-1] == rounded[0]:
        rounded.pop()
    # A ring that collapsed to a point or a line at this resolution encloses nothing worth drawing.
    if len(rounded) < 3:
        return ""
    head, *tail = rounded
    return f"M{_number(head[0])},{_number(head[1])}" + "".join(f"L{_number(x)},{_number(y)}" for x, y in tail) + "Z"


def _number(value: float) -> str:
    # "12" rather than "12.0": the same value in fewer bytes of inlined SVG.
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


Box = tuple[float, float, float, float]  # left, top, right, bottom on the VIEWBOX


def _ring_boxes(path: str) -> list[tuple[float, Box]]:
    """Each ring of a path as (area, bounding box); the area by the shoelace formula."""
    rings = []
    for ring in path.split("Z"):
        numbers = [float(n) for n in ring.replace("M", " ").replace("L", " ").replace(",", " ").split()]
        points = list(zip(numbers[::2], numbers[1::2], strict=True))
        if len(points) < 3:
            continue
        area = abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True)))
        xs, ys = [x for x, _y in points], [y for _x, y in points]
        rings.append((area / 2, (min(xs), min(ys), max(xs), max(ys))))
    return rings


@functools.lru_cache(maxsize=1)
def country_boxes() -> dict[str, Box]:
    """Per ISO numeric code, the bounding box of the country's main body on the VIEWBOX.

    The main body is every ring at least a fifth the size of the largest: France's box is mainland France,
    not French Guiana as well, and the United States' box the lower 48 and Alaska without Hawaii (far-flung overseas territories would otherwise zoom a region's map out to the whole world)."""
    rings_by_numeric: dict[str, list[tuple[float, Box]]] = {}
    for shape in country_shapes():
        if shape.iso_numeric and shape.path:
            rings_by_numeric.setdefault(shape.iso_numeric, []).extend(_ring_boxes(shape.path))
    boxes = {}
    for numeric, rings in rings_by_numeric.items():
        if not rings:
            continue
        largest = max(area for area, _box in rings)
        kept = [box for area, box in rings if area >= largest / 5]
        boxes[numeric] = (
            min(b[0] for b in kept),
            min(b[1] for b in kept),
            max(b[2] for b in kept),
            max(b[3] for b in kept),
        )
    return boxes


def frame(boxes: list[Box], *, pad_ratio: float = 0.08, min_width: float = 60.0) -> Box:
    """A 2:1 view (left, top, width, height) around ``boxes`` with some padding, kept inside the map.

    The padding is a share of the larger side so a small country still shows its neighbours; ``min_width``
    keeps a single small state from filling the screen with a handful of pixels of data."""
    if not boxes:
        return 0.0, 0.0, WIDTH, HEIGHT
    left, top = min(b[0] for b in boxes), min(b[1] for b in boxes)
    right, bottom = max(b[2] for b in boxes), max(b[3] for b in boxes)
    pad = max(right - left, (bottom - top) * 2) * pad_ratio + 4.0
    left, top, right, bottom = left - pad, top - pad, right + pad, bottom + pad
    width = min(max(right - left, (bottom - top) * 2, min_width), WIDTH)
    height = width / 2
    centre_x, centre_y = (left + right) / 2, (top + bottom) / 2
    left = min(max(centre_x - width / 2, 0.0), WIDTH - width)
    top = min(max(centre_y - height / 2, 0.0), HEIGHT - height)
    return left, top, width, height
