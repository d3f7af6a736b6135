"""The one mapping of a domain `Result` to an HTTP answer (status code and body).

Pure. Used for every response of the merchant API and for the answer a keyed resend
request stores, so a replay answers exactly what the first call did. A stored answer
is read back as a typed result too (`replayed`), so the worker and the batch decide
on outcomes whichever call answered first.
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
}


@dataclass(frozen=True)
class HttpAnswer:
    status_code: int
    body: dict[str, Any]


def answer(result: Result) -> HttpAnswer:
    return HttpAnswer(STATUS[result.decision], result.body)


def stored(result: Result) -> dict[str, Any]:
    """The answer a keyed request records for its replay (the record's `answer` attribute)."""
    http = answer(result)
    return {"statusCode": http.status_code, "body": http.body}


def replayed(stored_answer: Mapping[str, Any]) -> Result:
    """A recorded answer as the result it was. Every outcome that is recorded has its own status
    code but the two 422s: Return Helper's refusal carries `upstream`, a refusal before it does not."""
    status, body = int(stored_answer["statusCode"]), stored_answer["body"]
    first = {
        201: Outcome.SUBMITTED,
        202: Outcome.PENDING,
        409: Outcome.CONFLICT,
        422: Outcome.REJECTED if "upstream" in body else Outcome.INVALID,
    }[status]
    return Result(Outcome.REPLAYED, body, replay_of=first)
