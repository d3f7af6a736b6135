"""Packaging smoke test: import and invoke every *built* function the way Lambda would.

    make smoke      # = sam build (deployable) + sam build for this host + this script

Why two builds. The deployable build (`.aws-sam/build`) is arm64, and its compiled
wheels (pydantic-core) cannot be loaded on an x86_64 CI host. So `make smoke` also
builds the same template for the host's architecture (`--parameter-overrides
Architecture=<host>` into `.aws-sam/smoke`; SAM resolves the parameter for the
layer's BuildArchitecture too). This script checks that both builds hold exactly
the same distributions (so what is invoked here is what is deployed, down to the
versions) and that every compiled module of each build is for its architecture,
then reports the deployable sizes, then invokes the host build.

How a function is invoked. Each one runs in its own `python -S` process (no
site-packages at all) whose path is only what Lambda's would be:

    [function dir, layer's python/ dir, runtime dir] + the standard library

`/opt/python` is the layer. The runtime dir stands in for what the Lambda Python
runtime itself ships: boto3 and its dependencies (botocore, s3transfer, jmespath,
dateutil, six, urllib3), linked from this venv; nothing else. So a dependency the
layer lacks (the X-Ray SDK that Tracer imports, pydantic, requests)
fails here, at import, instead of in production. The layers themselves are
checked first (layers/common/layer_check.py: no runtime package, bytecode for
every module, size), and the functions' bytecode (functions/build_function.py).
The process is local/lambda_worker.py (standard library only), with the
function's template environment, AWS on a moto server, Return Helper on the
emulator, tracing on (segments go to a UDP port this script reads, as the X-Ray
daemon would), the log level at DEBUG (so masked payloads are logged
too), and one event from events/ each.

`--remove-from-layer NAME` runs against a copy of the host layer without NAME
(e.g. aws_xray_sdk) to show that the test catches a missing dependency.
"""

from __future__ import annotations

import argparse
import base64
import copy
import io
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import requests
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "layers" / "common"))  # layer_check, next to the layer's build

import layer_check  # noqa: E402

from bench.lambda_tree import link_runtime_packages  # noqa: E402
from local import aws_services  # noqa: E402
from local.emulator import EmulatorServer  # noqa: E402
from local.lambda_runtime import WORKER_SCRIPT, worker_environment  # noqa: E402
from local.settings import (  # noqa: E402
    DEV_RH_API_KEY,
    DEV_RH_API_TOKEN,
    DEV_RH_SIGNING_KEY,
    DUMMY_CREDENTIALS,
    HOST,
)
from local.template import LocalTemplate  # noqa: E402
from rh_common.adapters.dynamodb.inventory_store import InventoryStore  # noqa: E402
from rh_common.domain import inventory  # noqa: E402
from rh_common.domain.signature import signed_headers  # noqa: E402
from rh_common.domain.webhook_events import InventoryFacts  # noqa: E402

EVENTS = ROOT / "events"
REGION = "us-east-1"
LAYER_ID = "CommonLayer"
# Lambda's limit for a function and its layers, unzipped.
UNZIPPED_LIMIT = 250 * 1024 * 1024
ELF_MACHINES = {0x3E: "x86_64", 0xB7: "arm64"}
INIT_TIMEOUT = 60
# What Lambda puts in the environment of a traced invocation (Tracing: Active).
TRACE_HEADER = "Root=1-67c564c6-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"


def fail(message: str) -> None:
    raise SystemExit(f"SMOKE TEST FAILED: {message}")


# ------------------------------------------------------------------ the builds


def host_architecture() -> str:
    return "arm64" if os.uname().machine in ("aarch64", "arm64") else "x86_64"


def distributions(layer_python: Path) -> set[str]:
    return {path.name for path in layer_python.glob("*.dist-info")}


def compiled_architectures(root: Path) -> dict[str, set[str]]:
    """Architecture -> compiled modules (ELF e_machine of every .so)."""
    found: dict[str, set[str]] = {}
    for path in root.rglob("*.so"):
        header = path.read_bytes()[:20]
        machine = ELF_MACHINES.get(int.from_bytes(header[18:20], "little"), f"machine {header[18:20].hex()}")
        found.setdefault(machine, set()).add(str(path.relative_to(root)))
    return found


