"""What the local stack reads from its environment, with the development defaults.

The dev defaults live here and nowhere else, so the stack, the emulator and the
tests agree on the same keys without repeating them.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"

HOST = "127.0.0.1"
LOCAL_STACK_NAME = "rh-local"
LOCAL_ACCOUNT_ID = "123456789012"  # moto's default account, so ARNs and queue URLs line up
DEFAULT_REGION = "us-east-1"

# Upstream (Return Helper) credentials and the merchant key the local gateway accepts.
DEV_RH_API_KEY = "dev-returnhelper-api-key"
DEV_RH_API_TOKEN = "dev-returnhelper-api-token"  # noqa: S105 - a public development value
DEV_RH_SIGNING_KEY_BYTES = b"returnhelper-local-dev-signing-key-v1"
DEV_RH_SIGNING_KEY = base64.b64encode(DEV_RH_SIGNING_KEY_BYTES).decode("ascii")
DEV_LOCAL_API_KEY = "local-dev-merchant-api-key"
# The operator whose SigV4 signatures the local gateway accepts on AWS_IAM routes (stack.json `operator`).
DEV_OPERATOR_ACCESS_KEY_ID = "LOCALOPERATOR"
DEV_OPERATOR_SECRET_ACCESS_KEY = "local-dev-operator-secret-access-key"  # noqa: S105 - a public development value

# Never real: every local AWS client (stack, workers, moto) signs with these.
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}

DEFAULT_PORTS = {"API_PORT": 3000, "AWS_ENDPOINT_PORT": 5000, "DYNAMODB_PORT": 8000, "RH_EMULATOR_PORT": 4010}

DYNAMODB_BACKENDS = ("dynamodb-local", "moto", "auto")

# Contract variable -> the template Parameter it overrides (only when set, except the
# ones with a local default below).
PARAMETER_ENV = {
    "WEBHOOK_MAX_SKEW_SECONDS": "WebhookMaxSkewSeconds",
    "RESEND_MAX_ITEMS": "ResendMaxItems",
    "BATCH_MAX_ITEMS": "BatchMaxItems",
    "RETRY_BASE_DELAY_SECONDS": "RetryBaseDelaySeconds",
    "RETRY_MAX_ATTEMPTS": "RetryMaxAttempts",
    "UPSTREAM_TIMEOUT_SECONDS": "UpstreamTimeoutSeconds",
    "RH_API_BASE_URL": "ReturnHelperApiBaseUrl",
    "WEBHOOK_PUBLIC_URL": "WebhookPublicUrl",
    "RECONCILE_PENDING_AFTER_SECONDS": "ReconcilePendingAfterSeconds",
    "APPROVAL_FEE_THRESHOLD": "ApprovalFeeThreshold",
    "APPROVAL_TIMEOUT_HOURS": "ApprovalTimeoutHours",
    "AGING_ALERT_DAYS": "AgingAlertDays",
}
LOCAL_RETRY_BASE_DELAY_SECONDS = "1"  # deployed default is 30; locally retries should show quickly
LOCAL_RECONCILE_PENDING_AFTER_SECONDS = "10"  # deployed default is 300; locally a stuck request shows quickly
EMULATOR_API_PATH = "/uat/user/api"
WEBHOOK_PATH = "/webhooks/returnhelper"
STACK_FILE_NAME = "stack.json"


@dataclass(frozen=True)
class OperatorCredentials:
    """Who may call the AWS_IAM (operator) routes locally: SigV4 with these (local/sigv4.py)."""

    access_key_id: str
    secret_access_key: str
    region: str

    def as_json(self) -> dict[str, str]:
        """stack.json's `operator`."""
        return {"accessKeyId": self.access_key_id, "secretAccessKey": self.secret_access_key, "region": self.region}


