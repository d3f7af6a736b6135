"""The local EventBridge scheduler: its interval, the event it sends, and its timer threads."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

from local.lambda_runtime import InvocationResult
from local.scheduler import ScheduleRunner, local_scheduler, scheduled_event
from local.settings import LOCAL_ACCOUNT_ID
from local.template import ScheduleEvent

REGION = "us-east-1"
NIGHTLY = ScheduleEvent("ReconcileFunction", "Nightly", "rate(1 hour)", True, None)


def test_locally_every_schedule_runs_every_30_seconds():
    # contract: the reconciler runs "every 30 s locally", whatever the template's expression
    runtime = FakeRuntime()
    scheduler = local_scheduler([NIGHTLY], runtime.invoke, region=REGION)
    scheduler.start()
    try:
        assert [runner.interval for runner in scheduler.loops] == [30]
    finally:
        scheduler.stop()
    assert runtime.calls == []  # the first run is one interval after start


def test_the_event_is_an_eventbridge_scheduled_event():
    now = datetime(2025, 3, 3, 8, 15, 30, 123456, tzinfo=UTC)
    event = scheduled_event(NIGHTLY, region=REGION, now=now)

    model = EventBridgeModel.model_validate(event)

    assert model.detail_type == "Scheduled Event"
    assert model.source == "aws.events"
    assert model.account == LOCAL_ACCOUNT_ID
    assert model.region == REGION
    assert model.detail == {}
    assert event["version"] == "0"
    assert event["time"] == "2025-03-03T08:15:30Z"
    assert event["resources"] == [f"arn:aws:events:{REGION}:{LOCAL_ACCOUNT_ID}:rule/rh-local-ReconcileFunctionNightly"]
    assert scheduled_event(NIGHTLY, region=REGION)["id"] != event["id"]


def test_with_input_the_function_receives_exactly_that_json():
    # EventBridge: "Input: valid JSON text passed to the target. Nothing from the event itself is passed."
    with_input = ScheduleEvent("ReconcileFunction", "Nightly", "rate(1 hour)", True, '{"mode": "full"}')
    assert scheduled_event(with_input, region=REGION) == {"mode": "full"}


class FakeRuntime:
    def __init__(self, result: InvocationResult | None = None) -> None:
        self.result = result or InvocationResult("ok", payload=None)
        self.calls: list[tuple[float, str, dict]] = []
        self.lock = threading.Lock()

    def invoke(self, function_id: str, event: dict) -> InvocationResult:
        with self.lock:
            self.calls.append((time.monotonic(), function_id, event))
        return self.result


def _wait(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_the_runner_invokes_repeatedly_and_stops_promptly():
    runtime = FakeRuntime()
    runner = ScheduleRunner(NIGHTLY, runtime.invoke, interval=0.1, region=REGION)
    started = time.monotonic()
    runner.start()
    _wait(lambda: len(runtime.calls) >= 4)

    stopping = time.monotonic()
    runner.stop()
    assert time.monotonic() - stopping < 0.5
    count = len(runtime.calls)
    time.sleep(0.3)
    assert len(runtime.calls) == count  # nothing after stop

    assert runtime.calls[0][0] - started >= 0.09  # first run one interval after start
    assert {function_id for _, function_id, _ in runtime.calls} == {"ReconcileFunction"}
    for _, _, event in runtime.calls:
        EventBridgeModel.model_validate(event)
    assert len({event["id"] for _, _, event in runtime.calls}) == len(runtime.calls)


def test_a_failing_invocation_is_logged_and_the_schedule_keeps_running(capsys):
    runtime = FakeRuntime(InvocationResult("error", error_type="RuntimeError", error_message="boom"))
    runner = ScheduleRunner(NIGHTLY, runtime.invoke, interval=0.05, region=REGION)
    runner.start()
    _wait(lambda: len(runtime.calls) >= 2)
    runner.stop()
    assert "error (RuntimeError): boom (not retried)" in capsys.readouterr().err


def test_the_scheduler_runs_enabled_schedules_only():
    runtime = FakeRuntime()
    disabled = ScheduleEvent("OtherFunction", "Off", "rate(1 minute)", False, None)
    scheduler = local_scheduler([NIGHTLY, disabled], runtime.invoke, region=REGION, interval=0.1)
    scheduler.start()
    try:
        assert [runner.interval for runner in scheduler.loops] == [0.1]
        _wait(lambda: len(runtime.calls) >= 2)
    finally:
        stopping = time.monotonic()
        scheduler.stop()
    assert time.monotonic() - stopping < 0.5
    assert {function_id for _, function_id, _ in runtime.calls} == {"ReconcileFunction"}
