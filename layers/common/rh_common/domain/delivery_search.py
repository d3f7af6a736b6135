"""The delivery log searched and replayed in bulk (contract section 11), the pure part: what a search or a
replay asks for, checked once for both, and the replay record's statuses and view.

A window bounds a delivery's `receivedAt` (its arrival here, epoch seconds), with the operator routes'
one grammar (sync_windows.parse_bound: a date, or a date-time with Z or an offset).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rh_common.domain.deliveries import INVENTORY_SUBJECT, RESEND_SUBJECT, DeliveryStatus, subject_key
from rh_common.domain.field_errors import FieldError
from rh_common.domain.sync_windows import parse_bound

# What POST /deliveries/replay takes: the states whose deliveries another apply may change.
REPLAYABLE = (DeliveryStatus.APPLY_FAILED.value, DeliveryStatus.UNPROCESSABLE.value, DeliveryStatus.RECEIVED.value)


@dataclass(frozen=True)
class DeliverySearch:
    """Deliveries matching every criterion given; `status` or an id is always there."""

    status: str | None = None
    category: str | None = None
    since: int | None = None  # receivedAt bounds, epoch seconds, inclusive
    until: int | None = None
    inventory_id: int | None = None
    resend_id: int | None = None

    @property
    def subject(self) -> str | None:
        """The BySubject key to query, when the search names a resend or an item (a resend first: a report
        names its items too, and is filed under its resend)."""
        if self.resend_id is not None:
            return subject_key(RESEND_SUBJECT, self.resend_id)
        if self.inventory_id is not None:
            return subject_key(INVENTORY_SUBJECT, self.inventory_id)
        return None

    def stored(self) -> dict[str, Any]:
        """As a replay record keeps it (None left out)."""
        return {name: value for name, value in vars(self).items() if value is not None}

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> DeliverySearch:
        return cls(**{name: stored.get(name) for name in cls.__dataclass_fields__})


def _window(since: Any, until: Any, now: datetime) -> tuple[tuple[int | None, int | None], list[FieldError]]:
    start = end = None
    problems = []
    if since is not None:
        start, problem = parse_bound(since, "since", end_of_day=False)
        problems += [problem] if problem else []
    if until is not None:
        end, problem = parse_bound(until, "until", end_of_day=True)
        problems += [problem] if problem else []
    if problems:
        return (None, None), problems
    if start is not None and start > now:
        return (None, None), [FieldError("since", "must not be in the future")]
    if start is not None and end is not None and start > end:
        return (None, None), [FieldError("since", "must not be after until")]
    return (_epoch(start), _epoch(end)), []


def _epoch(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def parse_search(
    now: datetime,
    status: str | None = None,
    category: str | None = None,
    since: str | None = None,
    until: str | None = None,
    inventory_id: int | None = None,
    resend_id: int | None = None,
) -> tuple[DeliverySearch | None, list[FieldError]]:
    """GET /deliveries: the search, or field errors (`status` or an id is required)."""
    if status is None and inventory_id is None and resend_id is None:
        return None, [FieldError("status", "give status, inventoryId or resendId")]
    (start, end), problems = _window(since, until, now)
    if problems:
        return None, problems
    return DeliverySearch(status, category, start, end, inventory_id, resend_id), []


def parse_replay(
    now: datetime, status: Any, category: Any = None, since: Any = None, until: Any = None
) -> tuple[DeliverySearch | None, list[FieldError]]:
    """POST /deliveries/replay: one replayable status, a window (`since` required; `until` is now when left
    out, and an `until` past now is now: what arrives later is not this replay's), an optional category (its
    shape is the request model's: delivery_routes.ReplayRequest)."""
    if status not in REPLAYABLE:
        return None, [FieldError("status", f"one of {', '.join(REPLAYABLE)}")]
    if since is None:
        return None, [FieldError("since", "required: a date (YYYY-MM-DD) or a date-time with Z or an offset")]
    (start, end), problems = _window(since, until, now)
    if problems:
        return None, problems
    latest = int(now.timestamp())
    end = latest if end is None else min(end, latest)
    return DeliverySearch(status, category, start, end), []


# -- the replay record (adapters.dynamodb.replay_store keeps it): its statuses and its view

RUNNING, DONE = "RUNNING", "DONE"


def replay_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """`{"replayId", "status", "matched", "replayed", "outcomes"}`: outcome names as the webhook answers them
    (`applied`, `ignored`, `unprocessable`), and `applyFailed` for one that failed again."""
    return {
        "replayId": record["replayId"],
        "status": record["status"],
        "matched": int(record.get("matched") or 0),
        "replayed": int(record.get("replayed") or 0),
        "outcomes": {str(name): int(count) for name, count in (record.get("outcomes") or {}).items()},
    }
