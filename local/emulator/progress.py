"""The warehouse side of a resend, on a timer: pending -> inProgress -> completed | failed.

After a successful createResend the emulator (when auto-progress is on) walks the new resend
through the steps a real warehouse takes, each step through the same advance path as
``POST /_emulator/resends/{id}/advance`` (state change plus a signed ``updateResendStatus``
webhook). Every step looks at the resend's current status first and only ever moves it
forward: a resend that was canceled, finished or advanced by hand in the meantime is left alone.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from local.emulator.state import ACTIVE_RESEND_STATUSES, ControlError

log = logging.getLogger("local.emulator")

MAX_STEP_SECONDS = 3600.0


class ProgressConfig(BaseModel):
    """How the emulated warehouse progresses new resends; immutable, replaced as a whole (camelCase on the wire)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, alias_generator=to_camel, populate_by_name=True)

    auto_progress: bool = False
    in_progress_after_seconds: float = Field(2.0, ge=0, le=MAX_STEP_SECONDS)
    complete_after_seconds: float = Field(3.0, ge=0, le=MAX_STEP_SECONDS)
    outcome: Literal["completed", "failed"] = "completed"

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)

    def updated(self, changes: dict[str, Any]) -> ProgressConfig:
        """A copy with the given control-API (camelCase) fields changed; ValueError (pydantic's) when invalid."""
        return ProgressConfig.model_validate({**self.to_json(), **changes})


class ResendProgress:
    """Walks each new resend through the warehouse's steps on a daemon thread, when auto-progress is on.

    ``status_of(resend_id)`` is the resend's upstream status code (None once it is gone); ``advance(resend_id,
    to)`` moves it and sends the webhook, raising ControlError when the move is not allowed (the state
    re-checks under its lock, so a cancel racing a step is never overtaken). Turning auto-progress off,
    a reset or close stops the walks where they are.
    """

    def __init__(
        self, config: ProgressConfig, status_of: Callable[[int], int | None], advance: Callable[[int, str], Any]
    ) -> None:
        self.config = config  # immutable, replaced whole: a reader sees one config or the next
        self._status_of, self._advance = status_of, advance
        self._lock = threading.Lock()
        self._walks: dict[int, threading.Event] = {}  # resend id -> its stop signal, while a step is to come
        self._closed = False

    def configure(self, changes: dict[str, Any]) -> ProgressConfig:
        self.config = self.config.updated(changes)
        return self.config

    @property
    def pending_steps(self) -> int:
        return len(self._walks)

    def on_created(self, resend_id: int) -> None:
        """A createResend just created ``resend_id``: walk it if auto-progress is on."""
        plan = self.config  # its timings and outcome hold for this resend, whatever the config becomes
        with self._lock:
            if self._closed or not plan.auto_progress:
                return
            stop = self._walks[resend_id] = threading.Event()
        name = f"rh-emulator-resend-{resend_id}"
        threading.Thread(target=self._walk, args=(resend_id, plan, stop), name=name, daemon=True).start()

    def cancel_all(self) -> None:
        """Stop every walk (emulator reset); a step already running finishes."""
        with self._lock:
            walks, self._walks = self._walks, {}
        for stop in walks.values():
            stop.set()

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self.cancel_all()

    def _walk(self, resend_id: int, plan: ProgressConfig, stop: threading.Event) -> None:
        steps = (("inProgress", plan.in_progress_after_seconds), (plan.outcome, plan.complete_after_seconds))
        try:
            for step, delay in steps:
                if stop.wait(delay) or not self.config.auto_progress:
                    return
                status = self._status_of(resend_id)
                if status not in ACTIVE_RESEND_STATUSES:  # canceled, finished, or gone: nothing more to do
                    return
                if step != "inProgress" or status == 0:  # moved to inProgress by hand: not sent twice
                    self._advance(resend_id, step)
        except ControlError as exc:  # moved by someone else in between; never force it
            log.info("auto-progress of resend %s skipped: %s", resend_id, exc.message)
        except Exception:
            log.exception("auto-progress of resend %s failed", resend_id)
        finally:
            with self._lock:
                if self._walks.get(resend_id) is stop:
                    del self._walks[resend_id]
