"""The portal's world map: an SVG of hexagon cells in an equirectangular projection, land
cells faint, one focusable cell per region of the catalog (acrctl.backend.regions). Regions
whose cells would overlap (Canberra holds two) take the nearest free cell."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from html import escape
from typing import Any

from acrctl.portal import land

WIDTH = 1000.0
LAT_TOP, LAT_BOTTOM = 74.0, -52.0  # the rows drawn (no Antarctica, no high Arctic)
RADIUS = 9.0  # a hexagon's circumradius (pointy top), in map units
COL = math.sqrt(3) * RADIUS  # distance between cell centres in a row
ROW = 1.5 * RADIUS  # distance between rows
HEIGHT = (LAT_TOP - LAT_BOTTOM) / 360.0 * WIDTH
ROWS = int(HEIGHT / ROW) + 1
COLS = int(WIDTH / COL) + 1
SEARCH = 4  # rows and columns searched around a region's own cell for a free one

Cell = tuple[int, int]  # (row, column)


@dataclass(frozen=True)
class Placed:
    region: dict[str, Any]
    cell: Cell


def project(lon: float, lat: float) -> tuple[float, float]:
    return (lon + 180.0) / 360.0 * WIDTH, (LAT_TOP - lat) / 360.0 * WIDTH


def centre(cell: Cell) -> tuple[float, float]:
    row, col = cell
    return col * COL + (COL / 2 if row % 2 else 0.0) + COL / 2, row * ROW + RADIUS


def nearest(x: float, y: float) -> Cell:
    row = max(0, min(ROWS - 1, round((y - RADIUS) / ROW)))
    col = round((x - COL / 2 - (COL / 2 if row % 2 else 0.0)) / COL)
    return row, max(0, min(COLS - 1, col))


def place(regions: list[dict[str, Any]]) -> list[Placed]:
    """Each region in the free cell nearest to its coordinates, in name order."""
    taken: set[Cell] = set()
    out = []
    for region in sorted(regions, key=lambda r: str(r["name"])):
        x, y = project(float(region["longitude"]), float(region["latitude"]))
        row0, col0 = nearest(x, y)
        cells = [
            (r, c)
            for r in range(row0 - SEARCH, row0 + SEARCH + 1)
            for c in range(col0 - SEARCH, col0 + SEARCH + 1)
            if 0 <= r < ROWS and 0 <= c < COLS and (r, c) not in taken
        ]
        cell = min(cells, key=lambda rc: (math.dist(centre(rc), (x, y)), rc))
        taken.add(cell)
        out.append(Placed(region, cell))
    return out


def _hexagon(cx: float, cy: float, radius: float) -> list[tuple[float, float]]:
    return [
        (
            cx + radius * math.cos(math.radians(60 * i - 30)),
            cy + radius * math.sin(math.radians(60 * i - 30)),
        )
        for i in range(6)
    ]


def _points(cx: float, cy: float, radius: float) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in _hexagon(cx, cy, radius))


def land_path(skip: set[Cell]) -> str:
    """One path of every land cell not holding a region."""
    parts = []
    for row in range(ROWS):
        for col in range(COLS):
            cx, cy = centre((row, col))
            lon = cx / WIDTH * 360.0 - 180.0
            lat = LAT_TOP - cy / WIDTH * 360.0
            if (row, col) in skip or not land.is_land(lon, lat):
                continue
            (x0, y0), *rest = _hexagon(cx, cy, RADIUS * 0.86)
            parts.append(
                f"M{x0:.1f} {y0:.1f}" + "".join(f"L{x:.1f} {y:.1f}" for x, y in rest) + "Z"
            )
    return "".join(parts)


def _region(p: Placed) -> str:
    r = p.region
    cx, cy = centre(p.cell)
    name, display = escape(str(r["name"])), escape(str(r["displayName"]))
    group = escape(str(r.get("geographyGroup") or "Other"))
    zones = "true" if r.get("availabilityZones") else "false"
    return (
        f'<g class="region" id="region-{name}" data-region="{name}" '
        f'data-display="{display}" data-group="{group}" data-zones="{zones}" '
        f'tabindex="0" role="button" aria-label="{display}">'
        f"<title>{display}</title>"
        f'<polygon class="cell" points="{_points(cx, cy, RADIUS * 0.95)}"/>'
        f'<circle class="home-mark" cx="{cx:.1f}" cy="{cy:.1f}" r="{RADIUS * 0.38:.1f}"/>'
        f"</g>"
    )


@functools.cache
def svg() -> str:
    """The map, an inline <svg> element (no script, no style attribute: the page's CSS and
    JavaScript colour and drive it)."""
    from acrctl.backend import regions

    placed = place(list(regions.catalog().values()))
    cells = {p.cell for p in placed}
    return (
        f'<svg id="map" class="map" viewBox="0 0 {WIDTH:.0f} {HEIGHT:.0f}" '
        f'xmlns="http://www.w3.org/2000/svg" role="group" '
        f'aria-label="World map of the regions">'
        f'<path class="land" d="{land_path(cells)}"/>'
        + "".join(_region(p) for p in placed)
        + "</svg>"
    )
