"""Run the Return Helper sandbox emulator, or steer a running one.

Serve (until Ctrl-C / SIGTERM), by default as the local stack would (local.settings: RH_EMULATOR_PORT,
RH_SIGNING_KEY, RH_API_KEY, RH_API_TOKEN, API_PORT for the webhook URL, else the development values):

    python -m local.emulator [--port 4010] [--webhook-url http://127.0.0.1:3000/webhooks/returnhelper] \\
        [--webhook-signed-url https://hooks.example/rh] [--signing-key <base64>] [--api-key K --api-token T] \\
        [--no-auto-progress] [--progress-seconds 2 3] [--outcome completed|failed]

Webhooks are posted to --webhook-url and signed for --webhook-signed-url (default: WEBHOOK_PUBLIC_URL,
else the URL they are posted to). Auto-progress is on by default here: created resends go inProgress after 2 s and
completed 3 s later, with signed webhooks.

Steer a running emulator (its control API; --url defaults to RH_EMULATOR_URL, then the "emulator"
entry of .local/stack.json, then http://127.0.0.1:$RH_EMULATOR_PORT):

    python -m local.emulator fault createResend http5xx --status 503 [--times 2]
    python -m local.emulator fault createResend http429 --retry-after 1
    python -m local.emulator fault getResend latency --seconds 2
    python -m local.emulator faults list | clear [--operation createResend]
    python -m local.emulator backfill --count 120 --days 100   # stock the stack has never heard of
    python -m local.emulator config [--auto-progress | --no-auto-progress]
                                    [--progress-seconds 2 3] [--outcome failed]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import requests

from local.emulator.progress import OUTCOMES, ProgressConfig
from local.emulator.server import EmulatorServer
from local.emulator.state import FAULT_KINDS, OPERATIONS
from local.settings import HOST, LocalSettings, endpoint, stack_file

CLIENT_COMMANDS = ("fault", "faults", "config", "backfill")
CONTROL_TIMEOUT_SECONDS = 10.0


def _add_progress_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--auto-progress",
        action=argparse.BooleanOptionalAction,
        help="walk created resends to their outcome (--no-auto-progress: leave them pending; "
        "advance them with POST /_emulator/resends/{id}/advance)",
    )
    defaults = ProgressConfig()
    parser.add_argument(
        "--progress-seconds",
        type=float,
        nargs="+",
        metavar="SECONDS",
        help="IN_PROGRESS [COMPLETE]: seconds until inProgress, then until the outcome (COMPLETE defaults to "
        f"IN_PROGRESS; defaults {defaults.in_progress_after_seconds:g} {defaults.complete_after_seconds:g})",
    )
    parser.add_argument("--outcome", choices=OUTCOMES, help=f"how auto-progressed resends end ({defaults.outcome})")


def _progress_changes(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """The control API's config fields the progress options set."""
    seconds = args.progress_seconds or []
    if len(seconds) > 2 or any(value < 0 for value in seconds):
        parser.error("--progress-seconds takes one or two non-negative numbers: IN_PROGRESS [COMPLETE]")
    changes = {"autoProgress": args.auto_progress, "outcome": args.outcome}
    if seconds:
        changes |= {"inProgressAfterSeconds": seconds[0], "completeAfterSeconds": seconds[-1]}
    return {name: value for name, value in changes.items() if value is not None}


# -- serve -------------------------------------------------------------------------------------------


