"""The loops that run beside the functions, each in a daemon thread, and the lifecycle they share.

The event sources of template.yaml (an SQS poller per SQS event, a stream poller per DynamoDB
event, a timer per Schedule event) are each one `BackgroundLoop`; `EventSources` starts one
per enabled event after the gateway and stops them all first. The event printer is a loop too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from local.processes import log

STOP_TIMEOUT_SECONDS = 5.0
ERROR_BACKOFF_SECONDS = 1.0
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"

Invoke = Callable[[str, Any], Any]  # LambdaRuntime.invoke: (function id, event) -> InvocationResult


class BackgroundLoop:
    """Runs `step()` until stopped; a step that fails is logged and tried again after a pause.

    Subclasses implement `step`, waiting on `self._stopping` (never sleeping) so that stop() is prompt.
    """

    component = "loop"  # the log prefix
    label = ""

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"{self.component} {self.label}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        self._stopping.set()
        self.join(timeout)

    def join(self, timeout: float | None = None) -> bool:
        """True once the thread has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self._thread is None or not self._thread.is_alive()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.step()
            except Exception as exc:
                if self._stopping.is_set():
                    return  # the AWS endpoints are going away with the rest of the stack
                log(self.component, f"{self.label}: {type(exc).__name__}: {exc}; retrying")
                self._stopping.wait(ERROR_BACKOFF_SECONDS)

    def step(self) -> None:
        raise NotImplementedError


class EventSources:
    """A loop per enabled event source of one kind (SQS, DynamoDB, Schedule): `loop(source, invoke, **options)`."""

    def __init__(self, sources: Iterable[Any], loop: type[BackgroundLoop], invoke: Invoke, **options: Any) -> None:
        self.component, self.sources = loop.component, list(sources)  # the log prefix, the template's events
        self._make_loop = lambda source: loop(source, invoke, **options)
        self.loops: list[BackgroundLoop] = []

    def start(self) -> None:
        for source in self.sources:
            label = f"{source.function_id}.{source.event_name}"
            if not source.enabled:
                log(self.component, f"{label}: disabled in the template, not run")
                continue
            loop = self._make_loop(source)
            loop.start()
            self.loops.append(loop)
            log(self.component, f"{label}: running")

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Stop every loop; an invocation still running is abandoned (its messages or records come again)."""
        for loop in self.loops:
            loop.stop(timeout=0)  # all asked at once, then waited for
        deadline = time.monotonic() + timeout
        for loop in self.loops:
            if not loop.join(max(0.0, deadline - time.monotonic())):
                log(self.component, f"{loop.label}: still invoking at shutdown; abandoned")
        self.loops = []


def reported_failures(result: Any, identifiers: Sequence[str], function_response_types: Iterable[str]) -> list | None:
    """The identifiers a batch's invocation result reports failed, read as Lambda reads them; None: all of them.

    A function error or timeout fails the whole batch. Without ReportBatchItemFailures any answer is
    success. With it, a null/empty answer or batchItemFailures is success, and an answer Lambda cannot
    read (not an object, batchItemFailures not a list, an entry without an itemIdentifier of this
    batch) fails the whole batch.
    """
    if not result.ok:
        return None
    payload = result.payload if REPORT_BATCH_ITEM_FAILURES in tuple(function_response_types) else None
    if payload is None or payload == {} or payload == "":
        return []
    failures = payload.get("batchItemFailures") if isinstance(payload, dict) else "unreadable"
    if failures is None:
        return []
    if not isinstance(failures, list):
        return None
    failed = [entry.get("itemIdentifier") if isinstance(entry, dict) else None for entry in failures]
    return failed if all(identifier in identifiers for identifier in failed) else None


def outcome(result: Any) -> str:
    """An invocation result in a log line: ok, or the status and error type."""
    return result.status if result.ok else f"{result.status} ({result.error_type})"
