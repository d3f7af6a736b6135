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
    """Schedules the warehouse steps of new resends on daemon ``threading.Timer`` s.

    ``status_of(resend_id)`` returns the current upstream status code (or None when the resend
    is gone); ``advance(resend_id, to)`` moves it and sends the webhook, raising ControlError
    when the move is not allowed (the state re-checks under its lock, so a cancel racing a
    timer can never be overtaken). Turning auto-progress off stops pending steps where they are.
    """

    def __init__(
        self, config: ProgressConfig, status_of: Callable[[int], int | None], advance: Callable[[int, str], Any]
    ) -> None:
        self.config = config  # immutable, replaced whole: a reader sees one config or the next
        self._status_of, self._advance = status_of, advance
        self._lock = threading.Lock()
        self._timers: set[threading.Timer] = set()
        self._closed = False

    def configure(self, changes: dict[str, Any]) -> ProgressConfig:
        self.config = self.config.updated(changes)
        return self.config

    @property
    def pending_steps(self) -> int:
        with self._lock:
            return len(self._timers)

    def on_created(self, resend_id: int) -> None:
        """A createResend just created ``resend_id``: schedule its first step if auto-progress is on."""
        plan = self.config  # its timings and outcome hold for this resend, whatever the config becomes
        if plan.auto_progress:
            self._schedule(plan.in_progress_after_seconds, resend_id, "inProgress", plan)

    def cancel_all(self) -> None:
        """Drop every scheduled step (emulator reset); steps already running finish."""
        with self._lock:
            timers, self._timers = self._timers, set()
        for timer in timers:
            timer.cancel()

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self.cancel_all()

    def _schedule(self, delay: float, resend_id: int, step: str, plan: ProgressConfig) -> None:
        with self._lock:
            if self._closed:
                return
            timer = threading.Timer(delay, lambda: self._run(timer, resend_id, step, plan))
            timer.daemon, timer.name = True, f"rh-emulator-resend-{resend_id}-{step}"
            self._timers.add(timer)
            timer.start()

    def _run(self, timer: threading.Timer, resend_id: int, step: str, plan: ProgressConfig) -> None:
        with self._lock:
            if timer not in self._timers:  # canceled by reset/close after it fired
                return
            self._timers.discard(timer)
            if self._closed or not self.config.auto_progress:
                log.info("auto-progress off: resend %s stays where it is", resend_id)
                return
        try:
            status = self._status_of(resend_id)
            if status not in ACTIVE_RESEND_STATUSES:  # canceled, finished, or gone: nothing more to do
                log.info("auto-progress of resend %s stops: status %s", resend_id, status)
                return
            if step == "inProgress" and status == 0:
                self._advance(resend_id, "inProgress")
            if step == "inProgress":
                self._schedule(plan.complete_after_seconds, resend_id, plan.outcome, plan)
            else:
                self._advance(resend_id, plan.outcome)
        except ControlError as exc:  # moved by someone else in between; never force it
            log.info("auto-progress of resend %s to %s skipped: %s", resend_id, step, exc.message)
        except Exception:
            log.exception("auto-progress of resend %s to %s failed", resend_id, step)
