import re

import pytest

from partners import maps
from partners.maps import VIEWBOX, CountryShape, country_boxes, country_shapes, frame, project

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _points(path: str) -> list[tuple[float, float]]:
    numbers = [float(n) for n in NUMBER.findall(path)]
    return list(zip(numbers[0::2], numbers[1::2], strict=True))


def _bbox(path: str) -> tuple[float, float, float, float]:
    points = _points(path)
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    return min(xs), min(ys), max(xs), max(ys)


def _within(bbox, box) -> bool:
    min_x, min_y, max_x, max_y = bbox
    box_min_x, box_min_y, box_max_x, box_max_y = box
    return box_min_x <= min_x and max_x <= box_max_x and box_min_y <= min_y and max_y <= box_max_y


def _shape(iso_numeric: str) -> CountryShape:
    return next(shape for shape in country_shapes() if shape.iso_numeric == iso_numeric)


def _subpaths(path: str) -> list[str]:
    return ["M" + part for part in path.split("M") if part]


def test_viewbox_is_twice_as_wide_as_high():
    assert VIEWBOX == "0 0 1000 500"


@pytest.mark.parametrize(
    ("latitude", "longitude", "expected"),
    [
        (0, 0, (500.0, 250.0)),
        (90, -180, (0.0, 0.0)),
        (-90, 180, (1000.0, 500.0)),
        (48.8566, 2.3522, (506.5, 114.3)),  # Paris
        (-33.8688, 151.2093, (920.0, 344.1)),  # Sydney
    ],
)
def test_project_is_equirectangular_onto_the_viewbox(latitude, longitude, expected):
    assert project(latitude, longitude) == expected


def test_project_never_returns_negative_zero():
    x, y = project(90.0001, -180.0001)
    assert str(x) == "0.0"
    assert str(y) == "0.0"


def test_all_countries_of_the_110m_file_are_decoded():
    shapes = country_shapes()
    assert len(shapes) >= 170
    assert all(isinstance(shape, CountryShape) for shape in shapes)
    codes = [shape.iso_numeric for shape in shapes if shape.iso_numeric]
    assert len(codes) == len(set(codes))


def test_codes_are_zero_padded_and_unknown_codes_are_empty():
    shapes = country_shapes()
    assert all(re.fullmatch(r"\d{3}", shape.iso_numeric) or shape.iso_numeric == "" for shape in shapes)
    assert _shape("004").name == "Afghanistan"
    unnamed = {shape.name for shape in shapes if shape.iso_numeric == ""}
    assert {"N. Cyprus", "Kosovo", "Somaliland"} <= unnamed


def test_every_path_is_a_sequence_of_closed_rings():
    for shape in country_shapes():
        assert shape.path.startswith("M"), shape.name
        assert shape.path.endswith("Z"), shape.name
        for subpath in _subpaths(shape.path):
            assert subpath.endswith("Z"), shape.name
            assert len(_points(subpath)) >= 3, shape.name


def test_paths_stay_inside_the_viewbox_with_one_decimal():
    for shape in country_shapes():
        assert _within(_bbox(shape.path), (0, 0, 1000, 500)), shape.name
        assert all(len(n.split(".")[-1]) == 1 for n in NUMBER.findall(shape.path) if "." in n), shape.name


def test_no_ring_repeats_a_point_twice_in_a_row():
    for shape in country_shapes():
        for subpath in _subpaths(shape.path):
            points = _points(subpath)
            assert all(a != b for a, b in zip(points, points[1:], strict=False)), shape.name
            assert points[0] != points[-1], shape.name


def test_no_ring_jumps_across_the_map():
    # A ring crossing 180° unsplit would draw a streak over the whole width; only the detour of a ring
    # round a pole may run along the top or bottom edge.
    for shape in country_shapes():
        for subpath in _subpaths(shape.path):
            points = _points(subpath)
            for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True):
                along_a_pole = y1 == y2 and y1 in (0.0, 500.0)
                assert abs(x2 - x1) < 100 or along_a_pole, shape.name


def test_brazil_lies_in_its_box():
    brazil = _shape("076")
    assert brazil.name == "Brazil"
    # Brazil spans about 74°W–35°W and 5°N–34°S.
    west, north = project(6, -75)
    east, south = project(-35, -34)
    assert _within(_bbox(brazil.path), (west, north, east, south))
    min_x, min_y, max_x, max_y = _bbox(brazil.path)
    assert max_x - min_x > 100
    assert max_y - min_y > 100


def test_france_has_its_mainland_in_europe_and_guiana_in_south_america():
    france = _shape("250")
    assert france.name == "France"
    mainland_box = (*project(52, -6), *project(41, 10))
    guiana_box = (*project(6.5, -55), *project(1.5, -51))
    boxes = [_bbox(subpath) for subpath in _subpaths(france.path)]
    assert any(_within(box, mainland_box) for box in boxes)
    assert any(_within(box, guiana_box) for box in boxes)
    assert all(_within(box, mainland_box) or _within(box, guiana_box) for box in boxes)


