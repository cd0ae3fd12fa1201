"""rbac_rules.token_key: hash_token memoized by keyed fingerprints, never by the token."""

from __future__ import annotations

import pytest

from acrctl.backend import rbac_rules
from acrctl.backend.rbac_rules import hash_token, token_key


def test_token_key_is_the_stored_hash() -> None:
    assert token_key("tok-abc-123") == hash_token("tok-abc-123")
    assert token_key("tok-abc-123") == hash_token("tok-abc-123")  # from the memo
    assert token_key("tok-abc-124") == hash_token("tok-abc-124")


def test_token_key_keeps_no_raw_token() -> None:
    secret = "raw-secret-token-0123456789"
    token_key(secret)
    kept = repr(rbac_rules._digests)
    assert secret not in kept
    assert hash_token(secret) in kept


def test_token_key_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rbac_rules, "DIGEST_ENTRIES", 3)
    monkeypatch.setattr(rbac_rules, "_digests", {})
    for i in range(7):
        assert token_key(f"t{i}") == hash_token(f"t{i}")
    assert len(rbac_rules._digests) == 1  # emptied when full: t6 alone
