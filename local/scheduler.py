"""Local EventBridge schedules: a daemon thread per enabled `Schedule` event of template.yaml.

Locally every schedule runs every 30 s whatever its expression, so schedules show during a demo;
the first run is one interval after start, as with a new rule. Each run invokes the function with
the "Scheduled Event" EventBridge delivers (source aws.events, the rule's ARN in resources, detail
{}) or, with `Input`, with that JSON text *instead of* the event, as EventBridge does. One
invocation per schedule runs at a time (a slow one delays the next) and a failure is logged, not
retried (Lambda retries async invocations twice).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from local.background import BackgroundLoop, EventSources, Invoke, outcome
from local.processes import log
from local.settings import LOCAL_ACCOUNT_ID, LOCAL_STACK_NAME
from local.template import ScheduleEvent

LOCAL_INTERVAL_SECONDS = 30.0


def scheduled_event(schedule: ScheduleEvent, *, region: str, now: datetime | None = None) -> Any:
    """What the function receives for one run: the schedule's Input, or the "Scheduled Event"."""
    if schedule.input:
        return json.loads(schedule.input)
    rule = f"{LOCAL_STACK_NAME}-{schedule.function_id}{schedule.event_name}"  # SAM's <Function><Event> rule name
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": LOCAL_ACCOUNT_ID,
        "time": (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{LOCAL_ACCOUNT_ID}:rule/{rule}"],
        "detail": {},
    }


class ScheduleRunner(BackgroundLoop):
    """Invokes one schedule's function every `interval` seconds in a daemon thread."""

    component = "schedule"

    def __init__(self, schedule: ScheduleEvent, invoke: Invoke, *, interval: float, region: str) -> None:
        super().__init__()
        self.schedule, self.interval, self._invoke, self._region = schedule, interval, invoke, region
        self.label = f"{schedule.function_id}.{schedule.event_name}"

    def step(self) -> None:
        if self._stopping.wait(self.interval):
            return
        result = self._invoke(self.schedule.function_id, scheduled_event(self.schedule, region=self._region))
        error = "" if result.ok else f": {result.error_message} (not retried)"
        log("schedule", f"{self.label}: {outcome(result)}{error}")


def local_scheduler(
    schedules: Iterable[ScheduleEvent], invoke: Invoke, *, region: str, interval: float = LOCAL_INTERVAL_SECONDS
) -> EventSources:
    """A runner per enabled schedule of the template, every `interval` seconds."""
    return EventSources(schedules, ScheduleRunner, invoke, interval=interval, region=region)
