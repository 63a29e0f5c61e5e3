"""The score map tells the truth: every country in the view is either scored (by bucket) or "no score",
low-confidence scores are hatched, small states get a marker, and zoomed maps frame the view's shapes."""

from __future__ import annotations

import datetime
import re

import pytest

from assessments.models import PartnerScore
from assessments.periods import Quarter
from assessments.templatetags.score_maps import score_map
from partners.maps import country_boxes
from partners.models import PartnerNation

pytestmark = pytest.mark.django_db


def _partners(*codes):
    found = {p.iso3: p for p in PartnerNation.objects.filter(iso3__in=codes)}
    return [found[code] for code in codes]


def _score(partner, overall, confidence):
    return PartnerScore(partner=partner, overall=overall, confidence=confidence)


def _viewbox(html):
    return [float(n) for n in re.search(r'viewBox="([^"]+)"', html).group(1).split()]


def test_world_map_classes_tooltips_hatch_and_markers(reference_data):
    sen, gmb, cpv, syc, fra, gha = _partners("SEN", "GMB", "CPV", "SYC", "FRA", "GHA")
    scores = [
        _score(sen, 54.97, "low"),
        _score(fra, 81.5, "high"),
        _score(cpv, 12.0, "medium"),
        _score(syc, 30.0, "low"),
    ]
    html = score_map(scores, label="Map", period=Quarter(2024, 4), members=[sen, gmb, cpv, syc, fra, gha])

    assert _viewbox(html) == [0.0, 15.0, 1000.0, 400.0]  # the world, not zoomed
    # Scored countries by bucket; members without a score get their own class, not plain land.
    assert 'class="land score score-2 confidence-low" data-iso3="SEN"' in html
    assert 'class="land score score-4" data-iso3="FRA"' in html
    assert 'class="land score score-none" data-iso3="GHA"' in html
    # Tooltips: name, score or "no score", confidence.
    assert "<title>Senegal (SEN): 54.97 in 2024-Q4, low confidence</title>" in html
    assert "<title>Ghana (GHA): no score in 2024-Q4</title>" in html
    assert "<title>Mali: not in this view</title>" in html  # the shapes outside the view say so too
    assert "Senegal: not in this view" not in html  # a country of the view is not sent twice
    # Only the low-confidence score is hatched, with the pattern defined in the same SVG.
    assert re.findall(r'<path class="hatch" data-iso3="(\w+)"', html) == ["SEN"]
    assert 'fill="url(#score-hatch-low)"' in html and '<pattern id="score-hatch-low"' in html
    # Small states are findable: a marker with the same class and tooltip; Senegal and France need none.
    markers = {iso3: css for css, iso3 in re.findall(r'<circle class="score-marker ([^"]+)" data-iso3="(\w+)"', html)}
    assert markers == {"GMB": "score-none", "CPV": "score-0", "SYC": "score-1 confidence-low"}
    # A low-confidence small state's marker is hatched too.
    assert re.findall(r'<circle class="hatch" data-iso3="(\w+)"', html) == ["SYC"]
    cape_verde = re.search(r'data-iso3="CPV" cx="[\d.]+" cy="[\d.]+" r="[\d.]+"><title>([^<]+)</title>', html)
    assert cape_verde.group(1).endswith("(CPV): 12.00 in 2024-Q4, medium confidence")
    # The legend names every class drawn.
    for text in ("no score", "hatched: low confidence", "circle: a country too small", "not in this view"):
        assert text in html


def test_provisional_quarter_is_said_in_the_tooltip(reference_data):
    (sen,) = _partners("SEN")
    current = Quarter.of(datetime.date.today())
    html = score_map([_score(sen, 40.0, "medium")], period=current)
    assert "medium confidence, provisional</title>" in html


def test_zoomed_map_frames_the_shapes_in_view(reference_data):
    # The fifteen ECOWAS states (the UN's Western Africa also has Saint Helena, far out in the South Atlantic).
    west = _partners(
        "BEN", "BFA", "CPV", "CIV", "GMB", "GHA", "GIN", "GNB", "LBR", "MLI", "NER", "NGA", "SEN", "SLE", "TGO"
    )
    html = score_map([], period=Quarter(2024, 4), members=west, zoom=True)
    left, top, width, height = _viewbox(html)
    assert width == pytest.approx(2 * height, abs=0.2) and width < 200  # a region, not the world (1000 wide)
    boxes = country_boxes()
    for partner in west:
        box = boxes.get(partner.iso_numeric)
        if box:  # every shape in the view is inside the frame
            assert left <= box[0] and box[2] <= left + width and top <= box[1] and box[3] <= top + height
    # Zoomed in, The Gambia is big enough to see; Cape Verde has no shape at 1:110m and keeps its marker.
    markers = set(re.findall(r'<circle class="score-marker [^"]+" data-iso3="(\w+)"', html))
    assert "CPV" in markers and "GMB" not in markers and "SEN" not in markers


def test_zoom_on_one_small_country_keeps_its_neighbours(reference_data):
    (sen,) = _partners("SEN")
    left, top, width, height = _viewbox(score_map([_score(sen, 50.0, "high")], zoom=True))
    assert width >= 60  # a minimum frame: Senegal with Mauritania, Mali and Guinea around it
    box = country_boxes()[sen.iso_numeric]
    assert left < box[0] and box[2] < left + width
