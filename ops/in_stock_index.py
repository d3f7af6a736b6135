"""Key the items already in stock into the InStock index, once, after the deploy that adds it.

    python -m ops.in_stock_index --table <the stack's InventoryTableName output> [--region R] [--endpoint-url URL]

The inventory store keys an item into the sparse InStock index whenever it writes its inStock; items
written before the index existed enter it on their next such write. Until then the scheduled sync's
re-read (which pages through the index) does not see them: run this once to key them all now. It
Scans the inventory table (the only Scan in the project, run by hand) and is safe to run again or
while the stack runs: an item is keyed only while it is in stock and not keyed yet. AWS access:
the default credential chain and region; AWS_ENDPOINT_URL_DYNAMODB or --endpoint-url for another
endpoint (the local stack: its stack.json's dynamodbEndpoint and tables.InventoryTable).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from rh_common.adapters.dynamodb.inventory_store import InventoryStore


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ops.in_stock_index", description=__doc__.split("\n\n")[0])
    p.add_argument("--table", required=True, help="the inventory table's name (InventoryTableName output)")
    p.add_argument("--region")
    p.add_argument("--endpoint-url", help="a DynamoDB endpoint other than AWS's")
    return p


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    args = parser().parse_args(argv)
    options = {"region_name": args.region, "endpoint_url": args.endpoint_url}
    client = boto3.client("dynamodb", **{name: value for name, value in options.items() if value})
    try:
        keyed = InventoryStore(args.table, client=client).index_items_in_stock()
    except (ClientError, BotoCoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out(json.dumps({"table": args.table, "keyed": keyed}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
