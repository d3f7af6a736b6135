"""The domain's exceptions: what a port or a service raises for the domain to decide on.

Here, not in the adapters, so the domain (and the fakes in tests/support) name them without
importing an adapter; the adapters raise them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Conflict:
    inventory_id: int
    held_by: str | None  # None: the item is not known


class ReservationConflict(Exception):
    """Some items are reserved by another active request (or not known): nothing was reserved."""

    def __init__(self, conflicts: list[Conflict]) -> None:
        super().__init__(f"{len(conflicts)} items not available")
        self.conflicts = conflicts


class RequestExists(Exception):
    """A record with this resend request id exists already (same idempotency key)."""


class BatchExists(Exception):
    """A batch with this key exists already."""


class ServiceTypesUnavailable(RuntimeError):
    """Neither the cache nor Return Helper could say (transient)."""


class ServiceTypesRefused(ValueError):
    """Return Helper refused to list them (e.g. a warehouse it does not know): the request's fault, not a 5xx."""


class RetryLater(Exception):
    """Nothing decided yet (upstream or a concurrent request busy): try the message again later."""


class UnknownResendRequest(Exception):
    """A retry message names a request that does not exist: a poison message."""


class InvalidPageToken(ValueError):
    """A `nextToken` that does not decode to what the listing issued (or belongs to another listing)."""
