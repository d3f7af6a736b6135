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
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from local.emulator.state import ACTIVE_RESEND_STATUSES, ControlError, is_number

log = logging.getLogger("local.emulator")

OUTCOMES = ("completed", "failed")
MAX_STEP_SECONDS = 3600.0


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.title() for word in rest)


@dataclass(frozen=True)
class ProgressConfig:
    """How the emulated warehouse progresses new resends; immutable, replaced as a whole."""

    auto_progress: bool = False
    in_progress_after_seconds: float = 2.0
    complete_after_seconds: float = 3.0
    outcome: str = "completed"

    def __post_init__(self) -> None:
        if not isinstance(self.auto_progress, bool):
            raise ValueError("autoProgress must be true or false")
        for name in ("in_progress_after_seconds", "complete_after_seconds"):
            value = getattr(self, name)
            if not (is_number(value) and 0 <= value <= MAX_STEP_SECONDS):
                raise ValueError(f"{_camel(name)} must be a number of seconds between 0 and {MAX_STEP_SECONDS:g}")
            object.__setattr__(self, name, float(value))
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")

    def to_json(self) -> dict[str, Any]:
        return {_camel(name): value for name, value in asdict(self).items()}

    def updated(self, changes: dict[str, Any]) -> ProgressConfig:
        """A copy with the given control-API (camelCase) fields changed; ValueError when invalid."""
        known = {_camel(field.name): field.name for field in fields(self)}
        unknown = sorted(set(changes) - set(known))
        if unknown:
            raise ValueError(f"unknown config field(s) {', '.join(unknown)}; known: {', '.join(known)}")
        return replace(self, **{known[key]: value for key, value in changes.items()})


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
        self._config, self._status_of, self._advance = config, status_of, advance
        self._lock = threading.Lock()
        self._timers: set[threading.Timer] = set()
        self._closed = False

    @property
    def config(self) -> ProgressConfig:
        with self._lock:
            return self._config

    def configure(self, changes: dict[str, Any]) -> ProgressConfig:
        with self._lock:
            self._config = self._config.updated(changes)
            return self._config

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
            if self._closed or not self._config.auto_progress:
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
