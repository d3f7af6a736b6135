"""The AWS side of the benchmark: DynamoDB Local (or moto) and moto server, resources from template.yaml.

The same pieces as `make run` (local/dynamodb_local.py, local/aws_services.py), without the
gateway or worker pools: the benchmark calls the handlers itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local import aws_services
from local.aws_services import MotoServer
from local.dynamodb_local import DynamoDBLocal, choose_backend
from local.lambda_runtime import worker_environment
from local.processes import free_ports, log
from local.settings import DEV_LOCAL_API_KEY, DEV_RH_SIGNING_KEY, TEMPLATE_PATH, LocalSettings
from local.template import FunctionSpec, LocalTemplate, load_document

REGION = "us-east-1"
# The handlers call Return Helper here; the warm benchmark answers it in-process (bench/upstream.py).
UPSTREAM_BASE_URL = "http://upstream.bench.invalid/uat/user/api"
# The URL the webhook function verifies signatures against (WebhookPublicUrl).
WEBHOOK_PUBLIC_URL = "https://bench.execute-api.invalid/v1/webhooks/returnhelper"


@dataclass
class BenchEnvironment:
    """Started with `start()`, stopped with `stop()` (or as a context manager)."""

    requested_backend: str = "auto"
    backend: str | None = None
    dynamodb_version: str | None = None
    template: LocalTemplate | None = None
    aws_endpoint: str = ""
    dynamodb_endpoint: str = ""
    _moto: MotoServer | None = None
    _dynamodb: DynamoDBLocal | None = None
    tables: dict[str, str] = field(default_factory=dict)

    def __enter__(self) -> BenchEnvironment:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        aws_port, dynamodb_port = free_ports(2)
        self.backend = choose_backend(self.requested_backend)
        self._moto = MotoServer(aws_port, REGION)
        self._moto.launch()
        if self.backend == "dynamodb-local":
            self._dynamodb = DynamoDBLocal(dynamodb_port, REGION)
            try:
                self._dynamodb.launch()
            except Exception as exc:  # as `make run` does: auto falls back to moto, a named backend fails
                if self.requested_backend != "auto":
                    raise
                log("dynamodb", f"DynamoDB Local unavailable ({exc}); falling back to moto")
                self._dynamodb.stop()
                self._dynamodb, self.backend = None, "moto"
        self._moto.wait_ready()
        self.aws_endpoint = self._moto.endpoint
        if self._dynamodb is not None:
            self._dynamodb.wait_ready()
            self.dynamodb_endpoint = self._dynamodb.endpoint
            self.dynamodb_version = _dynamodb_local_version()
        else:
            self.dynamodb_endpoint = self.aws_endpoint
        template = _template(self.aws_endpoint)
        physical = aws_services.create_queues(template, self.aws_endpoint)
        physical.update(aws_services.create_secrets(template, self.aws_endpoint, _SETTINGS.secret_value))
        aws_services.create_tables(template, self.dynamodb_endpoint)
        self.template = template.with_physical(physical)
        self.tables = {table.logical_id: table.name for table in self.template.tables()}

    @classmethod
    def offline(cls) -> BenchEnvironment:
        """The functions' environments without any service running (nothing is called at import):
        cold starts are timed before DynamoDB Local and moto start, so no JVM shares the CPU."""
        env = cls()
        env.aws_endpoint = env.dynamodb_endpoint = "http://127.0.0.1:9"  # discard: never connected to
        env.template = _template(env.aws_endpoint)
        env.tables = {table.logical_id: table.name for table in env.template.tables()}
        return env

    def stop(self) -> None:
        for component in (self._dynamodb, self._moto):
            if component is not None:
                component.stop()
        self._dynamodb = self._moto = None

    # -- what the functions get

    def functions(self) -> dict[str, FunctionSpec]:
        assert self.template is not None
        return self.template.functions()

    def function_environment(self, logical_id: str, *, tracing: bool) -> dict[str, str]:
        """Exactly what the local stack gives the function's workers; `tracing` as deployed (Tracing: Active)."""
        spec = self.functions()[logical_id]
        env = worker_environment(
            spec,
            region=REGION,
            aws_endpoint=self.aws_endpoint,
            dynamodb_endpoint=self.dynamodb_endpoint,
            parent_environ={name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ},
        )
        if tracing:
            env.pop("POWERTOOLS_TRACE_DISABLED", None)
        return env

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "dynamodbLocalVersion": self.dynamodb_version,
            "region": REGION,
            "tables": dict(self.tables),
        }


_SETTINGS = LocalSettings.from_env({"RH_API_BASE_URL": UPSTREAM_BASE_URL, "WEBHOOK_PUBLIC_URL": WEBHOOK_PUBLIC_URL})


def _template(aws_endpoint: str) -> LocalTemplate:
    document = load_document(TEMPLATE_PATH)
    return LocalTemplate(
        document,
        TEMPLATE_PATH.parent,
        region=REGION,
        aws_endpoint=aws_endpoint,
        parameter_overrides=_SETTINGS.parameter_overrides(frozenset(document.get("Parameters") or {})),
    )


def _dynamodb_local_version() -> str | None:
    from local.dynamodb_local import INSTALL_DIR_NAME, cache_dir

    jars = sorted(Path(cache_dir(), INSTALL_DIR_NAME).glob("package/lib/dynamodb_local_*"))
    return jars[-1].name if jars else None


SIGNING_KEY = DEV_RH_SIGNING_KEY
API_KEY = DEV_LOCAL_API_KEY
