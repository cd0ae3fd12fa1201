"""The data plane's routing state: which regions a registry's requests may go to, in order,
for one client (acrctl.dataplane.geo decides; this module feeds it the store, the
supervisor and the health of each region).

* Placement: the registry's home region and replicas (`regionEndpointEnabled`), read from
  the store through the backend's generation cache.
* Health: a region is healthy when its process is running and ready (or it is external),
  no outage drill holds it down, and neither the probe (`GET /v2/` every
  `dataplane_health_interval_seconds`, `dataplane_health_timeout_seconds` to answer) nor the
  front (a refused or timed-out connection) found it unreachable since its last good probe.
* Outage drills: a RegionOutage or ReplicaOutage drill in force stops the region's registry
  (the supervisor holds it stopped) until the drill is cleared or expires.
* Pins: a push session (a token granting push on the repository) stays on the region
  chosen at its first request while that region is healthy (`dataplane_push_pin_seconds`
  after its last request, at most `dataplane_push_pins_max` sessions).
* Links: the test bed's hook, `links[(origin, region)]` = the URL of `region`'s registry as
  reached from `origin` (a delay proxy); the direct URL when absent."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from acrctl.dataplane import geo
from acrctl.dataplane import supervisor as sup

if TYPE_CHECKING:
    from acrctl.dataplane.plane import DataPlane

log = logging.getLogger("acrctl.dataplane")


class GeoRouter:
    def __init__(self, plane: DataPlane) -> None:
        s = plane.settings
        self.plane, self.b, self.s = plane, plane.b, s
        try:
            self.networks = geo.parse_client_regions(s.dataplane_client_regions)
        except ValueError as exc:  # the data plane stays off and says why
            raise RuntimeError(f"dataplane_client_regions: {exc}") from None
        self.health = geo.Health()
        self.pins = geo.Pins(s.dataplane_push_pin_seconds, s.dataplane_push_pins_max)
        self.links: dict[tuple[str, str], str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> GeoRouter:
        self._thread = threading.Thread(
            target=self._probe_loop, name="acrctl-geo-health", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- the store -----------------------------------------------------------------------------
    def placement(self, registry: str) -> geo.Placement | None:
        """The registry's regions (None: no such registry)."""
        return self.b.cache.get(("dataplane", "placement", registry), lambda: self._read(registry))  # type: ignore[no-any-return]

    def _read(self, registry: str) -> geo.Placement | None:
        reg = self.b.registries.find(registry) if registry else None
        if reg is None:
            return None
        reps = {
            r["location"]: bool((r.get("properties") or {}).get("regionEndpointEnabled", True))
            for r in self.b.replications.all_for(reg)
        }
        reps.setdefault(reg["location"], True)
        return geo.Placement(
            reg["location"], tuple(geo.Replica(k, v) for k, v in sorted(reps.items()))
        )

    def drilled(self) -> set[str]:
        """Regions an outage drill in force (any subscription) takes down."""
        return self.b.drills.outage_regions()

    def follow_drills(self) -> None:
        """Hold the drilled regions stopped, release the others (the reconcile loop)."""
        down = self.drilled()
        sv = self.plane.supervisor
        for name in sv.names():
            if name in down:
                if sv.hold(name):
                    self.health.mark(name, False, time.monotonic())
                    log.warning("region %s: data plane stopped by an outage drill", name)
            elif sv.release(name):
                log.warning("region %s: outage drill over; data plane starting", name)

    # -- decisions ------------------------------------------------------------------------------
    def healthy(self, region: str) -> bool:
        r = self.plane.supervisor.region(region)
        if r is None:
            return True  # not started yet: `url` starts it
        return not r.held and (r.ready or bool(r.external)) and self.health.up(region)

    def route(
        self,
        registry: str,
        address: str | None,
        hint: str | None,
        pinned: str | None,
        push_key: tuple[str, ...] | None,
    ) -> list[tuple[str, str]]:
        """(region, URL) to try in order for one request; a push session gets one region."""
        place = self.placement(registry)
        if place is None:
            names = self.plane.supervisor.names()
            up = [n for n in names if self.healthy(n)] or names
            return self._urls(up[:1], None)
        origin = geo.client_region(address, hint, self.networks, place.home)
        if pinned is not None:
            return self._urls(geo.order(origin, place, self.healthy, pinned), origin)
        if push_key is not None:
            now = time.monotonic()
            held = self.pins.get(push_key, now)
            if held is not None and held in place.names and self.healthy(held):
                return self._urls([held], origin)
            first = geo.order(origin, place, self.healthy)[:1]
            if first:
                self.pins.put(push_key, first[0], now)
            return self._urls(first, origin)
        return self._urls(geo.order(origin, place, self.healthy), origin)

    def origin(self, registry: str, address: str | None, hint: str | None) -> str | None:
        """The region the client is in, as `route` sees it (None: no such registry)."""
        place = self.placement(registry)
        if place is None:
            return None
        return geo.client_region(address, hint, self.networks, place.home)

    def _urls(self, names: list[str], origin: str | None) -> list[tuple[str, str]]:
        out = []
        for name in names:
            url = self.url(name, origin)
            if url is not None:
                out.append((name, url))
        return out

    def url(self, region: str, origin: str | None) -> str | None:
        """The region's registry as reached from `origin` (started when it never was)."""
        sv = self.plane.supervisor
        r = sv.region(region)
        if r is None:
            r = sv.ensure(region)
        return self.link(region, origin, r.url) if origin is not None else r.url

    def link(self, region: str, origin: str, direct: str) -> str:
        """`region`'s URL as seen from `origin` (the test bed's link), else `direct`."""
        return self.links.get((origin, region)) or direct

    def failed(self, region: str) -> None:
        """The front could not connect to the region: skip it until a probe succeeds."""
        if self.health.mark(region, False, time.monotonic()):
            log.warning("region %s: unreachable; routing skips it until it answers", region)

    # -- the probe -------------------------------------------------------------------------------
    def _probe_loop(self) -> None:
        while not self._stop.wait(self.s.dataplane_health_interval_seconds):
            try:
                self.probe_all()
            except Exception:  # noqa: BLE001 - next round
                log.exception("data plane: health probe failed")

    def probe_all(self) -> None:
        sv = self.plane.supervisor
        for name in sv.names():
            r = sv.region(name)
            if r is None:
                continue
            ok = (
                not r.held
                and (r.ready or bool(r.external))
                and sup.probe(r.url, self.s.dataplane_health_timeout_seconds, sup.HEALTH_AGENT)
            )
            if self.health.mark(name, ok, time.monotonic()):
                log.warning("region %s: %s", name, "healthy again" if ok else "unhealthy")
                if ok:
                    self.plane.region_up(name)
