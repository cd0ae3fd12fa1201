"""Where the front sends a request: the nearest healthy replica region (no I/O here).

The decision, per request:

1. the client's region: the `X-Acrctl-Region` hint when it names a region of the catalog,
   else the longest match of the client's address in the server's map of networks to regions
   (`dataplane_client_regions`, "10.1.0.0/16=eastus,10.2.0.0/16=westeurope"), else the
   registry's home region;
2. the registry's regions in order: healthy regions that take routed traffic
   (`regionEndpointEnabled` true) by great-circle distance from the client's region (ties by
   name, so two equidistant regions always give the same answer), then healthy regions out
   of routing (they keep replicating and are used only when no routed region is healthy),
   then the unhealthy ones as a last resort;
3. a regional endpoint (`<name>.<region>.geo.<login domain>`) pins the order to its region.

`Pins` keeps a push on one region (see docs/dataplane.md); `Health` is the in-memory state
of each region (down since when), fed by the plane's probe and by the front's connection
errors."""

from __future__ import annotations

import ipaddress
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from acrctl.backend import regions

HINT_HEADER = "x-acrctl-region"
EARTH_KM = 6371.0
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Replica:
    region: str
    routed: bool = True  # regionEndpointEnabled


@dataclass(frozen=True)
class Placement:
    """A registry's home region and its replica regions (the home one included)."""

    home: str
    replicas: tuple[Replica, ...]

    @property
    def names(self) -> list[str]:
        return [r.region for r in self.replicas]


def parse_client_regions(text: str) -> list[tuple[Network, str]]:
    """`CIDR=region` pairs separated by commas -> (network, region), longest prefix first.
    Raises ValueError naming the first bad entry."""
    out: list[tuple[Network, str]] = []
    for entry in filter(None, (e.strip() for e in text.split(","))):
        cidr, sep, name = entry.partition("=")
        region = regions.lookup(name)
        if not sep or region is None:
            raise ValueError(
                f"'{entry}': use CIDR=region with a known region, e.g. 10.1.0.0/16=eastus"
            )
        try:
            net = ipaddress.ip_network(cidr.strip(), strict=False)
        except ValueError:
            raise ValueError(f"'{entry}': '{cidr}' is not a network (CIDR)") from None
        out.append((net, str(region["name"])))
    out.sort(key=lambda pair: pair[0].prefixlen, reverse=True)
    return out


def client_region(
    address: str | None, hint: str | None, networks: Iterable[tuple[Network, str]], home: str
) -> str:
    """The region a client is in: a known hint, else its network, else `home`."""
    if hint:
        region = regions.lookup(hint)
        if region is not None:
            return str(region["name"])
    if address:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return home
        for net, name in networks:
            if ip.version == net.version and ip in net:
                return name
    return home


def distance_km(a: str, b: str) -> float:
    """Great-circle distance between two catalog regions (inf when one is unknown)."""
    if a == b:
        return 0.0
    ra, rb = regions.lookup(a), regions.lookup(b)
    if ra is None or rb is None:
        return math.inf
    lat1, lon1 = math.radians(ra["latitude"]), math.radians(ra["longitude"])
    lat2, lon2 = math.radians(rb["latitude"]), math.radians(rb["longitude"])
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


def order(
    origin: str, placement: Placement, healthy: Callable[[str], bool], pinned: str | None = None
) -> list[str]:
    """The regions to try, best first (see the module's docstring); a pinned region alone
    (empty when the registry has no replica there)."""
    if pinned is not None:
        return [pinned] if pinned in placement.names else []

    def key(r: Replica) -> tuple[float, str]:
        return (distance_km(origin, r.region), r.region)

    ranked = sorted(placement.replicas, key=key)
    up = [r for r in ranked if healthy(r.region)]
    down = [r.region for r in ranked if not healthy(r.region)]
    return [r.region for r in up if r.routed] + [r.region for r in up if not r.routed] + down


class Health:
    """Which regions are down (thread-safe). A region is up until marked down."""

    def __init__(self) -> None:
        self._down: dict[str, float] = {}
        self._lock = threading.Lock()

    def up(self, region: str) -> bool:
        return region not in self._down

    def mark(self, region: str, up: bool, now: float) -> bool:
        """Record a region's state; True when it changed."""
        with self._lock:
            if up:
                return self._down.pop(region, None) is not None
            if region in self._down:
                return False
            self._down[region] = now
            return True

    def down(self) -> dict[str, float]:
        with self._lock:
            return dict(self._down)


class Pins:
    """Push sessions held on one region: key -> (region, expiry). An entry lives `seconds`
    after its last use; at most `limit` entries (the least recently used goes first)."""

    def __init__(self, seconds: float, limit: int) -> None:
        self.seconds, self.limit = seconds, max(1, limit)
        self._pins: OrderedDict[tuple[str, ...], tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...], now: float) -> str | None:
        with self._lock:
            hit = self._pins.get(key)
            if hit is None:
                return None
            if hit[1] <= now:
                del self._pins[key]
                return None
            self._pins[key] = (hit[0], now + self.seconds)
            self._pins.move_to_end(key)
            return hit[0]

    def put(self, key: tuple[str, ...], region: str, now: float) -> None:
        with self._lock:
            self._pins[key] = (region, now + self.seconds)
            self._pins.move_to_end(key)
            while len(self._pins) > self.limit:
                self._pins.popitem(last=False)

    def drop(self, key: tuple[str, ...]) -> None:
        with self._lock:
            self._pins.pop(key, None)

    def __len__(self) -> int:
        return len(self._pins)
