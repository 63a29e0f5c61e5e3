"""The arithmetic of `make bench-growth` (bench/growth.py): the growth exponent, its extrapolation, the table,
the databases of each size and the plot. The measuring itself needs large data sets and is run by hand."""

import csv
import importlib.util
import math
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("bench_growth", ROOT / "bench" / "growth.py")
growth = importlib.util.module_from_spec(spec)
spec.loader.exec_module(growth)


def test_exponent_of_a_power_law_is_its_power():
    for power in (0.0, 0.5, 1.0, 1.3, 2.0):
        points = [(size, 0.02 * size**power) for size in (250_000, 500_000, 1_000_000)]
        assert growth.growth_exponent(points) == pytest.approx(power)


def test_exponent_is_the_least_squares_slope_and_pairs_are_each_interval():
    points = [(1, 1.0), (2, 2.0), (4, 8.0)]  # slope 1, then 2
    assert growth.pairwise_exponents(points) == pytest.approx([1.0, 2.0])
    # log2 points (0,0), (1,1), (2,3): least-squares slope 1.5.
    assert growth.growth_exponent(points) == pytest.approx(1.5)
    assert growth.pairwise_exponents(list(reversed(points))) == pytest.approx([1.0, 2.0])


def test_exponent_needs_two_sizes_and_skips_missing_times():
    assert growth.growth_exponent([(1000, 2.0)]) is None
    assert growth.growth_exponent([(1000, 2.0), (1000, 3.0)]) is None
    assert growth.growth_exponent([(1000, 2.0), (2000, None), (4000, 8.0)]) == pytest.approx(1.0)


def test_extrapolation_goes_from_the_largest_size_at_the_fitted_slope():
    points = [(250_000, 1.0), (500_000, 2.0), (1_000_000, 4.0)]
    assert growth.extrapolate(points, 10_000_000) == pytest.approx(40.0)
    square = [(250_000, 1.0), (1_000_000, 16.0)]
    assert growth.extrapolate(square, 10_000_000) == pytest.approx(1600.0)
    assert growth.extrapolate([(1_000_000, 4.0)], 10_000_000) is None


def test_size_labels_and_databases():
    assert [growth.size_label(n) for n in (250_000, 500_000, 1_000_000, 2_500_000, 1234)] == [
        "250k",
        "500k",
        "1m",
        "2.5m",
        "1234",
    ]
    base = "postgres://postgres@127.0.0.1:5432/growth"
    given = growth.parse_given(["1000000=postgres://postgres@127.0.0.1:5432/copy"])
    assert growth.database_for(250_000, base, given) == base + "_250k"
    assert growth.database_for(1_000_000, base, given).endswith("/copy")
    with pytest.raises(Exception, match="SIZE=URL"):
        growth.parse_given(["a million"])


def rows(figures):
    return [
        {"engagements": size, "measure": key, "seconds": str(seconds), "load_before": "1.5", "load_after": "2.5"}
        for (size, key), seconds in figures.items()
    ]


def test_table_has_each_measure_with_its_exponent_and_prediction():
    figures = {(250_000, "run"): 1.0, (500_000, "run"): 2.0, (1_000_000, "run"): 4.0}
    figures |= {(250_000, "page overview"): 0.05, (1_000_000, "page overview"): 0.05}
    lines = growth.table(rows(figures), [250_000, 500_000, 1_000_000])
    run = next(line for line in lines if line.startswith(f"| {growth.MEASURES['run']} |"))
    assert "| 1.0 s (1.5/2.5) | 2.0 s (1.5/2.5) | 4.0 s (1.5/2.5) |" in run
    assert "| 1.00 (1.00, 1.00) | 40.0 s |" in run
    page = next(line for line in lines if "overview" in line)
    assert "| - |" in page and "| 0.00 (0.00) | 50 ms |" in page
    assert not any("backfill" in line for line in lines)  # nothing measured, no line


def test_csv_round_trip_and_plot(tmp_path):
    figures = {(size, key): 0.01 * size / 250_000 * (n + 1) for n, key in enumerate(growth.MEASURES) for size in (
        250_000, 500_000, 1_000_000)}  # fmt: skip
    path = tmp_path / "growth.csv"
    written = [{**row, "detail": "", "database": "db", "measured_at": "now"} for row in rows(figures)]
    growth.write_rows(written, path)
    with path.open(newline="") as handle:
        assert next(csv.reader(handle)) == growth.CSV_FIELDS
    back = growth.read_rows(path)
    assert len(back) == len(figures)
    assert [row["measure"] for row in back[: len(growth.MEASURES)]] == list(growth.MEASURES)
    png = tmp_path / "growth.png"
    growth.plot(back, [250_000, 500_000, 1_000_000], png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert math.isclose(
        growth.growth_exponent([(s, float(r["seconds"])) for s in (250_000, 1_000_000) for r in back
                                if int(r["engagements"]) == s and r["measure"] == "run"]),
        1.0,
    )  # fmt: skip
