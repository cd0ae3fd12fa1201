"""Tests for the terminal world map of a registry's replicas."""

from __future__ import annotations

from typing import Any

import pytest

from acrctl.backend.regions import catalog
from acrctl.cli.worldmap import map_height, project, render_map, visible_len

FAKE_REGIONS: list[dict[str, Any]] = [
    {"name": "westus", "displayName": "West US", "latitude": 37.783, "longitude": -122.417},
    {"name": "eastus", "displayName": "East US", "latitude": 37.3719, "longitude": -79.8164},
    {"name": "westeurope", "displayName": "West Europe", "latitude": 52.3667, "longitude": 4.9},
    {"name": "japaneast", "displayName": "Japan East", "latitude": 35.68, "longitude": 139.77},
    {"name": "brazilsouth", "displayName": "Brazil South", "latitude": -23.55, "longitude": -46.6},
]
REPLICAS = {"westus": "Ready", "eastus": "Ready", "westeurope": "Provisioning"}


def _map_lines(text: str, width: int = 100) -> list[str]:
    return text.splitlines()[: map_height(width)]


def _cell(text: str, row: int, col: int, width: int = 100) -> str:
    line = _map_lines(text, width)[row]
    return line[col] if col < len(line) else " "


def _empty_map(width: int = 100) -> str:
    return render_map([], {"nowhere": "Ready"}, "nowhere", width=width)


def test_lines_fit_width_and_map_is_about_a_quarter_of_width() -> None:
    for width in (40, 72, 100, 160):
        text = render_map(FAKE_REGIONS, REPLICAS, "westus", width=width)
        assert all(len(line) <= width for line in text.splitlines())
        assert abs(map_height(width) - width / 4) <= 1
        assert len(text.splitlines()) > map_height(width)


def test_no_trailing_spaces() -> None:
    text = render_map(FAKE_REGIONS, REPLICAS, "westus")
    assert all(line == line.rstrip() for line in text.splitlines())


def test_plain_mode_has_no_escape_codes() -> None:
    assert "\x1b" not in render_map(FAKE_REGIONS, REPLICAS, "westus", color=False)


def test_colour_mode_has_escape_codes_and_visible_width_fits() -> None:
    text = render_map(FAKE_REGIONS, REPLICAS, "westus", color=True, unavailable={"japaneast"})
    assert "\x1b[" in text
    assert "\x1b[0m" in text
    assert all(visible_len(line) <= 100 for line in text.splitlines())


def test_project_maps_corners_and_centre() -> None:
    assert project(75, -180, 100, 25) == (0, 0)
    assert project(-58, 180, 100, 25) == (24, 99)
    assert project(-90, 200, 100, 25) == (24, 99)
    row, col = project(8.5, 0, 100, 25)
    assert col == 50
    assert row == 12


def test_marker_appears_at_projected_cell() -> None:
    text = render_map(FAKE_REGIONS, REPLICAS, "westus")
    height = map_height(100)
    for name, mark in (("westus", "H"), ("eastus", "R"), ("japaneast", "+")):
        region = next(r for r in FAKE_REGIONS if r["name"] == name)
        row, col = project(region["latitude"], region["longitude"], 100, height)
        assert _cell(text, row, col) == mark


def test_unavailable_region_is_marked_x() -> None:
    text = render_map(FAKE_REGIONS, REPLICAS, "westus", unavailable={"brazilsouth"})
    row, col = project(-23.55, -46.6, 100, map_height(100))
    assert _cell(text, row, col) == "x"


def test_replica_beats_unavailable_in_same_region() -> None:
    text = render_map(FAKE_REGIONS, REPLICAS, "westus", unavailable={"eastus", "westus"})
    row, col = project(37.3719, -79.8164, 100, map_height(100))
    assert _cell(text, row, col) == "R"


