"""The webhook delivery log from an operator's shell: list by state, replay one.

    python -m ops.deliveries list --status applyFailed [--limit 50] [--json]
    python -m ops.deliveries replay <deliveryId>

The tables come from the local stack (--stack .local/stack.json), a deployed
CloudFormation stack (--cfn-stack NAME: its DeliveryTable, InventoryTable and
ResendRequestTable), or are named (--delivery-table, --inventory-table,
--resend-table). AWS access: the default credential chain and region;
AWS_ENDPOINT_URL_DYNAMODB or --endpoint-url for another endpoint.

list never prints a body (it holds addresses): the same view as GET /deliveries.
replay runs the stored bytes through the webhook's own apply path (dedup skipped),
exactly as POST /deliveries/{id}/replay does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from rh_common.adapters.delivery_log import DeliveryLog, DeliveryStatus, view
from rh_common.adapters.inventory_store import InventoryStore
from rh_common.adapters.resend_store import ResendStore
from rh_common.ingest import ApplyFailed, WebhookIngestor
from rh_common.resend_tracking import ResendTracker

TABLES = {"delivery": "DeliveryTable", "inventory": "InventoryTable", "resend": "ResendRequestTable"}
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # noqa: S105 - local only

Out = Callable[[str], None]


class DeliveriesError(Exception):
    """Something the operator has to fix (no tables, unknown delivery); exit code 2."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ops.deliveries", description=__doc__.split("\n\n")[0])
    where = p.add_argument_group("which stack")
    where.add_argument("--stack", help="the local stack's stack.json (make run writes .local/stack.json)")
    where.add_argument("--cfn-stack", help="a deployed CloudFormation stack's name")
    for name, logical in TABLES.items():
        where.add_argument(f"--{name}-table", help=f"the {logical}'s name")
    where.add_argument("--endpoint-url", help="a DynamoDB endpoint other than AWS's")
    where.add_argument("--region")
    commands = p.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="deliveries in one state, newest first")
    listing.add_argument("--status", required=True, choices=[s.value for s in DeliveryStatus])
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true", help="one JSON document instead of a table")
    replay = commands.add_parser("replay", help="apply a kept delivery again")
    replay.add_argument("delivery_id")
    return p


def build(args: argparse.Namespace) -> WebhookIngestor:
    session = boto3.Session()
    endpoint, region = args.endpoint_url, args.region
    names = {name: getattr(args, f"{name}_table") for name in TABLES}
    if args.stack:
        try:
            state = json.loads(Path(args.stack).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DeliveriesError(f"cannot read {args.stack} ({exc}); is `make run` going?") from None
        endpoint = endpoint or state.get("dynamodbEndpoint")
        region = region or state.get("region")
        for name, logical in TABLES.items():
            names[name] = names[name] or state.get("tables", {}).get(logical)
    endpoint = endpoint or os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL")
    local = bool(endpoint) and (urlsplit(endpoint).hostname or "") in LOCAL_HOSTS
    region = region or session.region_name or ("us-east-1" if local else None)
    if not region:
        raise DeliveriesError("no AWS region: set AWS_REGION (or a profile's region) or pass --region")
    kwargs: dict[str, Any] = {"region_name": region, "config": Config(retries={"mode": "standard"})}
    if endpoint:
        kwargs["endpoint_url"] = endpoint
    if local and session.get_credentials() is None:
        kwargs.update(LOCAL_CREDENTIALS)
    if args.cfn_stack:
        cloudformation = session.client("cloudformation", **{k: v for k, v in kwargs.items() if k != "endpoint_url"})
        for name, logical in TABLES.items():
            if not names[name]:
                detail = cloudformation.describe_stack_resource(StackName=args.cfn_stack, LogicalResourceId=logical)
                names[name] = detail["StackResourceDetail"]["PhysicalResourceId"]
    missing = [f"--{name}-table" for name, value in names.items() if not value]
    if missing:
        raise DeliveriesError(f"which tables? pass --stack, --cfn-stack or {', '.join(missing)}")
    client = session.client("dynamodb", **kwargs)
    inventories = InventoryStore(names["inventory"], client=client)
    return WebhookIngestor(
        DeliveryLog(names["delivery"], client=client),
        inventories,
        ResendTracker(ResendStore(names["resend"], names["inventory"], client=client), None, inventories),
    )


def main(argv: list[str] | None = None, out: Out = print) -> int:
    args = parser().parse_args(argv)
    try:
        ingestor = build(args)
        deliveries = ingestor.deliveries
        if args.command == "list":
            items, _ = deliveries.list_by_status(args.status, args.limit)
            views = [view(item) for item in items]
            if args.json:
                out(json.dumps({"status": args.status, "items": views}, indent=2))
            else:
                for shown in views:
                    out(
                        f"{shown['receivedAt']}  {shown['deliveryId']}  {shown['category'] or '-'}/"
                        f"{shown['action'] or '-'}  {shown['eventTime'] or '-'}  {shown['reason'] or ''}".rstrip()
                    )
                out(f"{len(views)} {args.status}")
            return 0
        item = deliveries.get(args.delivery_id)
        if item is None:
            raise DeliveriesError(f"no delivery {args.delivery_id!r}")
        try:
            result = ingestor.apply_stored(item)
        except ApplyFailed:
            out(json.dumps({"deliveryId": args.delivery_id, "outcome": None, "error": "apply failed; marked"}))
            return 1
        out(json.dumps({"deliveryId": args.delivery_id, "outcome": result.outcome}))
        return 0
    except DeliveriesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
