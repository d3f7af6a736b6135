"""Local EventBridge schedules: a daemon thread per enabled `Schedule` event of template.yaml.

Locally every schedule runs every 30 s whatever its expression, so schedules show during a demo
(LOCAL_SCHEDULE_SECONDS replaces that for all of them); the first run is one interval after start,
as with a new rule. Each run invokes the function with the "Scheduled Event" EventBridge delivers
(source aws.events, the rule's ARN in resources, detail {}) or, with `Input`, with that JSON text
*instead of* the event, as EventBridge does. One invocation per schedule runs at a time (a slow one
delays the next) and a failure is logged, not retried (Lambda retries async invocations twice).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from local.background import BackgroundLoop, EventSources, Invoke
from local.processes import log
from local.settings import LOCAL_ACCOUNT_ID, LOCAL_STACK_NAME
from local.template import ScheduleEvent

SCHEDULE_ENV = "LOCAL_SCHEDULE_SECONDS"
LOCAL_INTERVAL_SECONDS = 30.0


def local_interval(environ: Mapping[str, str] | None = None) -> float:
    """Seconds between the runs of every schedule: LOCAL_SCHEDULE_SECONDS when set, else 30."""
    raw = ((os.environ if environ is None else environ).get(SCHEDULE_ENV) or "").strip()
    if not raw:
        return LOCAL_INTERVAL_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise ValueError(f"{SCHEDULE_ENV} must be a positive number of seconds, got {raw!r}")
    return seconds


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
        return f"{self.label} ({self.schedule.expression} deployed): every {self.interval:g} s locally"

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
    """A runner per enabled schedule of the template, at the local interval."""
    interval = local_interval(environ)
    return EventSources(
        "schedule", schedules, lambda schedule: ScheduleRunner(schedule, invoke, interval=interval, region=region)
    )