def check_builds(build: Path, smoke: Path, architecture: str, function_ids: list[str]) -> None:
    deployed, tested = distributions(build / LAYER_ID / "python"), distributions(smoke / LAYER_ID / "python")
    if not deployed:
        fail(f"no distributions in {build / LAYER_ID / 'python'}: run `make build` first")
    if deployed != tested:
        fail(f"the builds differ: only deployed {sorted(deployed - tested)}, only tested {sorted(tested - deployed)}")
    for root, expected in ((build, architecture), (smoke, host_architecture())):
        wrong = {arch: mods for arch, mods in compiled_architectures(root).items() if arch != expected}
        if wrong:
            fail(f"{root}: compiled modules not for {expected}: {wrong}")
    for root in (build, smoke):
        wrong = layer_check.problems(root / LAYER_ID / "python")
        if wrong:
            fail(f"{root / LAYER_ID}: " + "; ".join(wrong[:20]))
        for logical_id in function_ids:  # functions/build_function.py compiled them
            wrong = layer_check.bytecode_problems(root / logical_id)
            if wrong:
                fail(f"{root / logical_id}: " + "; ".join(wrong))
    print(f"builds: {len(deployed)} distributions, the same in both; compiled modules match {architecture} / host")
    print(
        "layers: no runtime package (boto3, botocore, ...), no pycountry locales, only the address rules read,"
        " an unchecked-hash .pyc"
        f" for every .py, <= {layer_check.MAX_UNZIPPED_BYTES // 1024 // 1024} MiB; functions: the same .pyc"
    )


def tree_size(root: Path) -> tuple[int, int]:
    """(unzipped bytes, zipped bytes) of a directory, zipped the way sam package does (deflate)."""
    buffer = io.BytesIO()
    unzipped = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                unzipped += path.stat().st_size
                archive.write(path, path.relative_to(root))
    return unzipped, buffer.tell()


def report_sizes(build: Path, function_ids: list[str]) -> None:
    mb = 1024 * 1024
    sizes = {logical_id: tree_size(build / logical_id) for logical_id in [LAYER_ID, *function_ids]}
    print(f"built sizes ({build}):")
    print(f"  {'artifact':<24}{'unzipped':>14}{'zipped':>14}")
    for logical_id, (unzipped, zipped) in sizes.items():
        print(f"  {logical_id:<24}{unzipped:>12,} B{zipped:>12,} B")
    for logical_id in function_ids:
        total = sizes[logical_id][0] + sizes[LAYER_ID][0]
        if total > UNZIPPED_LIMIT:
            fail(f"{logical_id} + layer is {total / mb:.1f} MB unzipped, over Lambda's 250 MB")


# ------------------------------------------------------------------ the runtime around the functions


