"""verifyReplication: compare every region of a registry with its home region, through the
regions' OCI API (engine tokens): each tag's manifest digest (missing, extra or another
digest than home's), and in every region each manifest's children and blobs (HEAD in the
repository: present, and reported under the digest asked for). Blob bytes are not
re-hashed (that would read every layer); distribution checks them when they are written.
At most `replication_verify_max_tags` tags are compared (then the report says
complete: false)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from acrctl.dataplane.copier import ACCEPT, MAX_DEPTH, CopyError
from acrctl.dataplane.reconcile import home_tags

if TYPE_CHECKING:
    from acrctl.dataplane.engine import Engine


@dataclass
class _Report:
    drift: list[dict[str, Any]] = field(default_factory=list)
    tags: int = 0
    manifests: int = 0
    blobs: int = 0
    complete: bool = True

    def add(self, region: str, problem: str, image: str | None = None, **kw: Any) -> None:
        self.drift.append({"region": region, "image": image, "problem": problem, **kw})


def verify(engine: Engine, reg: dict[str, Any], regions: list[str]) -> dict[str, Any]:
    registry, home = reg["name"].lower(), reg["location"]
    report = _Report()
    limit = max(1, engine.s.replication_verify_max_tags)
    held: dict[str, dict[tuple[str, str], str]] = {}
    for region in [home] + [r for r in regions if r != home]:
        try:
            engine.url(region)
            tags = home_tags(engine, registry, region)
        except (CopyError, OSError, ValueError) as exc:
            report.add(region, "unreachable", error=str(exc))
            continue
        if report.tags + len(tags) > limit:
            tags = tags[: max(0, limit - report.tags)]
            report.complete = False
        report.tags += len(tags)
        held[region] = {(repo, tag): digest for repo, tag, digest in tags}
        _check_contents(engine, registry, region, held[region], report)
    expected = held.get(home)
    if expected is not None:
        for region, have in held.items():
            if region != home:
                _compare(region, expected, have, report)
    return {
        "registry": reg["name"],
        "home": home,
        "regions": sorted(regions),
        "inSync": not report.drift,
        "complete": report.complete,
        "checked": {"tags": report.tags, "manifests": report.manifests, "blobs": report.blobs},
        "drift": sorted(report.drift, key=lambda d: (d["region"], d["image"] or "", d["problem"])),
    }


def _compare(
    region: str,
    expected: dict[tuple[str, str], str],
    have: dict[tuple[str, str], str],
    report: _Report,
) -> None:
    for (repo, tag), digest in expected.items():
        got = have.get((repo, tag))
        if got is None:
            report.add(region, "missing", f"{repo}:{tag}", expected=digest, actual=None)
        elif got != digest:
            report.add(region, "digestMismatch", f"{repo}:{tag}", expected=digest, actual=got)
    for (repo, tag), got in have.items():
        if (repo, tag) not in expected:
            report.add(region, "extra", f"{repo}:{tag}", expected=None, actual=got)


def _check_contents(
    engine: Engine,
    registry: str,
    region: str,
    tags: dict[tuple[str, str], str],
    report: _Report,
) -> None:
    """Every manifest a region's tags reference (children of indexes too) and their blobs."""
    seen: set[tuple[str, str]] = set()
    for (repo, tag), digest in sorted(tags.items()):
        copier = engine.copier(registry, repo, region, region)
        _manifest(engine, copier, region, f"{repo}:{tag}", digest, seen, report, 0)


def _manifest(
    engine: Engine,
    copier: Any,
    region: str,
    image: str,
    digest: str,
    seen: set[tuple[str, str]],
    report: _Report,
    depth: int,
) -> None:
    if (copier.repo, digest) in seen or depth > MAX_DEPTH:
        return
    seen.add((copier.repo, digest))
    r = engine.client.get(
        f"{copier.src}/v2/{copier.repo}/manifests/{digest}",
        headers={**copier._src_auth, "Accept": ACCEPT},  # noqa: SLF001 - the copier's token
    )
    report.manifests += 1
    if r.status_code != 200:
        report.add(region, "missingManifest", image, digest=digest, status=r.status_code)
        return
    doc = json.loads(r.content)
    for child in doc.get("manifests") or []:
        _manifest(engine, copier, region, image, str(child["digest"]), seen, report, depth + 1)
    blobs = [doc["config"]] if isinstance(doc.get("config"), dict) else []
    blobs += [b for b in doc.get("layers") or [] if not b.get("urls")]
    for blob in blobs:
        want = str(blob["digest"])
        if (copier.repo, want) in seen:
            continue
        seen.add((copier.repo, want))
        report.blobs += 1
        h = engine.client.head(
            f"{copier.src}/v2/{copier.repo}/blobs/{want}",
            headers=copier._src_auth,  # noqa: SLF001
        )
        if h.status_code != 200:
            report.add(region, "missingBlob", image, digest=want, status=h.status_code)
        elif h.headers.get("docker-content-digest", want) != want:
            got = h.headers.get("docker-content-digest")
            report.add(region, "blobDigestMismatch", image, digest=want, actual=got)
