"""What one Return Helper call came to: success, permanent (refused) or transient (try again).

Classified from the wire by `rh_common.adapters.returnhelper.answers` (its docstring says which
answer is which); the services and ports decide on the kind, never on an HTTP status.
A transient outcome also says whether the call may have been processed (``maybe_processed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rh_common.domain.codes import parse_id

# Our credentials refused (a rotation half done): transient, never a refusal of the request.
CREDENTIALS_REFUSED = frozenset({401, 403})


class OutcomeKind(StrEnum):
    SUCCESS = "success"
    PERMANENT = "permanent"
    TRANSIENT = "transient"


@dataclass(frozen=True)
class UpstreamOutcome:
    """What one upstream call came to; ``payload`` holds the business fields of a success."""

    kind: OutcomeKind
    operation: str
    http_status: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    error_code: str | None = None
    errors: dict[str, str] = field(default_factory=dict)
    retry_after_seconds: float | None = None
    detail: str = ""
    correlation_id: str | None = None
    elapsed_seconds: float = 0.0
    # TRANSIENT only: True unless the call certainly was not processed (see the module's docstring).
    maybe_processed: bool = False
    # Our credentials could not be sent at all (a secret missing a field, a key no header can carry).
    credentials_unusable: bool = False

    @property
    def ok(self) -> bool:
        return self.kind is OutcomeKind.SUCCESS

    @property
    def transient(self) -> bool:
        return self.kind is OutcomeKind.TRANSIENT

    @property
    def permanent(self) -> bool:
        return self.kind is OutcomeKind.PERMANENT

    @property
    def credentials_refused(self) -> bool:
        return self.http_status in CREDENTIALS_REFUSED


def not_sent(operation: str, detail: str, credentials: bool = False) -> UpstreamOutcome:
    """A call refused before anything was sent (a header value requests would refuse, credentials that
    do not load: ``credentials``): certainly not processed, so retried and counted like a 503. ``detail``
    is fixed text."""
    return UpstreamOutcome(
        kind=OutcomeKind.TRANSIENT, operation=operation, detail=detail, credentials_unusable=credentials
    )


def resend_id_of(outcome: UpstreamOutcome) -> int | None:
    """``payload["resendId"]`` as an int (upstream sends a JSON number or a digit string)."""
    try:
        return parse_id(outcome.payload.get("resendId"))
    except ValueError:
        return None
