"""Every Return Helper answer (or failure to get one) classified in one place, as a
`domain.upstream_outcome.UpstreamOutcome`.

No AWS, no HTTP library at import time. The wire status is never trusted alone:
Return Helper reports most refusals as HTTP 200 with ``meta.status`` 400 and a
``meta.errorCode`` (a "soft error"). The three outcomes drive the system:

- ``SUCCESS``: 2xx, a JSON envelope, ``meta.status`` 200 and no ``errorCode``.
- ``PERMANENT``: upstream refused (soft error, 4xx other than 408/409/429); retrying the
  same request cannot help.
- ``TRANSIENT``: the answer is unknown or upstream is unwell (timeouts, resets, 5xx, 408,
  409, 429, a 2xx that is not an envelope, ``meta.status`` 5xx), or our credentials were
  refused (401/403: a rotation half done, never the request's fault). Safe to retry because
  state-changing calls carry the same ``x-returnhelper-idempotency-key`` every time.

A transient outcome also says whether the call may have been processed (``maybe_processed``):
only 429, 503, 401/403, a connection that was never made and a request refused before it was
sent certainly were not; anything else (a read timeout, a reset after sending, other 5xx, a 2xx
that is not the envelope) may have created what it asked for (contract section 3, DEAD).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from rh_common.domain.upstream_outcome import CREDENTIALS_REFUSED, OutcomeKind, UpstreamOutcome

# Wire statuses that mean "try again later" although they are 4xx.
TRANSIENT_4XX = frozenset({408, 409, 429})
# Wire statuses whose Retry-After header is honoured.
RETRY_AFTER_STATUSES = frozenset({429, 503})
# Transient wire statuses that say the request was certainly not processed.
NOT_PROCESSED_STATUSES = RETRY_AFTER_STATUSES | CREDENTIALS_REFUSED
_ENVELOPE_KEYS = frozenset({"correlationId", "meta"})
_REFUSED_BEFORE_SENDING = "refused before sending: a header value is not valid"


@dataclass(frozen=True)
class _Envelope:
    meta_status: int | None
    error_code: str | None
    errors: dict[str, str]
    payload: dict[str, Any]
    correlation_id: str | None


def classify_response(
    operation: str,
    http_status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime | None = None,
) -> UpstreamOutcome:
    """Classify an HTTP answer. ``now`` is only for resolving an HTTP-date ``Retry-After``."""
    envelope = _parse_envelope(body)

    def outcome(
        kind: OutcomeKind, detail: str, retry_after: float | None = None, maybe_processed: bool = False
    ) -> UpstreamOutcome:
        return UpstreamOutcome(
            kind=kind,
            operation=operation,
            http_status=http_status,
            payload=envelope.payload if envelope else {},
            error_code=envelope.error_code if envelope else None,
            errors=envelope.errors if envelope else {},
            retry_after_seconds=retry_after,
            detail=detail,
            correlation_id=envelope.correlation_id if envelope else None,
            maybe_processed=maybe_processed,
        )

    if not 200 <= http_status < 300:
        detail = f"HTTP {http_status}"
        if envelope and envelope.error_code:
            detail += f" {envelope.error_code}"
        if http_status in CREDENTIALS_REFUSED:
            # Often without an envelope; our credentials, not the request: retried, counted, alarmed.
            return outcome(OutcomeKind.TRANSIENT, f"{detail} (credentials refused)")
        if http_status in TRANSIENT_4XX or 500 <= http_status < 600:
            retry_after = _retry_after(headers, now) if http_status in RETRY_AFTER_STATUSES else None
            return outcome(
                OutcomeKind.TRANSIENT, detail, retry_after, maybe_processed=http_status not in NOT_PROCESSED_STATUSES
            )
        # Other 4xx, and 1xx/3xx which this API never sends on purpose.
        return outcome(OutcomeKind.PERMANENT, detail)

    if envelope is None or envelope.meta_status is None:
        # A 2xx that is not Return Helper's envelope: a proxy page or a garbled answer.
        return outcome(OutcomeKind.TRANSIENT, f"HTTP {http_status} without a JSON envelope", maybe_processed=True)
    meta_status = envelope.meta_status
    if 500 <= meta_status < 600:
        detail = f"meta.status {meta_status}" + _suffix(envelope.error_code)
        return outcome(OutcomeKind.TRANSIENT, detail, maybe_processed=True)
    if envelope.error_code or 400 <= meta_status < 500:
        return outcome(OutcomeKind.PERMANENT, f"soft error {envelope.error_code or f'meta.status {meta_status}'}")
    if meta_status == 200:
        return outcome(OutcomeKind.SUCCESS, f"HTTP {http_status}")
    return outcome(OutcomeKind.TRANSIENT, f"unexpected meta.status {meta_status}", maybe_processed=True)


def classify_exception(operation: str, exc: BaseException) -> UpstreamOutcome:
    """Network failures and requests refused before sending -> TRANSIENT; anything else (a bug, a bad
    URL) is raised again. The detail is fixed text: an exception's message may quote a header value."""
    failure = _network_failure(exc)
    if failure is None:
        raise exc
    detail, maybe_processed = failure
    return UpstreamOutcome(
        kind=OutcomeKind.TRANSIENT, operation=operation, detail=detail, maybe_processed=maybe_processed
    )