@pytest.mark.parametrize(
    ("winner", "replicas", "unavailable"),
    [
        ("H", {"a": "Ready", "b": "Ready"}, set()),
        ("R", {"z": "Ready", "b": "Ready"}, {"a"}),
        ("x", {"z": "Ready"}, {"a"}),
    ],
)
def test_precedence_when_regions_share_a_cell(
    winner: str, replicas: dict[str, str], unavailable: set[str]
) -> None:
    home = "a" if winner == "H" else "z"
    shared = [
        {"name": "a", "displayName": "A", "latitude": 10.0, "longitude": 10.0},
        {"name": "b", "displayName": "B", "latitude": 10.2, "longitude": 10.2},
        {"name": "c", "displayName": "C", "latitude": 10.1, "longitude": 10.1},
    ]
    row, col = project(10.0, 10.0, 100, map_height(100))
    assert project(10.2, 10.2, 100, map_height(100)) == (row, col)
    for order in (shared, list(reversed(shared))):
        text = render_map(order, replicas, home, unavailable=unavailable)
        assert _cell(text, row, col) == winner


def test_legend_line() -> None:
    lines = render_map(FAKE_REGIONS, REPLICAS, "westus").splitlines()
    assert "H home replica   R replica   + available   x unavailable" in lines


def test_legend_wraps_on_narrow_maps() -> None:
    lines = render_map(FAKE_REGIONS, REPLICAS, "westus", width=30).splitlines()
    assert "H home replica   R replica" in lines
    assert "+ available   x unavailable" in lines


def test_replica_list_home_first_then_by_name_and_aligned() -> None:
    text = render_map(FAKE_REGIONS, REPLICAS, "westus")
    tail = text.splitlines()[-3:]
    assert tail == [
        "  H  westus      West US      Ready",
        "  R  eastus      East US      Ready",
        "  R  westeurope  West Europe  Provisioning",
    ]


def test_string_coordinates_are_accepted() -> None:
    regions = [
        {"name": "eastus", "displayName": "East US", "latitude": "37.37", "longitude": "-79.8"}
    ]
    text = render_map(regions, {"eastus": "Ready"}, "eastus")
    row, col = project(37.37, -79.8, 100, map_height(100))
    assert _cell(text, row, col) == "H"


def test_replica_missing_from_catalog_is_listed_by_name() -> None:
    text = render_map(FAKE_REGIONS, {"westus": "Ready", "mars": "Failed"}, "westus")
    assert text.splitlines()[-1] == "  R  mars    mars     Failed"


def test_output_is_deterministic() -> None:
    first = render_map(FAKE_REGIONS, REPLICAS, "westus", color=True)
    second = render_map(list(reversed(FAKE_REGIONS)), dict(REPLICAS), "westus", color=True)
    assert first == second


@pytest.mark.parametrize(("lat", "lon"), [(5, 20), (40, -100), (-25, 134), (50, 90), (-10, -55)])
def test_land_in_plausible_places(lat: float, lon: float) -> None:
    row, col = project(lat, lon, 100, map_height(100))
    assert _cell(_empty_map(), row, col) == "."


@pytest.mark.parametrize(("lat", "lon"), [(0, -150), (30, -40), (-30, 80), (-40, -120)])
def test_sea_in_plausible_places(lat: float, lon: float) -> None:
    row, col = project(lat, lon, 100, map_height(100))
    assert _cell(_empty_map(), row, col) == " "


def test_too_narrow_width_is_rejected() -> None:
    with pytest.raises(ValueError):
        render_map(FAKE_REGIONS, REPLICAS, "westus", width=10)


def test_real_catalog_renders() -> None:
    regions = list(catalog().values())  # the catalog the package ships
    assert len(regions) == 59
    text = render_map(
        regions, {"westus": "Ready", "eastus": "Ready"}, "westus", unavailable={"chilecentral"}
    )
    markers = "".join(_map_lines(text))
    assert markers.count("H") == 1
    assert markers.count("R") == 1
    assert "+" in markers and "x" in markers
    assert all(len(line) <= 100 for line in text.splitlines())
