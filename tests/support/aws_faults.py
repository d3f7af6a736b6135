"""AWS failures injected on the exact call, through the handlers.

botocore's `Stubber` answers every call of a client from a script; a handler makes many
calls to one shared client, so these use the hook the Stubber itself uses
(`before-call.<service>.<Operation>`: a handler that returns a response stands in for the
HTTP exchange) and fail only the calls named, the next `times` of them; every other call
goes to moto as usual. The error is parsed and raised by botocore as a real one would be
(a `ClientError` with the code, message and cancellation reasons).
"""

from __future__ import annotations

from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders


class InjectedFailures:
    def __init__(self, client: Any) -> None:
        self._client = client
        self.failed: list[str] = []  # the operations failed so far, in order

    def fail(
        self,
        operation: str,
        code: str,
        times: int = 1,
        after: int = 0,
        status: int = 400,
        reasons: list[str | None] | None = None,
    ) -> None:
        """After `after` calls of `operation` (e.g. "TransactWriteItems") went through, the next `times`
        fail with `code`; `reasons` are a cancelled transaction's per-action codes (None: that one was fine)."""
        passed, left = [after], [times]
        error: dict[str, Any] = {"Error": {"Code": code, "Message": f"injected {code}"}}
        if reasons is not None:
            error["CancellationReasons"] = [{"Code": reason or "None"} for reason in reasons]
        error["ResponseMetadata"] = {"HTTPStatusCode": status}

        def answer(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
            if passed[0] > 0:
                passed[0] -= 1
                return None
            if left[0] <= 0:
                return None
            left[0] -= 1
            self.failed.append(operation)
            return AWSResponse("https://injected", status, HTTPHeaders(), None), error

        service = self._client.meta.service_model.service_id.hyphenize()
        self._client.meta.events.register(f"before-call.{service}.{operation}", answer)