# -- helpers ---------------------------------------------------------------------------------


def _suffix(error_code: str | None) -> str:
    return f" {error_code}" if error_code else ""


def _parse_envelope(body: bytes) -> _Envelope | None:
    """The envelope's parts, or None when the body is not a JSON object with a ``meta`` object."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(document, dict) or not isinstance(document.get("meta"), dict):
        return None
    meta = document["meta"]
    payload = {key: value for key, value in document.items() if key not in _ENVELOPE_KEYS}
    data = payload.get("data")
    if isinstance(data, dict):
        del payload["data"]
        payload.update(data)
    error_code = meta.get("errorCode")
    correlation_id = document.get("correlationId")
    return _Envelope(
        meta_status=_status(meta.get("status")),
        error_code=str(error_code) if error_code not in (None, "") else None,
        errors=_errors(meta.get("error")),
        payload=payload,
        correlation_id=str(correlation_id) if correlation_id is not None else None,
    )


def _status(value: Any) -> int | None:
    """``meta.status`` is a number in samples, a string in the model table."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _errors(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(key): _text(message) for key, message in value.items()}
    if value in (None, "", []):
        return {}
    return {"": _text(value)}


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(_text(item) for item in value)
    return json.dumps(value) if isinstance(value, dict) else str(value)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def _retry_after(headers: Mapping[str, str], now: datetime | None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP-date; None when absent or invalid."""
    raw = (_header(headers, "Retry-After") or "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def _network_failure(exc: BaseException) -> tuple[str, bool] | None:
    """(a short reason, whether the request may have been processed) when ``exc`` is a network failure
    or a refusal before sending, else None. Only a connection never made and a request never sent are
    certainly unprocessed; anything after the connection was made may have been processed."""
    found = _requests_failure(exc)
    if found is not None:
        return found
    if isinstance(exc, UnicodeEncodeError):  # http.client encoding a header (latin-1): nothing sent yet
        return _REFUSED_BEFORE_SENDING, False
    if isinstance(exc, TimeoutError):
        return "timeout", True
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused", False
    if isinstance(exc, ConnectionError):
        return ("connection reset" if isinstance(exc, ConnectionResetError) else "connection error"), True
    return None


def _requests_failure(exc: BaseException) -> tuple[str, bool] | None:
    """`_network_failure` for the exceptions of requests (and the urllib3 ones it wraps)."""
    try:
        import requests.exceptions as rex
    except ImportError:  # the pure layer stays usable without requests
        return None
    if isinstance(exc, rex.InvalidHeader):
        return _REFUSED_BEFORE_SENDING, False
    # Order matters: ConnectTimeout is both a ConnectionError and a Timeout.
    if isinstance(exc, rex.ConnectTimeout):
        return "connect timeout", False
    for exc_type, detail in (
        (rex.ReadTimeout, "read timeout"),
        (rex.Timeout, "timeout"),
        (rex.SSLError, "TLS error"),
        (rex.ProxyError, "proxy error"),
        (rex.ChunkedEncodingError, "response body cut off"),
        (rex.ContentDecodingError, "response body not decodable"),
    ):
        if isinstance(exc, exc_type):
            return detail, True
    if isinstance(exc, rex.ConnectionError):
        # urllib3 retry bookkeeping can hand a read timeout over as a ConnectionError.
        causes = list(_causes(exc))
        names = {type(cause).__name__ for cause in causes}
        if "ReadTimeoutError" in names:
            return "read timeout", True
        if any(isinstance(cause, ConnectionResetError) for cause in causes):
            return "connection reset", True
        if "NameResolutionError" in names or any(isinstance(cause, socket.gaierror) for cause in causes):
            return "name not resolved", False
        if "NewConnectionError" in names or any(isinstance(cause, ConnectionRefusedError) for cause in causes):
            return "connection refused", False
        return "connection error", True
    return None


def _causes(exc: BaseException, depth: int = 0) -> Iterator[BaseException]:
    """The exceptions requests/urllib3 wrapped inside ``exc``: in ``args``, ``reason`` or the cause chain."""
    if depth > 5:
        return
    nested = [arg for arg in exc.args if isinstance(arg, BaseException)]
    nested += [
        e for e in (exc.__cause__, exc.__context__, getattr(exc, "reason", None)) if isinstance(e, BaseException)
    ]
    for inner in nested:
        yield inner
        yield from _causes(inner, depth + 1)
