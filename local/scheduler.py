"""Local EventBridge schedules: a daemon thread per `Schedule` / `ScheduleV2` event of template.yaml.

Each enabled schedule invokes its function with the event EventBridge delivers:

- `Schedule` (an EventBridge rule): the "Scheduled Event" from source aws.events with
  the rule's ARN in resources and detail {}; with `Input`, EventBridge passes that JSON
  text *instead of* the event ("nothing from the event itself is passed to the target"),
  and so does this scheduler;
- `ScheduleV2` (EventBridge Scheduler): its `Input` when given, otherwise Scheduler's
  default notification, the same shape from source aws.scheduler with the schedule's ARN.

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
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from local.background import STOP_TIMEOUT_SECONDS, BackgroundLoop
from local.processes import log
from local.settings import LOCAL_ACCOUNT_ID, LOCAL_STACK_NAME
from local.template import LocalTemplate, ScheduleEvent

SCHEDULE_ENV = "LOCAL_SCHEDULE_SECONDS"
CRON_INTERVAL_SECONDS = 60.0
LOCAL_MAX_INTERVAL_SECONDS = 30.0

Invoke = Callable[[str, Any], Any]  # LambdaRuntime.invoke: (function id, event) -> InvocationResult

_RATE = re.compile(r"^rate\(\s*(\d+)\s+([a-z]+)\s*\)$", re.IGNORECASE)
_UNIT_SECONDS = {
    "second": 1,
    "seconds": 1,
    "minute": 60,
    "minutes": 60,
    "hour": 3600,
    "hours": 3600,
    "day": 86400,
    "days": 86400,
}


class ScheduleError(ValueError):
    """A schedule expression the local scheduler cannot run."""


# ------------------------------------------------------------------ intervals


def expression_interval(expression: str) -> float:
    """Seconds between runs of a schedule expression (cron and at: 60 s locally)."""
    text = expression.strip()
    match = _RATE.match(text)
    if match:
        value, unit = int(match.group(1)), match.group(2).lower()
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


def schedule_v2_events(template: LocalTemplate) -> set[tuple[str, str]]:
    """(function id, event name) of every ScheduleV2 event (ScheduleEvent does not say which kind it is)."""
    return {
        (function_id, event_name)
        for function_id, resource in template.resources("AWS::Serverless::Function").items()
        for event_name, event in ((resource.get("Properties") or {}).get("Events") or {}).items()
        if event.get("Type") == "ScheduleV2"
    }


def schedule_arn(schedule: ScheduleEvent, *, region: str, account_id: str = LOCAL_ACCOUNT_ID, v2: bool = False) -> str:
    """The rule (Schedule) or schedule (ScheduleV2) ARN; SAM names it <Function><Event> within the stack."""
    name = f"{LOCAL_STACK_NAME}-{schedule.function_id}{schedule.event_name}"
    if v2:
        return f"arn:aws:scheduler:{region}:{account_id}:schedule/default/{name}"
    return f"arn:aws:events:{region}:{account_id}:rule/{name}"


def scheduled_event(
    schedule: ScheduleEvent,
    *,
    region: str,
    account_id: str = LOCAL_ACCOUNT_ID,
    now: datetime | None = None,
    v2: bool = False,
) -> Any:
    """What the function receives for one run: the schedule's Input, or the "Scheduled Event"."""
    if schedule.input not in (None, ""):
        raw = schedule.input
        return json.loads(raw) if isinstance(raw, str) else raw
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler" if v2 else "aws.events",
        "account": account_id,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [schedule_arn(schedule, region=region, account_id=account_id, v2=v2)],
        "detail": {},
    }


# ------------------------------------------------------------------ runners


class ScheduleRunner(BackgroundLoop):
    """Invokes one schedule's function every `interval` seconds in a daemon thread."""

    thread_kind = "schedule"

    def __init__(
        self,
        schedule: ScheduleEvent,
        invoke: Invoke,
        *,
        interval: float,
        region: str,
        v2: bool = False,
    ) -> None:
        super().__init__()
        self.schedule = schedule
        self.interval = interval
        self._invoke = invoke
        self._region = region
        self._v2 = v2
        self.label = f"{schedule.function_id}.{schedule.event_name}"
        self.runs = 0

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            self.run_once()

    def run_once(self) -> Any:
        try:
            event = scheduled_event(self.schedule, region=self._region, v2=self._v2)
            result = self._invoke(self.schedule.function_id, event)
        except Exception as exc:
            log("schedule", f"{self.label}: could not invoke: {type(exc).__name__}: {exc}")
            return None
        self.runs += 1
        status = getattr(result, "status", "?")
        if getattr(result, "ok", False):
            log("schedule", f"{self.label} ({self.schedule.expression}): {status}")
        else:
            log(
                "schedule",
                f"{self.label} ({self.schedule.expression}): {status} "
                f"{getattr(result, 'error_type', None)}: {getattr(result, 'error_message', None)} (not retried)",
            )
        return result


class LocalScheduler:
    """A runner per enabled schedule of the template; started after the gateway, stopped first."""

    def __init__(
        self,
        schedules: Iterable[ScheduleEvent],
        invoke: Invoke,
        *,
        region: str,
        environ: Mapping[str, str] | None = None,
        v2_events: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.schedules = list(schedules)
        self._invoke = invoke
        self._region = region
        self._environ = environ
        self._v2 = set(v2_events)  # (function id, event name) of ScheduleV2 events
        self.runners: list[ScheduleRunner] = []

    def start(self) -> None:
        for schedule in self.schedules:
            name = f"{schedule.function_id}.{schedule.event_name}"
            if not schedule.enabled:
                log("schedule", f"{name} ({schedule.expression}): disabled in the template, not run")
                continue
            interval = local_interval(schedule.expression, self._environ)
            runner = ScheduleRunner(
                schedule,
                self._invoke,
                interval=interval,
                region=self._region,
                v2=(schedule.function_id, schedule.event_name) in self._v2,
            )
            runner.start()
            self.runners.append(runner)
            log("schedule", f"{name} ({schedule.expression}): every {interval:g} s locally")

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        for runner in self.runners:
            runner.request_stop()
        deadline = time.monotonic() + timeout
        for runner in self.runners:
            if not runner.join(max(0.0, deadline - time.monotonic())):
                log("schedule", f"{runner.label}: still invoking at shutdown; abandoned")
        self.runners = []