def endpoint(port: int) -> str:
    return f"http://{HOST}:{port}"


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where the running stack keeps stack.json (and its local test hooks): LOCAL_STATE_DIR, else .local/."""
    env = os.environ if environ is None else environ
    return Path(env.get("LOCAL_STATE_DIR") or PROJECT_ROOT / ".local")


def stack_file(environ: Mapping[str, str] | None = None) -> Path:
    return state_dir(environ) / STACK_FILE_NAME


def _port(environ: Mapping[str, str], name: str) -> int:
    raw = environ.get(name) or str(DEFAULT_PORTS[name])
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"{name} must be a port number, got {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class LocalSettings:
    api_port: int
    aws_endpoint_port: int
    dynamodb_port: int
    emulator_port: int
    dynamodb_backend: str
    region: str
    rh_api_key: str
    rh_api_token: str
    rh_signing_key: str
    local_api_key: str
    operator: OperatorCredentials  # who may call the AWS_IAM (operator) routes: SigV4, execute-api, this region
    state_dir: Path
    external_rh_api_base_url: str | None
    parameter_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LocalSettings:
        env = os.environ if environ is None else environ
        backend, region = (env.get("LOCAL_DYNAMODB") or "auto").strip().lower(), env.get("AWS_REGION") or DEFAULT_REGION
        if backend not in DYNAMODB_BACKENDS:
            raise ValueError(f"LOCAL_DYNAMODB must be one of {', '.join(DYNAMODB_BACKENDS)}, got {backend!r}")
        return cls(
            api_port=_port(env, "API_PORT"),
            aws_endpoint_port=_port(env, "AWS_ENDPOINT_PORT"),
            dynamodb_port=_port(env, "DYNAMODB_PORT"),
            emulator_port=_port(env, "RH_EMULATOR_PORT"),
            dynamodb_backend=backend,
            region=region,
            rh_api_key=env.get("RH_API_KEY") or DEV_RH_API_KEY,
            rh_api_token=env.get("RH_API_TOKEN") or DEV_RH_API_TOKEN,
            rh_signing_key=env.get("RH_SIGNING_KEY") or DEV_RH_SIGNING_KEY,
            local_api_key=env.get("LOCAL_API_KEY") or DEV_LOCAL_API_KEY,
            operator=OperatorCredentials(
                env.get("LOCAL_OPERATOR_ACCESS_KEY_ID") or DEV_OPERATOR_ACCESS_KEY_ID,
                env.get("LOCAL_OPERATOR_SECRET_ACCESS_KEY") or DEV_OPERATOR_SECRET_ACCESS_KEY,
                region,
            ),
            state_dir=state_dir(env),
            external_rh_api_base_url=env.get("RH_API_BASE_URL") or None,
            parameter_env={name: env[name] for name in PARAMETER_ENV if env.get(name)},
        )

    @property
    def aws_endpoint(self) -> str:
        return endpoint(self.aws_endpoint_port)

    @property
    def webhook_url(self) -> str:
        """Where the local stack receives deliveries: always the local gateway."""
        return endpoint(self.api_port) + WEBHOOK_PATH

    @property
    def webhook_signed_url(self) -> str:
        """The URL deliveries are signed for: WEBHOOK_PUBLIC_URL (a tunnel in front), else the local one."""
        return self.parameter_env.get("WEBHOOK_PUBLIC_URL") or self.webhook_url

    @property
    def rh_api_base_url(self) -> str:
        return self.external_rh_api_base_url or endpoint(self.emulator_port) + EMULATOR_API_PATH

    @property
    def secret_value(self) -> dict:
        """The Return Helper secret as the functions read it from Secrets Manager."""
        return {"apiKey": self.rh_api_key, "apiToken": self.rh_api_token, "signingKeys": [self.rh_signing_key]}

    def parameter_overrides(self, declared: set[str] | frozenset[str]) -> dict[str, str]:
        """Template parameter values for this run; only parameters the template declares."""
        values = {
            "RetryBaseDelaySeconds": LOCAL_RETRY_BASE_DELAY_SECONDS,
            "ReconcilePendingAfterSeconds": LOCAL_RECONCILE_PENDING_AFTER_SECONDS,
            "ReturnHelperApiBaseUrl": self.rh_api_base_url,
            "WebhookPublicUrl": self.webhook_signed_url,
            # Locally every schedule runs every 30 s (local/scheduler.py): a daily sync
            # re-reading every item would be constant load. POST /sync/inventories runs one.
            "InventorySyncScheduleState": "DISABLED",
        }
        values.update({PARAMETER_ENV[name]: value for name, value in self.parameter_env.items()})
        return {name: value for name, value in values.items() if name in declared}
