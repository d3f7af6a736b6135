"""Dead-letter queues: see what is in one, and send it back.

    python -m ops.dlq list <queue> [--max 100] [--json]
    python -m ops.dlq redrive <dlq> [--to <queue>] [--max N] [--method auto|move-task|resend] [--wait]

<queue> is a queue URL, a queue ARN, a queue name, or, with --stack / --cfn-stack, the queue's
logical id in template.yaml (ResendRetryDLQ, ResendRequestDLQ, ...):

    python -m ops.dlq list ResendRetryDLQ --stack .local/stack.json        # the local stack (make run)
    python -m ops.dlq redrive ResendRetryDLQ --cfn-stack my-resends-stack  # a deployed stack
    python -m ops.dlq list https://sqs.eu-west-1.amazonaws.com/123456789012/my-dlq

AWS access: the default credential chain and region (AWS_PROFILE, AWS_REGION, ...);
AWS_ENDPOINT_URL or --endpoint-url for another endpoint; --stack takes the endpoint and region
from stack.json.

list never prints message bodies: resend requests carry a shipping address, so only the body's
top-level keys and its resendRequestId / idempotencyKey are shown. Listing receives the messages
(their receive count goes up by one) and makes them visible again right after.

redrive uses SQS StartMessageMoveTask where the endpoint has it (each message goes back to the
queue it came from, or to --to). Otherwise, or with --max (a move task cannot be capped), it
receives and resends: each message goes to --to, else to the queue it came from
(DeadLetterQueueSourceArn), else to the DLQ's one source queue (ListDeadLetterSourceQueues, else its
RedriveAllowPolicy), and is deleted from the DLQ only after that send succeeded. At least
once: an interruption in between can leave a copy in both queues, never in neither.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

SAFE_BODY_FIELDS = ("resendRequestId", "idempotencyKey")
MAX_SHOWN_CHARS = 200
LIST_VISIBILITY_SECONDS = 30
REDRIVE_VISIBILITY_SECONDS = 60
RECEIVE_WAIT_SECONDS = 1
DEFAULT_LIST_MAX = 100
MOVE_TASK_WAIT_SECONDS = 300
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # noqa: S105 - local only
# Error codes meaning "this endpoint does not do StartMessageMoveTask (for this queue)".
UNSUPPORTED_CODES = frozenset(
    {
        "InvalidAction",
        "UnknownOperation",
        "UnknownOperationException",
        "NotImplemented",
        "NotImplementedException",
        "UnsupportedOperation",
        "AWS.SimpleQueueService.UnsupportedOperation",
    }
)
_AWS_REGION_RE = re.compile(r"(?:^|\.)sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")

Out = Callable[[str], None]


class DlqError(Exception):
    """Something the operator has to fix (unknown queue, no destination, ...); exit code 2."""


class MoveTaskUnsupported(Exception):
    """The endpoint has no StartMessageMoveTask (or not for this queue)."""


# -- clients and queue names --------------------------------------------------------------------------


@dataclass
class Context:
    sqs: Any
    stack_queues: dict[str, str] | None = None
    cfn_stack: str | None = None
    cloudformation: Any = None
    # StartMessageMoveTask goes through this one when set: a client without retries for endpoints
    # (moto) that answer a missing operation with HTTP 500, so the probe is one quiet request.
    move_client: Any = None
    _arn_urls: dict[str, str] = field(default_factory=dict)

    @property
    def endpoint_is_aws(self) -> bool:
        host = urlsplit(self.sqs.meta.endpoint_url).hostname or ""
        return host.endswith((".amazonaws.com", ".amazonaws.com.cn"))

    def resolve(self, ref: str) -> str:
        """A queue URL from a URL, an ARN, a template logical id (--stack / --cfn-stack) or a name."""
        if ref.startswith(("https://", "http://")):
            return ref
        if ref.startswith("arn:"):
            return self.url_for_arn(ref)
        if self.stack_queues is not None and ref in self.stack_queues:
            return self.stack_queues[ref]
        if self.cfn_stack:
            try:
                detail = self.cloudformation.describe_stack_resource(StackName=self.cfn_stack, LogicalResourceId=ref)
            except ClientError as exc:
                raise DlqError(f"{ref!r} in CloudFormation stack {self.cfn_stack!r}: {_error_text(exc)}") from None
            return detail["StackResourceDetail"]["PhysicalResourceId"]
        try:
            return self.sqs.get_queue_url(QueueName=ref)["QueueUrl"]
        except ClientError as exc:
            known = f"; the stack's queues: {', '.join(sorted(self.stack_queues))}" if self.stack_queues else ""
            raise DlqError(f"no queue {ref!r} ({_error_text(exc)}){known}") from None

    def url_for_arn(self, arn: str) -> str:
        if arn not in self._arn_urls:
            parts = arn.split(":")
            if len(parts) != 6 or parts[2] != "sqs":
                raise DlqError(f"{arn!r} is not an SQS queue ARN")
            try:
                url = self.sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
            except ClientError as exc:
                raise DlqError(f"queue {arn}: {_error_text(exc)}") from None
            self._arn_urls[arn] = url
        return self._arn_urls[arn]

    def arn(self, url: str) -> str:
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        return attributes["QueueArn"]


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code')}: {error.get('Message')}"
    return str(exc)


def _region_hint(ref: str) -> str | None:
    """The region named by an AWS queue URL or ARN, when no region is configured."""
    if ref.startswith("arn:"):
        parts = ref.split(":")
        return parts[3] if len(parts) == 6 and parts[3] else None
    match = _AWS_REGION_RE.search(urlsplit(ref).hostname or "") if ref.startswith("https://") else None
    return match.group(1) if match else None


def build_context(args: argparse.Namespace, queue_refs: list[str]) -> Context:
    session = boto3.Session()
    endpoint, region, stack_queues = args.endpoint_url, args.region, None
    if args.stack:
        try:
            state = json.loads(Path(args.stack).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DlqError(f"cannot read {args.stack} ({exc}); is `make run` going?") from None
        stack_queues = dict(state.get("queues") or {})
        endpoint = endpoint or state.get("awsEndpoint")
        region = region or state.get("region")
    endpoint = endpoint or os.environ.get("AWS_ENDPOINT_URL_SQS") or os.environ.get("AWS_ENDPOINT_URL")
    local = bool(endpoint) and (urlsplit(endpoint).hostname or "") in LOCAL_HOSTS
    region = region or session.region_name or next(filter(None, map(_region_hint, queue_refs)), None)
    if not region:
        if not local:
            raise DlqError("no AWS region: set AWS_REGION (or a profile's region) or pass --region")
        region = "us-east-1"
    kwargs: dict[str, Any] = {"region_name": region, "config": Config(retries={"mode": "standard"})}
    if endpoint:
        kwargs["endpoint_url"] = endpoint
    if local and session.get_credentials() is None:
        kwargs.update(LOCAL_CREDENTIALS)  # the local stack's moto accepts any
    sqs = session.client("sqs", **kwargs)
    cloudformation = session.client("cloudformation", **kwargs) if args.cfn_stack else None
    ctx = Context(sqs, stack_queues, args.cfn_stack, cloudformation)
    if not ctx.endpoint_is_aws:
        ctx.move_client = session.client("sqs", **{**kwargs, "config": Config(retries={"total_max_attempts": 1})})
    return ctx


# -- list ---------------------------------------------------------------------------------------------


def _iso(milliseconds: str | None) -> str | None:
    if not milliseconds:
        return None
    moment = datetime.fromtimestamp(int(milliseconds) / 1000, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _shown(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_SHOWN_CHARS:
        return value[:MAX_SHOWN_CHARS] + "..."
    return value if isinstance(value, str | int | float | bool) or value is None else type(value).__name__


def summarize(message: dict[str, Any]) -> dict[str, Any]:
    """What may be shown of a message: ids, counts, times, top-level keys; never the body itself."""
    attributes = message.get("Attributes") or {}
    summary: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiveCount": int(attributes.get("ApproximateReceiveCount", 0)),
        "sentAt": _iso(attributes.get("SentTimestamp")),
        "firstReceivedAt": _iso(attributes.get("ApproximateFirstReceiveTimestamp")),
        "deadLetterSource": attributes.get("DeadLetterQueueSourceArn"),
        "messageAttributes": sorted(message.get("MessageAttributes") or {}),
    }
    body = message.get("Body") or ""
    try:
        parsed = json.loads(body)
    except ValueError:
        summary["body"] = f"not JSON ({len(body.encode('utf-8'))} bytes)"
        return summary
    if not isinstance(parsed, dict):
        summary["body"] = f"JSON {type(parsed).__name__} ({len(body.encode('utf-8'))} bytes)"
        return summary
    summary["keys"] = sorted(parsed)
    for name in SAFE_BODY_FIELDS:
        if name in parsed:
            summary[name] = _shown(parsed[name])
    return summary


def queue_counts(sqs: Any, url: str) -> dict[str, Any]:
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return {
        "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
        "inFlight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        "delayed": int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
    }


def _receive(sqs: Any, url: str, count: int, visibility: int) -> list[dict[str, Any]]:
    response = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=max(1, min(10, count)),
        VisibilityTimeout=visibility,
        WaitTimeSeconds=RECEIVE_WAIT_SECONDS,
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    return response.get("Messages", [])


def _release(sqs: Any, url: str, messages: list[dict[str, Any]]) -> None:
    """Make received messages visible again at once (best effort; they reappear anyway later)."""
    for start in range(0, len(messages), 10):
        entries = [
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
            for n, m in enumerate(messages[start : start + 10])
        ]
        with contextlib.suppress(ClientError, BotoCoreError):
            sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)


def list_messages(sqs: Any, url: str, max_messages: int = DEFAULT_LIST_MAX) -> list[dict[str, Any]]:
    """Summaries of up to ``max_messages`` messages; they are visible again when this returns."""
    held: list[dict[str, Any]] = []
    seen: set[str] = set()
    try:
        while len(held) < max_messages:
            fresh = [
                m
                for m in _receive(sqs, url, max_messages - len(held), LIST_VISIBILITY_SECONDS)
                if m["MessageId"] not in seen
            ]
            if not fresh:
                break
            seen.update(m["MessageId"] for m in fresh)
            held.extend(fresh)
    finally:
        _release(sqs, url, held)
    return [summarize(message) for message in held]


def source_queues(ctx: Context, dlq_url: str) -> list[str]:
    """The queues that dead-letter into this one.

    ListDeadLetterSourceQueues (the queues whose redrive policy points here) first; when it finds
    none, the DLQ's RedriveAllowPolicy ``byQueue`` list (the queues allowed to use it).
    """
    urls: list[str] = []
    try:
        for page in ctx.sqs.get_paginator("list_dead_letter_source_queues").paginate(QueueUrl=dlq_url):
            urls.extend(page.get("queueUrls", []))
    except (ClientError, BotoCoreError):
        urls = []
    if urls:
        return list(dict.fromkeys(urls))
    # "All": some SQS emulators refuse to be asked for RedriveAllowPolicy by name.
    attributes = ctx.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
    try:
        allow = json.loads(attributes.get("RedriveAllowPolicy") or "{}")
    except ValueError:
        allow = {}
    if isinstance(allow, dict) and allow.get("redrivePermission") == "byQueue":
        for arn in allow.get("sourceQueueArns") or []:
            with contextlib.suppress(DlqError):
                urls.append(ctx.url_for_arn(arn))
    return list(dict.fromkeys(urls))


def print_listing(out: Out, url: str, counts: dict[str, Any], sources: list[str], summaries: list[dict]) -> None:
    out(f"queue {url}")
    out(f"  ~{counts['visible']} visible, ~{counts['inFlight']} in flight, ~{counts['delayed']} delayed")
    if sources:
        out(f"  dead letters from: {', '.join(sources)}")
    for s in summaries:
        line = f"  {s['messageId']}  received {s['receiveCount']}x  sent {s['sentAt']}"
        if "keys" in s:
            line += f"  keys [{', '.join(s['keys'])}]"
        else:
            line += f"  body {s['body']}"
        for name in SAFE_BODY_FIELDS:
            if name in s:
                line += f"  {name}={s[name]}"
        if s["messageAttributes"]:
            line += f"  attributes [{', '.join(s['messageAttributes'])}]"
        out(line)
    out(f"  {len(summaries)} message(s) shown")


# -- redrive ------------------------------------------------------------------------------------------


@dataclass
class RedriveReport:
    method: str
    moved: int = 0
    failed: int = 0
    skipped: int = 0
    not_deleted: int = 0
    task_handle: str | None = None
    destination: str | None = None

    @property
    def ok(self) -> bool:
        return not (self.failed or self.skipped or self.not_deleted)


def start_move_task(ctx: Context, dlq_arn: str, destination_arn: str | None) -> str:
    kwargs = {"SourceArn": dlq_arn}
    if destination_arn:
        kwargs["DestinationArn"] = destination_arn
    try:
        return (ctx.move_client or ctx.sqs).start_message_move_task(**kwargs)["TaskHandle"]
    except (NotImplementedError, AttributeError) as exc:  # moto in-process; a botocore without the operation
        raise MoveTaskUnsupported(str(exc) or type(exc).__name__) from None
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if code in UNSUPPORTED_CODES or status == 501 or (status >= 500 and not ctx.endpoint_is_aws):
            reason = f"HTTP {status}" if code in ("", str(status)) else f"{code}, HTTP {status}"
            raise MoveTaskUnsupported(f"{reason} from {ctx.sqs.meta.endpoint_url}") from None
        raise


def wait_for_move_task(ctx: Context, dlq_arn: str, handle: str, out: Out, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        tasks = ctx.sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10).get("Results", [])
        task = next((t for t in tasks if t.get("TaskHandle") == handle), tasks[0] if tasks else {})
        status = task.get("Status", "UNKNOWN")
        if status not in ("RUNNING", "CANCELLING") or time.monotonic() > deadline:
            out(
                f"  move task {status}: {task.get('ApproximateNumberOfMessagesMoved', '?')} of "
                f"{task.get('ApproximateNumberOfMessagesToMove', '?')} moved"
                + (f"; {task['FailureReason']}" if task.get("FailureReason") else "")
            )
            return task
        time.sleep(2)


def _copy_attributes(message: dict[str, Any]) -> dict[str, Any]:
    copied = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        entry = {"DataType": value["DataType"]}
        for key in ("StringValue", "BinaryValue"):
            if key in value:
                entry[key] = value[key]
        copied[name] = entry
    return copied


def resend_messages(
    ctx: Context, dlq_url: str, destination_url: str | None, max_messages: int | None, out: Out
) -> RedriveReport:
    """Receive from the DLQ, send to the destination, delete only after the send succeeded."""
    report = RedriveReport("receive-and-resend", destination=destination_url)
    seen: set[str] = set()
    while max_messages is None or len(seen) < max_messages:
        wanted = 10 if max_messages is None else max_messages - len(seen)
        messages = [
            m for m in _receive(ctx.sqs, dlq_url, wanted, REDRIVE_VISIBILITY_SECONDS) if m["MessageId"] not in seen
        ]
        if not messages:
            break  # empty (messages this run could not move stay invisible until it has finished)
        for message in messages:
            seen.add(message["MessageId"])
            source_arn = (message.get("Attributes") or {}).get("DeadLetterQueueSourceArn")
            target = destination_url
            if target is None and source_arn:
                try:
                    target = ctx.url_for_arn(source_arn)
                except DlqError:
                    target = None
            if target is None:
                # Stays invisible for the visibility timeout (so this run moves on), then back in the DLQ.
                report.skipped += 1
                out(f"  {message['MessageId']}: no destination known (pass --to); left in the DLQ")
                continue
            kwargs: dict[str, Any] = {"QueueUrl": target, "MessageBody": message["Body"]}
            attributes = _copy_attributes(message)
            if attributes:
                kwargs["MessageAttributes"] = attributes
            if target.endswith(".fifo"):
                system = message.get("Attributes") or {}
                kwargs["MessageGroupId"] = system.get("MessageGroupId") or "redrive"
                kwargs["MessageDeduplicationId"] = system.get("MessageDeduplicationId") or message["MessageId"]
            try:
                ctx.sqs.send_message(**kwargs)
            except (ClientError, BotoCoreError) as exc:
                report.failed += 1  # not deleted: back in the DLQ when its visibility timeout ends
                out(f"  {message['MessageId']}: send to {target} failed ({_error_text(exc)}); left in the DLQ")
                continue
            try:
                ctx.sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            except (ClientError, BotoCoreError) as exc:
                report.not_deleted += 1
                out(
                    f"  {message['MessageId']}: sent, but not deleted from the DLQ ({_error_text(exc)}): a copy remains"
                )
            report.moved += 1
            out(f"  {message['MessageId']} -> {target}")
    return report


def redrive(
    ctx: Context,
    dlq_url: str,
    to_url: str | None = None,
    *,
    max_messages: int | None = None,
    method: str = "auto",
    wait: bool = False,
    out: Out = print,
) -> RedriveReport:
    dlq_arn = ctx.arn(dlq_url)
    to_arn = ctx.arn(to_url) if to_url else None
    if method == "auto" and max_messages is not None:
        out("--max given: a move task cannot be capped, so receive-and-resend is used")
        method = "resend"
    if method in ("auto", "move-task"):
        try:
            handle = start_move_task(ctx, dlq_arn, to_arn)
        except MoveTaskUnsupported as exc:
            if method == "move-task":
                raise DlqError(f"StartMessageMoveTask is not available here ({exc})") from None
            out(f"StartMessageMoveTask not available ({exc}); falling back to receive-and-resend")
        else:
            where = to_url or "the queue each message came from"
            out(f"move task started: {dlq_url} -> {where}")
            out(f"  task handle {handle}")
            report = RedriveReport("move-task", task_handle=handle, destination=to_url)
            if wait:
                task = wait_for_move_task(ctx, dlq_arn, handle, out, MOVE_TASK_WAIT_SECONDS)
                report.moved = int(task.get("ApproximateNumberOfMessagesMoved") or 0)
                report.failed = int(task.get("Status") == "FAILED")
            else:
                out(
                    "  it runs in the background; watch it with: aws sqs list-message-move-tasks --source-arn "
                    + dlq_arn
                )
            return report
    destination = to_url
    if destination is None:
        sources = source_queues(ctx, dlq_url)
        if len(sources) == 1:
            destination = sources[0]
        elif len(sources) > 1:
            out(f"several source queues ({', '.join(sources)}): messages without DeadLetterQueueSourceArn need --to")
        else:
            out("no source queue found (RedriveAllowPolicy, ListDeadLetterSourceQueues): messages need --to")
    out(f"receive-and-resend: {dlq_url} -> {destination or 'each message source'}")
    return resend_messages(ctx, dlq_url, destination, max_messages, out)


# -- command line -------------------------------------------------------------------------------------


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_mutually_exclusive_group()
    where.add_argument(
        "--stack", metavar="STACK_JSON", help="the local stack's stack.json: logical ids, endpoint, region"
    )
    where.add_argument("--cfn-stack", metavar="NAME", help="a deployed CloudFormation stack: logical ids")
    common.add_argument("--endpoint-url", help="SQS endpoint (default: AWS_ENDPOINT_URL, else AWS)")
    common.add_argument("--region", help="AWS region (default: the configured one)")
    root = argparse.ArgumentParser(
        prog="python -m ops.dlq",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = root.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", parents=[common], help="message ids, receive counts, times, body keys")
    listing.add_argument("queue", help="queue URL, ARN, name or (with --stack / --cfn-stack) logical id")
    listing.add_argument(
        "--max", type=_positive, default=DEFAULT_LIST_MAX, help=f"messages to show ({DEFAULT_LIST_MAX})"
    )
    listing.add_argument("--json", action="store_true", help="one JSON document instead of lines")
    moving = commands.add_parser("redrive", parents=[common], help="send a DLQ's messages back")
    moving.add_argument("dlq", help="the dead-letter queue (URL, ARN, name or logical id)")
    moving.add_argument("--to", help="destination queue (default: where each message came from)")
    moving.add_argument("--max", type=_positive, help="move at most this many (implies receive-and-resend)")
    moving.add_argument(
        "--method",
        choices=("auto", "move-task", "resend"),
        default="auto",
        help="auto: StartMessageMoveTask when available, else receive-and-resend",
    )
    moving.add_argument("--wait", action="store_true", help="wait for a move task to finish")
    return root


def main(argv: list[str] | None = None, out: Out = print) -> int:
    args = parser().parse_args(argv)
    refs = [args.queue] if args.command == "list" else [args.dlq, *([args.to] if args.to else [])]
    try:
        ctx = build_context(args, refs)
        if args.command == "list":
            url = ctx.resolve(args.queue)
            counts = queue_counts(ctx.sqs, url)
            sources = source_queues(ctx, url)
            summaries = list_messages(ctx.sqs, url, args.max)
            if args.json:
                out(json.dumps({"queue": url, **counts, "sources": sources, "messages": summaries}, indent=2))
            else:
                print_listing(out, url, counts, sources, summaries)
            return 0
        dlq_url = ctx.resolve(args.dlq)
        to_url = ctx.resolve(args.to) if args.to else None
        report = redrive(ctx, dlq_url, to_url, max_messages=args.max, method=args.method, wait=args.wait, out=out)
        if report.method == "receive-and-resend" or args.wait:
            out(
                f"{report.method}: {report.moved} moved, {report.failed} failed, {report.skipped} skipped"
                + (f", {report.not_deleted} sent but not deleted" if report.not_deleted else "")
            )
            counts = queue_counts(ctx.sqs, dlq_url)
            out(f"DLQ now ~{counts['visible']} visible, ~{counts['inFlight']} in flight")
        return 0 if report.ok else 1
    except DlqError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as exc:
        print(f"error: {_error_text(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
