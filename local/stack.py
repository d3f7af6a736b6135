"""`python -m local.stack` (make run): everything in template.yaml on 127.0.0.1, no Docker, no AWS.

Start order: DynamoDB (DynamoDB Local, or moto) and moto server; the template's
queues, secret and tables; the Return Helper emulator (unless RH_API_BASE_URL is
set); the functions' worker pools behind the local API Gateway; then the event sources
that invoke functions by themselves: an SQS poller per SQS event, a stream poller per
DynamoDB event and a timer per Schedule event; the event bus (moto) and a printer
of every event published on it. Then .local/stack.json is written and one "READY ..." line
printed. SIGINT/SIGTERM stop everything (event sources first), exit 0.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from local import aws_services
from local.aws_services import MotoServer
from local.background import EventSources
from local.dynamodb_local import MOTO_ATOMICITY_WARNING, DynamoDBLocal, choose_backend
from local.event_printer import EventPrinter
from local.gateway import LocalApiGateway
from local.lambda_runtime import LambdaRuntime, worker_environment
from local.processes import ensure_ports_free, log
from local.scheduler import local_scheduler
from local.settings import HOST, STACK_FILE_NAME, TEMPLATE_PATH, LocalSettings
from local.sqs_poller import SqsPoller
from local.stream_poller import StreamPoller
from local.template import LocalTemplate, load_document


class _StopRequested(Exception):
    """SIGINT/SIGTERM arrived while the stack was still starting."""


class LocalStack:
    def __init__(self, settings: LocalSettings, template_path: Path = TEMPLATE_PATH) -> None:
        self.settings, self.template_path = settings, template_path
        self.backend = choose_backend(settings.dynamodb_backend)
        self.dynamodb: DynamoDBLocal | None = None
        self.state: dict[str, Any] = {}  # stack.json, once started
        self._running: list[tuple[str, Any]] = []  # (name, component), in start order; stop() reverses it

    def _track(self, name: str, component: Any) -> Any:
        self._running.append((name, component))
        return component

    def _run(self, name: str, component: Any) -> Any:
        self._track(name, component).start()
        return component

    def start(self) -> None:
        settings, aws, region = self.settings, self.settings.aws_endpoint, self.settings.region
        ports = [("API_PORT", settings.api_port), ("AWS_ENDPOINT_PORT", settings.aws_endpoint_port)]
        ports += [("DYNAMODB_PORT", settings.dynamodb_port)] if self.backend == "dynamodb-local" else []
        ports += [("RH_EMULATOR_PORT", settings.emulator_port)] if not settings.external_rh_api_base_url else []
        ensure_ports_free(ports)
        document = load_document(self.template_path)
        overrides = settings.parameter_overrides(frozenset(document.get("Parameters") or {}))
        template = LocalTemplate(
            document, self.template_path.parent, region=region, aws_endpoint=aws, parameter_overrides=overrides
        )
        dynamodb_endpoint = self._start_aws()
        log("stack", "creating the template's queues, secrets, tables and event bus")
        queues = aws_services.create_queues(template, aws)
        physical = {**queues, **aws_services.create_secrets(template, aws, settings.secret_value)}
        template = template.with_physical({**physical, **aws_services.create_tables(template, dynamodb_endpoint)})
        event_bus = aws_services.create_event_buses(template, aws)
        emulator = self._start_emulator()

        functions = template.functions()
        environments = {
            logical_id: worker_environment(spec, region=region, aws_endpoint=aws, dynamodb_endpoint=dynamodb_endpoint)
            for logical_id, spec in functions.items()
        }
        runtime = self._track("lambda workers", LambdaRuntime(functions, environments, region=region))
        routes = template.api_routes()
        gateway = LocalApiGateway(
            routes, runtime.invoke, port=settings.api_port, api_key=settings.local_api_key, operator=settings.operator
        )
        self._run("gateway", gateway)
        for route in routes:
            keyed = "SigV4" if route.authorizer == "AWS_IAM" else "x-api-key" if route.api_key_required else "public"
            log("gateway", f"{route.method:6} {route.path}  -> {route.function_id} ({keyed})")
        # Event sources last: they invoke functions as soon as they run.
        sqs = EventSources(template.sqs_event_sources(), SqsPoller, runtime.invoke, aws_endpoint=aws, region=region)
        self._run("SQS pollers", sqs)
        self._run("event printer", EventPrinter(event_bus, aws_endpoint=aws, region=region))
        streams = template.dynamodb_event_sources()
        options = {"dynamodb_endpoint": dynamodb_endpoint, "region": region}
        self._run("stream pollers", EventSources(streams, StreamPoller, runtime.invoke, **options))
        self._run("schedules", local_scheduler(template.schedules(), runtime.invoke, region=region))
        self.state = {  # the contract's stack.json
            "api": gateway.url,
            "apiKey": settings.local_api_key,
            "webhookUrl": settings.webhook_url,
            "webhookSignedUrl": settings.webhook_signed_url,
            "awsEndpoint": aws,
            "dynamodbEndpoint": dynamodb_endpoint,
            "region": region,
            "queues": {logical_id: value.ref for logical_id, value in queues.items()},
            "tables": {table.logical_id: table.name for table in template.tables()},
            "emulator": emulator.url if emulator is not None else None,
            "eventBus": event_bus,
            "operator": settings.operator.as_json(),
            "dynamodbBackend": self.backend,
        }

    def _start_aws(self) -> str:
        """moto server and, unless it runs on moto, DynamoDB Local; the DynamoDB endpoint."""
        settings = self.settings
        moto = self._track("moto server", MotoServer(settings.aws_endpoint_port, settings.region))
        moto.launch()
        if self.backend == "dynamodb-local":
            self.dynamodb = self._track("DynamoDB Local", DynamoDBLocal(settings.dynamodb_port, settings.region))
            try:
                self.dynamodb.launch()  # the JVM warms up while moto starts
            except Exception as exc:
                if settings.dynamodb_backend != "auto":
                    raise
                log("dynamodb", f"DynamoDB Local unavailable ({exc}); falling back to moto")
                self._running.pop()[1].stop()
                self.dynamodb, self.backend = None, "moto"
        moto.wait_ready()
        if self.dynamodb is not None:
            self.dynamodb.wait_ready()
        else:
            log("dynamodb", MOTO_ATOMICITY_WARNING)
        endpoint = self.dynamodb.endpoint if self.dynamodb is not None else settings.aws_endpoint
        log("stack", f"DynamoDB on {endpoint} ({self.backend}), SQS/Secrets Manager on {settings.aws_endpoint}")
        return endpoint

    def _start_emulator(self) -> Any:
        settings = self.settings
        if settings.external_rh_api_base_url is not None:
            log("stack", f"RH_API_BASE_URL is set: no emulator, functions call {settings.external_rh_api_base_url}")
            return None
        from local.emulator.server import EmulatorServer

        emulator = EmulatorServer(
            HOST,
            settings.emulator_port,
            webhook_url=settings.webhook_url,
            webhook_signed_url=settings.webhook_signed_url,
            signing_key=settings.rh_signing_key,
            api_key=settings.rh_api_key,
            api_token=settings.rh_api_token,
            auto_progress=True,  # resends walk to in-progress and completed with signed webhooks
        )
        self._run("emulator", emulator)
        signed_for = (
            "" if settings.webhook_signed_url == settings.webhook_url else f" signed for {settings.webhook_signed_url}"
        )
        log("stack", f"Return Helper emulator on {emulator.url}, webhooks to {settings.webhook_url}{signed_for}")
        return emulator

    def write_state(self) -> Path:
        path = self.settings.state_dir / STACK_FILE_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".json.tmp")
        partial.write_text(json.dumps(self.state, indent=2) + "\n", encoding="utf-8")
        os.replace(partial, path)  # readers never see half a file
        return path

    def failed_component(self) -> str | None:
        """The child server (moto, DynamoDB Local) that has exited, if one has."""
        return next((name for name, component in self._running if getattr(component, "exited", False)), None)

    def stop(self) -> None:
        """Everything this stack started, in reverse order; each step runs even if one fails."""
        while self._running:
            name, component = self._running.pop()
            try:
                component.stop()
            except Exception as exc:
                log("stack", f"stopping {name} failed: {exc!r}")


def main() -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="[%(name)s] %(message)s")
    try:
        settings = LocalSettings.from_env()
    except ValueError as exc:
        log("stack", f"error: {exc}")
        return 2
    stack = LocalStack(settings)
    stopping = threading.Event()
    ready = False

    def on_signal(signum: int, _frame: Any) -> None:
        stopping.set()
        if not ready:
            raise _StopRequested(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start()
        state_file = stack.write_state()
        ready = True
    except (_StopRequested, Exception) as exc:
        ready = True  # from here on a second signal must not interrupt the cleanup
        stopped = isinstance(exc, _StopRequested)
        log("stack", "stopped while starting" if stopped else f"error: could not start: {exc}")
        stack.stop()
        return 0 if stopped else 1

    print(f"READY {stack.state['api']} (state: {state_file})", flush=True)
    failed = None
    while not failed and not stopping.wait(1.0):
        failed = stack.failed_component()
    log("stack", f"error: {failed} exited unexpectedly; stopping" if failed else "stopping")
    stack.stop()
    log("stack", "stopped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