def test_neighbours_share_their_border_points():
    # Shared borders are stored once and reused reversed by one neighbour; wrong reversal breaks this.
    france = set(_points(_shape("250").path))
    spain = set(_points(_shape("724").path))
    assert len(france & spain) >= 3


@pytest.mark.parametrize("iso_numeric", ["643", "242"])
def test_rings_crossing_180_degrees_are_split_into_one_ring_per_side(iso_numeric):
    subpaths = _subpaths(_shape(iso_numeric).path)
    bboxes = [_bbox(subpath) for subpath in subpaths]
    assert any(min_x == 0.0 for min_x, _, _, _ in bboxes)
    assert any(max_x == 1000.0 for _, _, max_x, _ in bboxes)
    # Every ring lies on one side of the map: none spans from one edge to the other.
    assert all(max_x - min_x < 500 for min_x, _, max_x, _ in bboxes)


def test_antarctica_goes_round_the_pole_and_fills_to_the_bottom_edge():
    antarctica = _shape("010")
    min_x, min_y, max_x, max_y = _bbox(antarctica.path)
    assert (min_x, max_x, max_y) == (0.0, 1000.0, 500.0)
    assert min_y > project(-60, 0)[1]


def test_decoding_happens_once_per_process():
    assert country_shapes() is country_shapes()
    assert country_shapes.cache_info().hits >= 1


def test_decoder_applies_deltas_transform_and_reversed_arcs():
    # Two arcs from (0, 0) to (10, 10), one along each side of a square; the second is walked backwards.
    transform = {"scale": [0.5, 0.25], "translate": [-5.0, 2.0]}
    raw_arcs = [[[10, -8], [20, 0], [0, 40]], [[10, -8], [0, 40], [20, 0]]]
    arcs = maps._decode_arcs(raw_arcs, transform)
    assert arcs[0] == [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0)]
    ring = maps._stitch([0, ~1], arcs)
    assert ring == [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0), (0.0, 0.0)]
    assert maps._ring_path(ring) == "M500,250L527.8,250L527.8,222.2L500,222.2Z"


def test_decoder_reads_unquantized_arcs_as_degrees():
    assert maps._decode_arcs([[[1.5, 2.5], [3, 4]]], None) == [[(1.5, 2.5), (3.0, 4.0)]]


def test_ring_path_drops_duplicates_and_collapsed_rings():
    assert maps._ring_path([(0, 0), (0, 0.01), (10, 0), (10, 10), (0, 0)]) == "M500,250L527.8,250L527.8,222.2Z"
    assert maps._ring_path([(0, 0), (0.01, 0.01), (0, 0)]) == ""


def test_a_ring_crossing_180_degrees_twice_is_cut_into_two():
    ring = [(179.0, 0.0), (-179.0, 0.0), (-179.0, 2.0), (179.0, 2.0), (179.0, 0.0)]
    east, west = maps._split_at_antimeridian(ring)
    assert east == [(180.0, 2.0), (179.0, 2.0), (179.0, 0.0), (180.0, 0.0)]
    assert west == [(-180.0, 0.0), (-179.0, 0.0), (-179.0, 2.0), (-180.0, 2.0)]


def test_a_ring_crossing_180_degrees_once_detours_round_the_pole():
    ring = [(-180.0, -70.0), (0.0, -65.0), (180.0, -70.0), (-180.0, -70.0)]
    (joined,) = maps._split_at_antimeridian(ring)
    assert joined[:3] == [(-180.0, -70.0), (0.0, -65.0), (180.0, -70.0)]
    assert (180.0, -90.0) in joined
    assert (-180.0, -90.0) in joined
    assert joined[-1] == (-180.0, -70.0)


def test_a_ring_away_from_180_degrees_is_left_alone():
    ring = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)]
    assert maps._split_at_antimeridian(ring) == [ring]


def test_country_boxes_keep_the_main_body():
    boxes = country_boxes()
    left, top, right, bottom = boxes["250"]  # France: the mainland, not French Guiana (5°N, 53°W)
    assert project(46.0, 2.0)[0] > left and right - left < 40 and bottom < project(40.0, 0.0)[1]
    assert "132" not in boxes  # Cabo Verde has no shape at 1:110m: pages mark it with a circle


def test_frame_is_two_to_one_padded_and_inside_the_map():
    senegal = country_boxes()["686"]
    left, top, width, height = frame([senegal])
    assert width == pytest.approx(2 * height) and width >= 60
    assert left < senegal[0] and senegal[2] < left + width and top < senegal[1] and senegal[3] < top + height
    # Near the map's edge the frame slides back inside rather than showing past it.
    left, top, width, height = frame([(990.0, 480.0, 999.0, 499.0)])
    assert left + width <= 1000 and top + height <= 500 and left >= 0 and top >= 0
    assert frame([]) == (0.0, 0.0, 1000.0, 500.0)
