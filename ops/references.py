"""Write the look-up references of the items already stored, once, after the deploy that adds the reference table.

    python -m ops.references backfill --inventory-table <InventoryTableName output>
        --reference-table <InventoryReferenceTableName output> [--region R] [--endpoint-url URL]

InventoryReferenceFunction keeps each item's rows from the inventory table's stream, from the oldest record
the stream still holds (24 hours): items not written since then have no rows until their next change. This
writes them all now, as the function would (an item of a cancelled consolidation order is freed too). It
Scans the inventory table (run by hand, like ops.in_stock_index) and is safe to run again or while the stack
runs. Also the repair after InventoryReferenceFailureQueueAlarm (a stream batch given up). AWS access: the
default credential chain and region; AWS_ENDPOINT_URL_DYNAMODB or --endpoint-url for another endpoint (the
local stack: its stack.json's dynamodbEndpoint and tables).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from rh_common.adapters.dynamodb.inventory_store import InventoryStore
from rh_common.adapters.dynamodb.reference_store import ReferenceStore
from rh_common.services.inventory_references import ReferenceKeeper


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ops.references", description=__doc__.split("\n\n")[0])
    commands = p.add_subparsers(dest="command", required=True)
    backfill = commands.add_parser("backfill", help="write every stored item's reference rows")
    backfill.add_argument("--inventory-table", required=True, help="InventoryTableName output")
    backfill.add_argument("--reference-table", required=True, help="InventoryReferenceTableName output")
    backfill.add_argument(
        "--eligible-handling-codes", default="tbc,ohd", help="the stack's EligibleHandlingCodes (the stock rows)"
    )
    backfill.add_argument("--region")
    backfill.add_argument("--endpoint-url", help="a DynamoDB endpoint other than AWS's")
    return p


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    args = parser().parse_args(argv)
    options = {"region_name": args.region, "endpoint_url": args.endpoint_url}
    client = boto3.client("dynamodb", **{name: value for name, value in options.items() if value})
    rows = ReferenceStore(args.reference_table, client=client)
    codes = [code.strip() for code in args.eligible_handling_codes.split(",") if code.strip()]
    keeper = ReferenceKeeper(rows, InventoryStore(args.inventory_table, client=client), codes)
    items = 0
    try:
        for item in rows.stored_items(args.inventory_table):
            keeper.apply(item)  # its rows, and the freeing if its consolidation order was cancelled
            items += 1
    except (ClientError, BotoCoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out(json.dumps({"inventoryTable": args.inventory_table, "referenceTable": args.reference_table, "items": items}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
