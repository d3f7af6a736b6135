"""Local EventBridge schedules: a daemon thread per `Schedule` event of template.yaml.

Each enabled schedule invokes its function with the "Scheduled Event" EventBridge delivers
(source aws.events, the rule's ARN in resources, detail {}); with `Input`, EventBridge passes
that JSON text *instead of* the event ("nothing from the event itself is passed to the
target"), and so does this scheduler.

Interval: the expression's (rate(N minute|minutes|hour|hours|day|days), plus seconds for
convenience); cron(...) and at(...) run every 60 s locally. Locally that is capped at
30 s so schedules show up during a demo, and LOCAL_SCHEDULE_SECONDS (when set) replaces
it for every schedule. The first run is one interval after start, as with a new rule.

EventBridge invokes asynchronously and Lambda retries failed async invocations twice;
locally one invocation per schedule runs at a time (a slow one delays the next tick) and
a failure is logged, not retried.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from local.background import BackgroundLoop, EventSources, Invoke
from local.processes import log
from local.settings import LOCAL_ACCOUNT_ID, LOCAL_STACK_NAME
from local.template import ScheduleEvent

SCHEDULE_ENV = "LOCAL_SCHEDULE_SECONDS"
CRON_INTERVAL_SECONDS = 60.0
LOCAL_MAX_INTERVAL_SECONDS = 30.0

_RATE = re.compile(r"^rate\(\s*(\d+)\s+([a-z]+)\s*\)$", re.IGNORECASE)
_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


class ScheduleError(ValueError):
    """A schedule expression the local scheduler cannot run."""


# ------------------------------------------------------------------ intervals


def expression_interval(expression: str) -> float:
    """Seconds between runs of a schedule expression (cron and at: 60 s locally)."""
    text = expression.strip()
    match = _RATE.match(text)
    if match:
        value, unit = int(match.group(1)), match.group(2).lower().removesuffix("s")
        if unit not in _UNIT_SECONDS:
            raise ScheduleError(f"unknown rate unit in {expression!r}")
        if value <= 0:
            raise ScheduleError(f"rate must be positive in {expression!r}")
        return float(value * _UNIT_SECONDS[unit])
    if text.lower().startswith(("cron(", "at(")) and text.endswith(")"):
        return CRON_INTERVAL_SECONDS
    raise ScheduleError(f"unsupported schedule expression {expression!r}")


def local_interval(expression: str, environ: Mapping[str, str] | None = None) -> float:
    """The interval used locally: LOCAL_SCHEDULE_SECONDS when set, else min(expression's, 30 s)."""
    env = os.environ if environ is None else environ
    raw = (env.get(SCHEDULE_ENV) or "").strip()
    if raw:
        try:
            seconds = float(raw)
        except ValueError:
            raise ScheduleError(f"{SCHEDULE_ENV} must be a number of seconds, got {raw!r}") from None
        if seconds <= 0:
            raise ScheduleError(f"{SCHEDULE_ENV} must be positive, got {raw!r}")
        return seconds
    return min(expression_interval(expression), LOCAL_MAX_INTERVAL_SECONDS)


# ------------------------------------------------------------------ events


def schedule_arn(schedule: ScheduleEvent, *, region: str, account_id: str = LOCAL_ACCOUNT_ID) -> str:
    """The rule's ARN; SAM names it <Function><Event> within the stack."""
    return f"arn:aws:events:{region}:{account_id}:rule/{LOCAL_STACK_NAME}-{schedule.function_id}{schedule.event_name}"


def scheduled_event(
    schedule: ScheduleEvent, *, region: str, account_id: str = LOCAL_ACCOUNT_ID, now: datetime | None = None
) -> Any:
    """What the function receives for one run: the schedule's Input, or the "Scheduled Event"."""
    if schedule.input not in (None, ""):
        return json.loads(schedule.input) if isinstance(schedule.input, str) else schedule.input
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [schedule_arn(schedule, region=region, account_id=account_id)],
        "detail": {},
    }


# ------------------------------------------------------------------ runners


class ScheduleRunner(BackgroundLoop):
    """Invokes one schedule's function every `interval` seconds in a daemon thread."""

    thread_kind = "schedule"

    def __init__(self, schedule: ScheduleEvent, invoke: Invoke, *, interval: float, region: str) -> None:
        super().__init__()
        self.schedule = schedule
        self.interval = interval
        self._invoke = invoke
        self._region = region
        self.label = f"{schedule.function_id}.{schedule.event_name}"

    def describe(self) -> str:
        return f"{self.label} ({self.schedule.expression}): every {self.interval:g} s locally"

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            self.run_once()

    def run_once(self) -> Any:
        try:
            result = self._invoke(self.schedule.function_id, scheduled_event(self.schedule, region=self._region))
        except Exception as exc:
            log("schedule", f"{self.label}: could not invoke: {type(exc).__name__}: {exc}")
            return None
        detail = result.status if result.ok else f"{result.status} {result.error_type}: {result.error_message}"
        log(
            "schedule", f"{self.label} ({self.schedule.expression}): {detail}" + ("" if result.ok else " (not retried)")
        )
        return result


def local_scheduler(
    schedules: Iterable[ScheduleEvent], invoke: Invoke, *, region: str, environ: Mapping[str, str] | None = None
) -> EventSources:
    """A runner per enabled schedule of the template, at its local interval."""

    def runner(schedule: ScheduleEvent) -> ScheduleRunner:
        return ScheduleRunner(schedule, invoke, interval=local_interval(schedule.expression, environ), region=region)

    return EventSources("schedule", schedules, runner)