def build_server(argv: list[str]) -> tuple[EmulatorServer, bool]:
    """The (not yet started) server the serve command line describes, and whether to log verbosely."""
    stack = LocalSettings.from_env()
    parser = argparse.ArgumentParser(
        prog="python -m local.emulator",
        description="Run the Return Helper sandbox emulator (subcommands fault, faults, config steer a running one).",
    )
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, default=stack.emulator_port)
    parser.add_argument("--webhook-url", default=stack.webhook_url, help="where signed webhooks are posted")
    parser.add_argument(
        "--webhook-signed-url",
        default=os.environ.get("WEBHOOK_PUBLIC_URL"),
        help="the URL they are signed for (a tunnel's, a proxy's) [$WEBHOOK_PUBLIC_URL, else --webhook-url]",
    )
    parser.add_argument("--signing-key", default=stack.rh_signing_key, help="base64 webhook signing key")
    parser.add_argument("--api-key", default=stack.rh_api_key, help="expected x-rr-apikey")
    parser.add_argument("--api-token", default=stack.rh_api_token, help="expected x-rr-apitoken")
    _add_progress_options(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    try:
        config = ProgressConfig(auto_progress=True).updated(_progress_changes(args, parser))
    except ValueError as exc:
        parser.error(str(exc))
    keys = (args.webhook_url, args.signing_key, args.api_key, args.api_token)
    server = EmulatorServer(args.host, args.port, *keys, webhook_signed_url=args.webhook_signed_url, **asdict(config))
    return server, args.verbose


def serve(argv: list[str]) -> int:
    server, verbose = build_server(argv)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with server:
        print(f"Return Helper emulator: user API {server.api_base}, control {server.url}/_emulator/state", flush=True)
        print(f"auto-progress: {json.dumps(server.progress.config.to_json())}", flush=True)
        stop.wait()
    return 0


# -- client ------------------------------------------------------------------------------------------


def default_url(environ: Mapping[str, str] | None = None) -> str:
    """RH_EMULATOR_URL, else the running stack's emulator (stack.json), else 127.0.0.1:$RH_EMULATOR_PORT."""
    env = os.environ if environ is None else environ
    if env.get("RH_EMULATOR_URL"):
        return env["RH_EMULATOR_URL"].rstrip("/")
    try:
        emulator = json.loads(stack_file(env).read_text(encoding="utf-8")).get("emulator")
    except (OSError, ValueError, AttributeError):
        emulator = None
    return str(emulator or endpoint(LocalSettings.from_env(env).emulator_port)).rstrip("/")


def _control(url: str, method: str, path: str, body: Any = None, params: dict | None = None) -> Any:
    try:
        response = requests.request(
            method, f"{url}/_emulator{path}", json=body, params=params, timeout=CONTROL_TIMEOUT_SECONDS
        )
    except requests.RequestException as exc:
        raise SystemExit(f"error: cannot reach the emulator at {url}: {exc}") from None
    try:
        payload = response.json()
    except ValueError:
        payload = response.text
    if response.status_code >= 300:
        detail = payload.get("error") if isinstance(payload, dict) else payload
        raise SystemExit(f"error: {method} {path} -> HTTP {response.status_code}: {detail}")
    return payload


def client(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.emulator", description="Steer a running emulator.")
    url_options = argparse.ArgumentParser(add_help=False)
    url_options.add_argument("--url", default=None, help="emulator base URL (default: the running local stack's)")
    commands = parser.add_subparsers(dest="command", required=True)

    fault = commands.add_parser(
        "fault",
        parents=[url_options],
        help="queue a one-shot fault for the next call(s) of an operation",
        description="Queue a one-shot fault; faults are consumed first in, first out, one per call.",
    )
    fault.add_argument("operation", choices=OPERATIONS)
    fault.add_argument("kind", choices=FAULT_KINDS)
    fault.add_argument("--status", type=int, help="http5xx: HTTP status (503); softError: meta.status (400)")
    fault.add_argument("--retry-after", type=int, dest="retryAfter", help="http429: Retry-After seconds (1)")
    fault.add_argument("--seconds", type=float, help="latency / timeoutAfterCommit: seconds")
    fault.add_argument("--error-code", dest="errorCode", help="softError: errorCode (INTERNAL_ERROR)")
    fault.add_argument("--error", help="softError: the error message")
    fault.add_argument("--error-field", default="", help="softError: the property the message is keyed by ('')")
    fault.add_argument("--times", type=int, default=1, help="queue the same fault this many times (1)")

    faults = commands.add_parser("faults", parents=[url_options], help="list or clear queued faults")
    faults.add_argument("action", choices=("list", "clear"))
    faults.add_argument("--operation", choices=OPERATIONS, help="only this operation's faults (clear)")

    config = commands.add_parser(
        "config", parents=[url_options], help="show or change auto-progress (no options: show)"
    )
    _add_progress_options(config)

    backfill = commands.add_parser(
        "backfill", parents=[url_options], help="create inventories upstream only (no webhooks), spread over days"
    )
    backfill.add_argument("--count", type=int, required=True)
    backfill.add_argument("--days", type=float, default=30)
    backfill.add_argument("--warehouse-id", type=int, default=2, dest="warehouseId")

    args = parser.parse_args(argv)
    url = (args.url or default_url()).rstrip("/")
    if args.command == "fault":
        if args.times < 1:
            fault.error("--times must be at least 1")
        args.error = None if args.error is None else {args.error_field: args.error}
        spec = {"kind": args.kind} | {
            name: getattr(args, name)
            for name in ("status", "retryAfter", "seconds", "errorCode", "error")
            if getattr(args, name) is not None
        }
        result = _control(url, "POST", "/faults", {"operation": args.operation, "faults": [spec] * args.times})
    elif args.command == "faults" and args.action == "clear":
        result = _control(url, "DELETE", "/faults", params={"operation": args.operation} if args.operation else None)
    elif args.command == "faults":
        result = _control(url, "GET", "/state").get("faults", {})
    elif args.command == "backfill":
        spec = {"count": args.count, "days": args.days, "warehouseId": args.warehouseId}
        result = _control(url, "POST", "/inventories/backfill", spec)
    else:
        changes = _progress_changes(args, config)
        result = _control(url, "POST", "/config", changes) if changes else _control(url, "GET", "/config")
    print(json.dumps(result, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    return client(argv) if argv and argv[0] in CLIENT_COMMANDS else serve(argv)


if __name__ == "__main__":
    raise SystemExit(main())
