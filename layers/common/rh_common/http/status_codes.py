"""The one mapping of a domain `Result` to an HTTP answer (status code and body).

Pure. Used for every response of the merchant API, a keyed request's replay included: the
answer it stored is the result (`Result.stored`), so a replay answers exactly what the first
call did, mapped here like any other result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rh_common.domain.results import Outcome, Result

STATUS: Mapping[Outcome, int] = {
    Outcome.SUBMITTED: 201,
    Outcome.PENDING: 202,
    Outcome.DEAD: 202,
    Outcome.REJECTED: 422,
    Outcome.INVALID: 422,
    Outcome.KEY_REUSED: 422,
    Outcome.CONFLICT: 409,
    Outcome.IN_FLIGHT: 409,
    Outcome.NOT_CANCELLABLE: 409,
    Outcome.NOT_AWAITING_APPROVAL: 409,
    Outcome.AWAITING_APPROVAL: 201,
    Outcome.APPROVED: 200,
    Outcome.NOT_HOLDABLE: 409,
    Outcome.NOT_FOUND: 404,
    Outcome.UNAVAILABLE: 503,
    Outcome.SETTLED: 200,
    Outcome.CANCELED: 200,
    Outcome.READ: 200,
    Outcome.HELD: 200,
    Outcome.ALREADY_HELD: 200,
    Outcome.QUOTED: 200,
    Outcome.PLANNED: 200,
    Outcome.BATCHED: 200,
    Outcome.FULFILLED: 201,
    Outcome.UNFILLED: 409,
    Outcome.REGISTERED: 201,
}


@dataclass(frozen=True)
class HttpAnswer:
    status_code: int
    body: dict[str, Any]


def answer(result: Result) -> HttpAnswer:
    return HttpAnswer(STATUS[result.decision], result.body)
