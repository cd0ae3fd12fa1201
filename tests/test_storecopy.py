"""Blobs copied at the storage layer (acrctl.dataplane.storecopy): placed in distribution's
filesystem layout of every target at once, checked against the digest first, nothing placed
and nothing left behind when the source's content is wrong, one target's failure its own."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from acrctl.dataplane import storecopy
from acrctl.dataplane.dataep import blob_file, linked
from acrctl.dataplane.storecopy import PlaceError, Target, clear_stale, layer_link, place

DATA = os.urandom(3 * storecopy.READ_BYTES + 123)  # more than one read
DIGEST = "sha256:" + hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def source(tmp_path: Path) -> str:
    path = tmp_path / "source-data"
    path.write_bytes(DATA)
    return str(path)


def roots(tmp_path: Path, *names: str) -> list[Target]:
    return [Target(str(tmp_path / n), "reg/app") for n in names]


def leftovers(t: Target) -> list[str]:
    tmp = os.path.join(t.root, storecopy.TMP_DIR)
    return os.listdir(tmp) if os.path.isdir(tmp) else []


def test_the_blob_is_placed_and_linked_in_every_target(tmp_path: Path, source: str) -> None:
    targets = roots(tmp_path, "b", "c")
    done = place(source, DIGEST, targets)
    assert (done.errors, done.linked) == ({}, set())
    for t in targets:
        assert Path(str(blob_file(t.root, DIGEST))).read_bytes() == DATA
        assert Path(layer_link(t.root, t.repo, DIGEST)).read_text() == DIGEST
        assert linked(t.root, t.repo, DIGEST)
        assert leftovers(t) == []


def test_other_content_than_the_digest_places_nothing(tmp_path: Path, source: str) -> None:
    wrong = "sha256:" + hashlib.sha256(b"other").hexdigest()
    targets = roots(tmp_path, "b", "c")
    with pytest.raises(PlaceError, match="holds other content"):
        place(source, wrong, targets)
    for t in targets:
        assert not os.path.exists(str(blob_file(t.root, wrong)))
        assert not os.path.exists(layer_link(t.root, t.repo, wrong))
        assert leftovers(t) == []


def test_a_target_holding_the_data_only_gets_the_link(tmp_path: Path) -> None:
    (t,) = roots(tmp_path, "b")
    data = Path(str(blob_file(t.root, DIGEST)))
    data.parent.mkdir(parents=True)
    data.write_bytes(DATA)
    # the source is not read at all: it does not exist
    done = place(str(tmp_path / "absent"), DIGEST, [t])
    assert (done.errors, done.linked) == ({}, {t})
    assert linked(t.root, t.repo, DIGEST)


def test_an_unreadable_source_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PlaceError, match="reading"):
        place(str(tmp_path / "absent"), DIGEST, roots(tmp_path, "b"))


def test_one_targets_failure_leaves_the_others_placed(tmp_path: Path, source: str) -> None:
    good, bad = roots(tmp_path, "b", "c")
    Path(bad.root).write_text("a file where the storage root should be")
    errors = place(source, DIGEST, [good, bad]).errors
    assert list(errors) == [bad]
    assert "a temporary file" in errors[bad]
    assert linked(good.root, good.repo, DIGEST)


def test_a_repository_escaping_the_tree_is_refused(tmp_path: Path, source: str) -> None:
    t = Target(str(tmp_path / "b"), "reg/../../etc")
    errors = place(source, DIGEST, [t]).errors
    assert "not a digest and repository" in errors[t]
    assert not (tmp_path / "etc").exists()


def test_not_a_digest_is_refused(tmp_path: Path, source: str) -> None:
    with pytest.raises(PlaceError, match="not a digest"):
        place(source, "sha256:../../x", roots(tmp_path, "b"))


def test_clear_stale_removes_only_old_temporary_files(tmp_path: Path) -> None:
    tmp = tmp_path / storecopy.TMP_DIR
    tmp.mkdir()
    (tmp / "old").write_bytes(b"x")
    (tmp / "new").write_bytes(b"x")
    hour_ago = time.time() - storecopy.STALE_SECONDS - 10
    os.utime(tmp / "old", (hour_ago, hour_ago))
    assert clear_stale(str(tmp_path)) == 1
    assert sorted(os.listdir(tmp)) == ["new"]
    assert clear_stale(str(tmp_path / "none")) == 0
