"""Return Helper webhook signatures: sign and verify, nothing else.

Signed message: ``b"POST" + url + timestamp header + raw body`` (URL and timestamp as UTF-8,
the body exactly as received), HMAC-SHA256 with the base64-decoded signing key, the digest
base64-encoded into the ``returnhelper-signature`` header. The timestamp is signed as the
header string, byte for byte; it is parsed only for the replay window.

Pure: no AWS, no logging. Keys never appear in errors.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from rh_common.domain import timestamps

__all__ = ["SignatureError", "sign", "signed_headers", "verify"]

SIGNATURE_HEADER = "returnhelper-signature"
LEGACY_SIGNATURE_HEADER = "signature"
TIMESTAMP_HEADER = "timestamp"
CONTENT_TYPE = "application/json; charset=utf-8"

Reason = Literal[
    "missing_signature",
    "missing_timestamp",
    "bad_timestamp",
    "stale_timestamp",
    "future_timestamp",
    "bad_signature",
]


class SignatureError(Exception):
    """A delivery that must be refused; ``reason`` says why (never which key)."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason)
        self.reason: str = reason


def _message(url: str, timestamp: str, raw_body: bytes) -> bytes:
    return b"POST" + url.encode("utf-8") + timestamp.encode("utf-8") + raw_body


def _digest(key: bytes, message: bytes) -> bytes:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest())


def sign(signing_key_b64: str, url: str, timestamp: str, raw_body: bytes) -> str:
    """The ``returnhelper-signature`` value for one delivery. Raises ValueError for a non-base64 key."""
    key = base64.b64decode(signing_key_b64, validate=True)
    return _digest(key, _message(url, timestamp, raw_body)).decode("ascii")


def signed_headers(signing_key_b64: str, url: str, raw_body: bytes, timestamp: str | None = None) -> dict[str, str]:
    """Headers of a delivery of ``raw_body`` to ``url`` as Return Helper sends them."""
    stamp = timestamp if timestamp is not None else timestamps.upstream_iso(datetime.now(UTC))
    return {
        SIGNATURE_HEADER: sign(signing_key_b64, url, stamp, raw_body),
        TIMESTAMP_HEADER: stamp,
        "content-type": CONTENT_TYPE,
    }


def _parse_timestamp(value: str) -> datetime:
    try:
        return timestamps.parse(value, space_separator=False)
    except ValueError:
        raise SignatureError("bad_timestamp") from None


def _decode_keys(signing_keys: Sequence[str]) -> tuple[bytes, ...]:
    if isinstance(signing_keys, str | bytes):
        signing_keys = [signing_keys]  # one key passed bare, not a sequence of characters
    return _decoded(tuple(signing_keys))


@functools.lru_cache(maxsize=8)
def _decoded(signing_keys: tuple[str, ...]) -> tuple[bytes, ...]:
    # Decoded once per set of keys (the secret changes only when a key is rotated), not per delivery.
    keys = []
    for encoded in signing_keys:
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError, TypeError):
            continue  # a malformed key in the secret must not break the others
        if key:
            keys.append(key)
    return tuple(keys)


def verify(
    headers: Mapping[str, str],
    raw_body: bytes,
    url: str,
    signing_keys: Sequence[str],
    max_skew_seconds: int,
    now: datetime | None = None,
) -> None:
    """Return if one of ``signing_keys`` signed this delivery within the window, else raise SignatureError.

    ``raw_body`` must be the bytes received (API Gateway's base64 body decoded, never re-serialised);
    ``url`` the URL exactly as registered with Return Helper. Several keys may be current while one
    is rotated out.
    """
    lowered = {str(name).lower(): value for name, value in (headers or {}).items()}
    signature = lowered.get(SIGNATURE_HEADER) or lowered.get(LEGACY_SIGNATURE_HEADER)
    if not signature:
        raise SignatureError("missing_signature")
    timestamp = lowered.get(TIMESTAMP_HEADER)
    if not timestamp:
        raise SignatureError("missing_timestamp")

    sent_at = _parse_timestamp(timestamp)
    current = now or datetime.now(UTC)
    current = current.replace(tzinfo=UTC) if current.tzinfo is None else current
    age = current - sent_at
    window = timedelta(seconds=max_skew_seconds)
    if age > window:
        raise SignatureError("stale_timestamp")
    if -age > window:
        raise SignatureError("future_timestamp")

    message = _message(url, timestamp, raw_body)
    if not isinstance(signature, str):
        raise SignatureError("bad_signature")
    received = signature.strip().encode("utf-8")
    for key in _decode_keys(signing_keys):
        if hmac.compare_digest(_digest(key, message), received):
            return
    raise SignatureError("bad_signature")