def interpreter_path(env: dict[str, str]) -> list[str]:
    probe = "import json, sys; print(json.dumps(sys.path[1:]))"  # [0] is the -c's ''
    out = subprocess.run([sys.executable, "-S", "-c", probe], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def check_isolation(env: dict[str, str], allowed: list[Path]) -> None:
    """The bare interpreter sees only the given dirs and the standard library."""
    stdlib = Path(sys.base_prefix).resolve()
    for entry in interpreter_path(env):
        path = Path(entry).resolve()
        if path in [p.resolve() for p in allowed]:
            continue
        if "site-packages" in path.parts or not path.is_relative_to(stdlib):
            fail(f"the function's interpreter would see {entry}")


class XRayDaemon:
    """A UDP socket where the X-Ray SDK sends its segments (what the daemon does in Lambda)."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind((HOST, 0))
        self.socket.settimeout(0.2)
        self.address = f"{HOST}:{self.socket.getsockname()[1]}"

    def segments(self) -> list[dict]:
        received = []
        while True:
            try:
                datagram = self.socket.recv(65536)
            except TimeoutError:
                return received
            _, _, body = datagram.partition(b"\n")  # '{"format": "json", "version": 1}\n{segment}'
            received.append(json.loads(body))


def traced_urls(documents: list[dict]) -> list[str]:
    """The `http.request.url` of every segment and subsegment, however deep (X-Ray's HTTP subsegments)."""
    urls, pending = [], list(documents)
    while pending:
        document = pending.pop()
        url = document.get("http", {}).get("request", {}).get("url")
        if url:
            urls.append(url)
        pending += document.get("subsegments", [])
    return urls


# ------------------------------------------------------------------ one invocation


@dataclass
class Invocation:
    logical_id: str
    init_ms: float = 0.0
    invoke_ms: float = 0.0
    result: dict = field(default_factory=dict)
    log: list[str] = field(default_factory=list)


def invoke(function_dir: Path, handler: str, env: dict[str, str], event: dict, timeout: int) -> Invocation:
    """Start one execution environment, invoke it once, stop it."""
    # -S: no site module, so no site-packages; PYTHONPATH (in env) is the whole search path.
    process = subprocess.Popen(
        [sys.executable, "-S", "-u", str(WORKER_SCRIPT), handler],
        cwd=function_dir,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    run = Invocation(function_dir.name)
    reader = threading.Thread(target=lambda: run.log.extend(process.stderr.read().decode().splitlines()))
    reader.start()
    try:
        started = time.monotonic()
        ready = _message(process, INIT_TIMEOUT)
        run.init_ms = (time.monotonic() - started) * 1000
        if ready.get("type") != "ready":
            raise RuntimeError(f"init failed: {ready.get('errorType')}: {ready.get('errorMessage')}")
        request = {
            "requestId": "smoke-" + function_dir.name,
            "event": event,
            "deadlineMs": int(time.time() * 1000) + timeout * 1000,
            "invokedFunctionArn": f"arn:aws:lambda:{REGION}:123456789012:function:{function_dir.name}",
        }
        started = time.monotonic()
        process.stdin.write(json.dumps(request).encode() + b"\n")
        process.stdin.flush()
        answer = _message(process, timeout + 5)
        run.invoke_ms = (time.monotonic() - started) * 1000
        if answer.get("type") != "result":
            raise RuntimeError(f"invocation failed: {answer.get('errorType')}: {answer.get('errorMessage')}")
        run.result = answer["payload"]
    except RuntimeError as exc:
        process.kill()
        reader.join(timeout=5)
        print("\n".join(run.log[-40:]), file=sys.stderr)
        fail(f"{function_dir.name}: {exc}")
    finally:
        process.stdin.close()
        process.wait(timeout=10)
        reader.join(timeout=5)
    return run


def _message(process: subprocess.Popen, timeout: float) -> dict:
    result: list[bytes] = []
    thread = threading.Thread(target=lambda: result.append(process.stdout.readline()), daemon=True)
    thread.start()
    thread.join(timeout)
    if not result or not result[0]:
        return {"type": "gone", "errorType": "Runtime.ExitError", "errorMessage": "no answer (exited or hung)"}
    return json.loads(result[0])


def check_observability(run: Invocation, correlation_id: str | None) -> None:
    """Every log line is JSON with the Lambda context; with a correlation id given, the function
    logged with it and emitted EMF metrics (a plain read, GET /inventories/{id}, does neither)."""
    documents = []
    for line in run.log:
        try:
            documents.append(json.loads(line))
        except ValueError:
            continue
    logs = [d for d in documents if isinstance(d, dict) and "level" in d]
    metrics = [d for d in documents if isinstance(d, dict) and "_aws" in d]
    if any(not {"cold_start", "function_name", "service"} <= set(d) for d in logs):
        fail(f"{run.logical_id}: JSON log lines without cold_start/function_name/service: {logs}")
    if correlation_id is None:
        return
    if not any(d.get("correlation_id") == correlation_id for d in logs):
        fail(f"{run.logical_id}: no log line carries the correlation id {correlation_id}: {run.log[:10]}")
    namespaces = {m["CloudWatchMetrics"][0]["Namespace"] for m in (d["_aws"] for d in metrics)}
    if namespaces != {"ReturnHelperResends"}:
        fail(f"{run.logical_id}: EMF namespaces {namespaces or 'none'}")


# ------------------------------------------------------------------ the run


def events_for(stack: LocalTemplate) -> dict[str, tuple[dict, str | None]]:
    """One event from events/ per function, and the correlation id its logs must carry."""

    def load(name: str) -> dict:
        return json.loads((EVENTS / f"{name}.json").read_text())

    webhook = load("apigw_webhook_post")
    context = webhook["requestContext"]
    # The stored event is signed at a 2025 timestamp: sign the same bytes again, now.
    raw = base64.b64decode(webhook["body"])
    headers = signed_headers(DEV_RH_SIGNING_KEY, f"https://{context['domainName']}{context['path']}", raw)
    webhook["headers"] = {**webhook["headers"], **headers}
    webhook["multiValueHeaders"] = {name: [value] for name, value in webhook["headers"].items()}
    scheduled = load("eventbridge_scheduled_event")
    return {
        "WebhookFunction": (webhook, context["requestId"]),
        "MerchantApiFunction": (load("apigw_get_inventory"), None),
        "ResendWorkerFunction": (load("sqs_resend_request"), load("sqs_resend_request")["Records"][0]["messageId"]),
        "ReconcilerFunction": (scheduled, scheduled["id"]),
        "EventPublisherFunction": (load("dynamodb_stream_resend_submitted"), None),
    }


def expect(logical_id: str, result: dict) -> None:
    """What each invocation must have answered."""
    if logical_id == "WebhookFunction":
        ok = result.get("statusCode") == 200 and json.loads(result["body"]).get("status") == "applied"
    elif logical_id == "MerchantApiFunction":
        ok = result.get("statusCode") == 200 and json.loads(result["body"]).get("returnInventoryId") == 20251
    elif logical_id in ("ResendWorkerFunction", "EventPublisherFunction"):
        ok = result == {"batchItemFailures": []}
    else:
        reconciled = {
            "deliveriesApplied",
            "approvalsTimedOut",
            "askedAgain",
            "requeued",
            "polled",
            "updated",
            "agingPublished",
            "instructionsExpired",
            "instructionsMatched",
            "outOfTime",
        }
        ok = set(result) == reconciled and result["outOfTime"] is False
    if not ok:
        fail(f"{logical_id} answered {result}")


def seed(aws_endpoint: str, emulator: EmulatorServer, table: str) -> None:
    """What the worker's resend request needs besides the webhook's inventory 20251: item 20278 on hold,
    known to us and to Return Helper (the emulator), so its upstream create succeeds."""
    os.environ.update({**DUMMY_CREDENTIALS, "AWS_ENDPOINT_URL": aws_endpoint, "AWS_DEFAULT_REGION": REGION})
    facts = {"warehouseId": 2, "handlingCode": "ohd", "handlingStatusCode": "pending", "inStock": True}
    event_time = "2025-03-04T00:00:00.0000000Z"
    InventoryStore(table).apply(InventoryFacts(20278, facts), inventory.event_version(event_time, "seed"), event_time)
    for inventory_id in (20251, 20278):
        requests.post(
            f"{emulator.url}/_emulator/inventories",
            json={"returnInventoryId": inventory_id, "warehouseId": 2, "deliver": False, "handlingCode": "ohd"},
            timeout=5,
        ).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", type=Path, default=ROOT / ".aws-sam/build", help="the deployable build")
    parser.add_argument("--smoke-dir", type=Path, default=ROOT / ".aws-sam/smoke", help="the same, for this host")
    parser.add_argument("--remove-from-layer", action="append", default=[], metavar="NAME")
    args = parser.parse_args()
    args.build_dir, args.smoke_dir = args.build_dir.resolve(), args.smoke_dir.resolve()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server: no line per request

    template = LocalTemplate.load(ROOT / "template.yaml")
    function_ids = list(template.functions())
    check_builds(args.build_dir, args.smoke_dir, template.parameters["Architecture"], function_ids)
    report_sizes(args.build_dir, function_ids)

    with tempfile.TemporaryDirectory(prefix="rh-smoke-") as scratch:
        scratch = Path(scratch)
        layer = args.smoke_dir / LAYER_ID / "python"
        if args.remove_from_layer:
            layer = Path(shutil.copytree(layer, scratch / "layer" / "python", symlinks=True))
            for name in args.remove_from_layer:
                for path in [*layer.glob(name), *layer.glob(f"{name.replace('_', '?')}-*.dist-info")]:
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
            print(f"layer without {args.remove_from_layer}: {layer}")
        runtime = link_runtime_packages(scratch / "runtime")

        moto_port = _free_port()
        moto = ThreadedMotoServer(ip_address=HOST, port=moto_port, verbose=False)
        moto.start()
        aws_endpoint = f"http://{HOST}:{moto_port}"
        emulator = EmulatorServer(
            HOST, 0, "http://127.0.0.1:9/unused", DEV_RH_SIGNING_KEY, DEV_RH_API_KEY, DEV_RH_API_TOKEN
        )
        emulator.start()
        xray = XRayDaemon()
        try:
            stack = LocalTemplate.load(ROOT / "template.yaml", aws_endpoint=aws_endpoint)
            aws_services.create_tables(stack, aws_endpoint)
            physical = aws_services.create_queues(stack, aws_endpoint)
            secret = {"apiKey": DEV_RH_API_KEY, "apiToken": DEV_RH_API_TOKEN, "signingKeys": [DEV_RH_SIGNING_KEY]}
            physical.update(aws_services.create_secrets(stack, aws_endpoint, secret))
            aws_services.create_event_buses(stack, aws_endpoint)
            stack = stack.with_physical(physical)
            seed(aws_endpoint, emulator, stack.physical["InventoryTable"].ref)

            runs = []
            for logical_id, (event, correlation_id) in events_for(stack).items():
                spec = stack.functions()[logical_id]
                function_dir = args.smoke_dir / logical_id
                env = worker_environment(spec, region=REGION, aws_endpoint=aws_endpoint, dynamodb_endpoint=aws_endpoint)
                env.pop("POWERTOOLS_TRACE_DISABLED")  # tracing on, as deployed (Tracing: Active)
                env.update(
                    {
                        # The most code a deployment can run (LogLevel=DEBUG): every function then
                        # also logs a masked payload.
                        "POWERTOOLS_LOG_LEVEL": "DEBUG",
                        "PYTHONPATH": os.pathsep.join(map(str, (function_dir, layer, runtime))),
                        "LAMBDA_TASK_ROOT": str(function_dir),
                        "LAMBDA_RUNTIME_DIR": str(runtime),
                        "_X_AMZN_TRACE_ID": TRACE_HEADER,
                        "AWS_XRAY_DAEMON_ADDRESS": xray.address,
                        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
                    }
                )
                if "RH_API_BASE_URL" in env:
                    env["RH_API_BASE_URL"] = emulator.api_base
                check_isolation(env, [function_dir, layer, runtime])
                run = invoke(function_dir, spec.handler, env, copy.deepcopy(event), spec.timeout)
                run.logical_id = logical_id
                expect(logical_id, run.result)
                check_observability(run, correlation_id)
                runs.append(run)
            upstream = requests.get(f"{emulator.url}/_emulator/state", timeout=5).json()
            if not upstream.get("resends"):
                fail("the worker's resend request never reached Return Helper (the emulator)")
            segments = xray.segments()
            if not segments:
                fail("no X-Ray segment was sent: tracing does not work in the built functions")
            # requests is patched for X-Ray when the upstream client is first built (rh_common/runtime/wiring.py),
            # not at init: the worker's call to Return Helper must still be a traced HTTP subsegment.
            if not any(url.startswith(emulator.api_base) for url in traced_urls(segments)):
                fail("the worker's Return Helper call is in no X-Ray subsegment: requests is not patched")
            # A logged payload went through data masking (the worker's request has an address to erase).
            masking = {run.logical_id for run in runs if any('"payload":' in line for line in run.log)}
            worker_log = "\n".join(next(run.log for run in runs if run.logical_id == "ResendWorkerFunction"))
            if masking != {"WebhookFunction", "ResendWorkerFunction"} or '"shipmentName":"*****"' not in worker_log:
                fail(f"masked payloads logged by {sorted(masking)}, expected the webhook and the worker")
        finally:
            emulator.stop()
            moto.stop()

    print(f"invoked from {args.smoke_dir} with sys.path = [function, layer, runtime (boto3 only)] + stdlib:")
    for run in runs:
        print(f"  {run.logical_id:<24} init {run.init_ms:>7.0f} ms   invoke {run.invoke_ms:>6.0f} ms   ok")
    print(f"  X-Ray segments received: {len(segments)}; Return Helper resends created: {len(upstream['resends'])}")
    print("SMOKE TEST PASSED")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    main()
