"""A small equirectangular world map, drawn in the terminal, showing a registry's replicas.

Pure standard library.  Land is a coarse hand-authored set of coastline polygons
("lon lat" pairs) that is sampled at the requested width, so the map can be any size.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

__all__ = ["LAT_BOTTOM", "LAT_TOP", "is_land", "map_height", "project", "render_map", "visible_len"]

LAT_TOP = 75.0
LAT_BOTTOM = -58.0
LAND = "."
SEA = " "

# Coarse continent outlines, one polygon per string: "lon lat,lon lat,...".
_LAND_POLYGONS: tuple[str, ...] = (
    # North America (Alaska -> Arctic -> Hudson Bay -> Atlantic -> Gulf -> Pacific)
    "-168 65.6,-164 66.5,-166.5 68.4,-163 70,-156.8 71.3,-152 70.8,-141 69.6,-135 69.5,"
    "-128 70.2,-120 68.9,-114 68.3,-108 68.2,-100 67.8,-95 68,-94 71.8,-89 68.5,-85 69.8,"
    "-81 66.5,-87 64,-90.7 63.6,-94 61,-94.5 59,-92.5 57,-88 56.5,-82.5 55,-82 53,-79 51.5,"
    "-78.8 54.5,-76.5 56.2,-77.5 58,-78 60.5,-77.5 62.2,-73 62.3,-70 61,-69.5 59,-64.5 60.3,"
    "-61.5 56.5,-57.5 54.5,-55.8 52.3,-60 50.2,-66.5 50,-69 48.5,-64.8 47,-61 45.2,-66 43.5,"
    "-67 44.7,-70.5 43,-70 41.8,-74 40.6,-74 39.5,-75.5 38.5,-76 36.9,-75.5 35.2,-77 34.5,"
    "-79 33.3,-81 31.5,-80 27,-80.4 25.2,-81.8 26.5,-83 29,-85 29.7,-89 30.2,-90 29,-94 29.6,"
    "-97.3 27.5,-97.7 22,-96 19,-94.5 18.2,-91 18.7,-90.3 21,-87 21.5,-87.5 18,-88.2 16,"
    "-84 15.8,-83.4 15,-83.7 11,-82 9,-79.5 9.5,-77.3 8.5,-78 7.2,-80 7.4,-81.5 7.8,-85.7 10,"
    "-87.5 13,-91 13.9,-94.5 16,-96.5 15.7,-101 17.5,-105.5 20.5,-105.5 22.5,-109 26,"
    "-112.5 29.8,-114.7 31.7,-112.5 28,-110 24,-109.5 23,-112 24.8,-114 28,-115.8 30.4,"
    "-117.1 32.5,-118.5 34,-120.6 34.6,-122.5 37.5,-124 40.4,-124.5 43,-124 46.5,-124.7 48.4,"
    "-127.5 50.5,-130 54.5,-133 57,-137 58.5,-141 60,-146 61,-150 59.5,-154 58,-158 57,"
    "-162 55.2,-164.8 54.5,-159 56.5,-157 58.7,-162 58.6,-165 60.5,-166 62,-164.5 63.2,"
    "-161 64.5,-166 64.6",
    "-80 73,-62 67,-65 62,-78 64,-90 70",  # Baffin Island
    "-120 70,-100 70,-100 73,-120 73",  # Victoria Island
    "-55 60,-43 60,-40 65,-22 70,-20 76,-30 83,-60 82,-72 78,-58 75,-52 68,-50 63",  # Greenland
    "-59 47.6,-53 46.6,-52.6 47.6,-55.5 51.6,-57.5 50.7",  # Newfoundland
    "-85 22,-82 23,-77 22,-74 20,-77 19.8,-80 21.5",  # Cuba
    "-74.5 18.5,-72 20,-68.5 18.7,-71 17.7",  # Hispaniola
    # South America
    "-77 8.5,-72 12,-64 10.5,-60 8,-52 5,-50 0,-44 -2,-35 -5,-35 -9,-39 -15,-41 -22,-48 -26,"
    "-53 -34,-58 -35,-57 -38,-62 -39,-65 -42,-68 -47,-69 -52,-68 -55,-72 -54,-75 -50,-74 -42,"
    "-73 -37,-71 -30,-70 -18,-76 -14,-81 -5,-80 -2,-80 1,-78 3",
    # Africa
    "-17 21,-16 28,-10 30,-6 35.8,-2 35,3 36.8,10 37,11 33.5,15 32,20 30.5,20 32.5,23 32.6,"
    "30 31,32.5 31.2,34 28,38 22,43 13,51 12,51 10,48 5,40 -3,40 -10,41 -15,35 -24,33 -26,"
    "30 -31,27 -34,20 -35,18 -33,15 -27,12 -18,14 -11,12 -5,9 -1,9 4,5 6,-2 5,-8 4,-13 8,"
    "-17 14",
    "44 -25,47 -25,50 -15,49 -12,44 -16",  # Madagascar
    # Eurasia (Iberia -> Scandinavia -> Arctic -> Pacific -> Indian Ocean -> Arabia -> Med)
    "-9 37,-9.5 39,-8.9 42,-9 43.2,-8 43.7,-2 43.4,-1.3 44.5,-1.2 46,-2.5 47.3,-4.7 48.3,"
    "-1.5 48.7,-1.5 49.7,0 49.5,1.6 50.9,3.5 51.4,4.8 53,7 53.6,8.6 53.8,8.2 55.5,8.2 56.8,"
    "10.5 57.7,10.5 56.2,12 56,12.7 56.2,11.5 58,11 59,10.5 59.9,8 58.1,5.5 58.7,5 61,5 62.3,"
    "8.5 63.5,10.5 64.5,12.5 66,14 67.5,16 68.5,18.5 69.8,23 70.7,28 71,31 70,33 69.3,"
    "40.5 67.8,41 66.5,44 66,44 68.5,53 68.5,59 68.5,69 73,73 73,80 72.5,87 74,100 76.5,"
    "113 73.5,128 73,140 72.5,150 71.5,160 70,170 70,180 69,180 65,178 62.5,173 61,166 60,"
    "163 57,162 56,156.7 51,156 53,156 57.5,160 61.5,154 59.2,150 59.5,143 59.3,138 56,137 54,"
    "141 53,140 48,135.5 43.5,132 43,130 42.5,129.4 37,129 35,126.5 34.5,126 37,125 39.5,"
    "121.5 39,121.5 41,119 39,117.5 38.5,119 37,122.5 37,120 34.5,121.5 32,122 30,119.5 25.5,"
    "116.5 23,114 22.3,110.5 21,108 21.5,106 19,108.8 15,109 11.5,105 8.6,103 10.5,100 13.5,"
    "99 10,100.5 7,103.5 1.5,101 2.5,98.5 8,98.5 13,97.5 16.5,94.5 16,94 19,92 21.5,90 22,"
    "87 21.5,80 15.5,80 10,77.5 8,76 10,73 17,72.5 21,70 21,67 24.5,62 25,57 25.7,56.3 27,"
    "51 27.8,48.5 30,50 26,51.5 24,56 25,59.5 22.5,57 19,52 16,45 13,43 13,39 21,35 28,"
    "34.2 31.3,35 33,36 36.5,30 36.3,27 37,26.5 40.3,23 40.5,22.5 37,21 37.5,19.5 40.5,"
    "19.5 42,13.5 45.5,12.3 44.5,14 42,16 41.5,18.5 40,16 38,15.6 40,12 41.8,10.5 43,"
    "8.5 44.4,5 43.3,3 43.3,3.2 42,0 39.5,-0.5 38,-2 36.8,-5.5 36,-6.5 36.9",
    "-180 65,-170 66,-180 69",  # Chukotka east of the antimeridian
    "-5.7 50,1.5 51,1.5 53,-2 56,-1.8 57.6,-3 58.7,-5 58.6,-6.2 56,-5 55,-3 54.5,-4.5 53.3,"
    "-5 51.7",  # Great Britain
    "-6 52,-6 54,-7.5 55.3,-10 54,-10 51.6",  # Ireland
    "-24 65.5,-22 66.4,-15 66.5,-13.5 65,-18 63.4,-22 63.8",  # Iceland
    "130 31,131 34,135 34,140 35,141 38,142 41,140 41,139 38,136 36,133 35.5,130 33.5",  # Japan
    "140 42,144 43,145 44,142 45.5,141 43",  # Hokkaido
    "142 46,143.5 49,143 54,142 54,142 49",  # Sakhalin
    "120 22,121.5 25,122 25,121 22",  # Taiwan
    "80 6,82 7.5,80 10,79.7 8",  # Sri Lanka
    "120 18,122.5 18.5,124 13,126 7,125.5 6,122 7,121.5 13,120 14.5",  # Philippines
    "109 2,111 -3,116 -4,118 1,119 5,117 7,115 5,111 2",  # Borneo
    "95 5.5,98 4,106 -3,106 -6,104 -5.5,100 -1,95.5 3",  # Sumatra
    "105 -6,114.5 -7,114.5 -8.6,106 -7.5",  # Java
    "119 1,125 1.5,121 -1,123 -5,120 -5.5",  # Sulawesi
    "131 -1,135 -3,141 -2.5,146 -5.5,150 -10,147 -10,143 -9,139 -8,137 -5,133 -4,131 -2.5",
    # Australia
    "114 -22,114 -26,115 -34,118 -35,123 -34,129 -31.7,134 -32.5,138 -35,140 -38,146 -39,"
    "150 -37.5,153 -31,153 -25,150 -22,146 -19,145 -15,142.5 -10.7,141.5 -13,141 -17,137 -16,"
    "136 -12,131 -11,128 -15,125 -14,122 -17,119 -20",
    "144.6 -40.7,148.3 -40.9,148 -43.2,146 -43.6",  # Tasmania
    "172.7 -34.4,178.5 -37.7,177 -39.5,175 -41.5,173.5 -39.5,174.5 -36.5",  # NZ North Island
    "172.5 -40.5,174.3 -41.5,172.7 -43.8,170.5 -46,166.5 -46,168 -44,171 -42",  # NZ South
)

# Inland seas cut out of the land polygons.
_SEA_POLYGONS: tuple[str, ...] = (
    "28 41,41 41,41.5 46,31 46.5,28 44",  # Black Sea
    "47 37,54 37,54 45,50 47,47 45",  # Caspian Sea
    "10.5 54,14 54,18.5 54.7,21 55,21 57,24 57,24 59.5,30 60,23 60.5,21.5 61,21.3 63,"
    "25.5 65,22 65.8,17.5 62.5,17.2 61,18.8 59.8,16.5 57.5,14.3 55.5,12.5 56,10.5 55",  # Baltic
)

Polygon = tuple[tuple[float, float], ...]

_RANK: dict[str, int] = {"H": 4, "R": 3, "x": 2, "+": 1}
# home: bright green, replica: green, available: dim cyan, unavailable: red
_COLORS: dict[str, str] = {"H": "\x1b[1;92m", "R": "\x1b[32m", "+": "\x1b[2;36m", "x": "\x1b[31m"}
_RESET = "\x1b[0m"
_LEGEND = (("H", "home replica"), ("R", "replica"), ("+", "available"), ("x", "unavailable"))
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")


def _parse(polys: Iterable[str]) -> tuple[tuple[Polygon, tuple[float, ...]], ...]:
    out: list[tuple[Polygon, tuple[float, ...]]] = []
    for text in polys:
        pts = tuple((float(a), float(b)) for a, b in (p.split() for p in text.split(",")))
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        out.append((pts, (min(xs), max(xs), min(ys), max(ys))))
    return tuple(out)


_LAND = _parse(_LAND_POLYGONS)
_SEAS = _parse(_SEA_POLYGONS)


def _inside(lon: float, lat: float, polys: tuple[tuple[Polygon, tuple[float, ...]], ...]) -> bool:
    for pts, (x0, x1, y0, y1) in polys:
        if not (x0 <= lon <= x1 and y0 <= lat <= y1):
            continue
        hit = False
        j = len(pts) - 1
        for i in range(len(pts)):
            (xi, yi), (xj, yj) = pts[i], pts[j]
            if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
                hit = not hit
            j = i
        if hit:
            return True
    return False


def is_land(lat: float, lon: float) -> bool:
    """True when the coarse land mask has land at this coordinate."""
    return _inside(lon, lat, _LAND) and not _inside(lon, lat, _SEAS)


def map_height(width: int) -> int:
    """Number of map rows drawn for a given width (about width / 4)."""
    return max(1, round(width / 4))


def project(lat: float, lon: float, width: int, height: int) -> tuple[int, int]:
    """Equirectangular projection of (lat, lon) onto a width x height grid -> (row, col)."""
    col = int((lon + 180.0) / 360.0 * width)
    row = int((LAT_TOP - lat) / (LAT_TOP - LAT_BOTTOM) * height)
    return min(max(row, 0), height - 1), min(max(col, 0), width - 1)


@lru_cache(maxsize=16)
def _land_rows(width: int, height: int) -> tuple[str, ...]:
    """Land mask at width x height: a cell is land when most of its 3 x 3 samples are."""
    dlon, dlat = 360.0 / width, (LAT_TOP - LAT_BOTTOM) / height
    offsets = [(fy, fx) for fy in (0.2, 0.5, 0.8) for fx in (0.2, 0.5, 0.8)]

    def cell(r: int, c: int) -> str:
        hits = sum(is_land(LAT_TOP - (r + fy) * dlat, -180 + (c + fx) * dlon) for fy, fx in offsets)
        return LAND if hits >= 3 else SEA

    return tuple("".join(cell(r, c) for c in range(width)) for r in range(height))


def _paint(char: str, color: bool) -> str:
    return f"{_COLORS[char]}{char}{_RESET}" if color and char in _COLORS else char


def visible_len(text: str) -> int:
    """Length of a line as displayed, ignoring ANSI colour codes."""
    return len(_ANSI_RE.sub("", text))


def _coords(region: dict[str, Any]) -> tuple[float, float] | None:
    try:
        return float(region["latitude"]), float(region["longitude"])
    except (KeyError, TypeError, ValueError):
        return None


def _legend(width: int, color: bool) -> list[str]:
    """Legend items separated by three spaces, wrapped so no line exceeds width."""
    lines, plain, painted = [], "", ""
    for char, label in _LEGEND:
        if plain and len(plain) + 5 + len(label) > width:
            lines.append(painted)
            plain = painted = ""
        sep = "   " if plain else ""
        plain += f"{sep}{char} {label}"
        painted += f"{sep}{_paint(char, color)} {label}"
    return [*lines, painted]


def render_map(
    regions: list[dict[str, Any]],
    replicas: dict[str, str],
    home: str,
    width: int = 100,
    color: bool = False,
    unavailable: set[str] | None = None,
) -> str:
    """Render the world map with replica markers, a legend and the replica list.

    regions: region catalog entries (name, displayName, latitude, longitude, ...).
    replicas: {region name: display status} for regions holding a replica (home included).
    home: the home region name.  unavailable: regions where no replica can be added.
    """
    if width < 20:
        raise ValueError("width must be at least 20 columns")
    blocked = set(unavailable or ())
    height = map_height(width)
    grid = [list(row) for row in _land_rows(width, height)]
    by_name: dict[str, dict[str, Any]] = {}
    for region in sorted(regions, key=lambda r: str(r.get("name", ""))):
        name = str(region.get("name", ""))
        by_name.setdefault(name, region)
        where = _coords(region)
        if not name or where is None:
            continue
        row, col = project(where[0], where[1], width, height)
        mark = "H" if name == home else "R" if name in replicas else "+x"[name in blocked]
        if _RANK[mark] > _RANK.get(grid[row][col], 0):
            grid[row][col] = mark
    lines = ["".join(_paint(ch, color) for ch in row).rstrip() for row in grid]
    lines += ["", *_legend(width, color), ""]
    status = dict(replicas)
    status.setdefault(home, "")
    names = sorted(status, key=lambda n: (n != home, n))
    shown = {n: str(by_name.get(n, {}).get("displayName") or n) for n in names}
    name_w = max(len(n) for n in names)
    disp_w = max(len(d) for d in shown.values())
    for name in names:
        mark = "H" if name == home else "R"
        text = f"  {mark}  {name:<{name_w}}  {shown[name]:<{disp_w}}  {status[name]}"
        text = text[:width].rstrip()
        if color:
            text = text[:2] + _paint(mark, True) + text[3:]
        lines.append(text)
    return "\n".join(lines) + "\n"
