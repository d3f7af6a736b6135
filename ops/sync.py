"""Inventory syncs from an operator's shell: start one, follow it.

    python -m ops.sync --stack .local/stack.json start --since 2025-01-01 [--until 2025-02-01]
    python -m ops.sync --cfn-stack NAME status <syncId>

Calls the operator routes POST /sync/inventories and GET /sync/inventories/{syncId}, signed with
SigV4 (ops/operator_api.py says which API and whose credentials). The sync itself runs in the
background (contract section 8); `status` prints its progress as the route answers it.

Exit codes: 0 done; 2 something to fix (no API or credentials, 403 not allowed, 404 unknown
sync, 422 a bad window).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from urllib.parse import quote

from ops import operator_api
from ops.operator_api import OperatorError

Out = Callable[[str], None]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ops.sync", description=__doc__.split("\n\n")[0])
    operator_api.add_arguments(p)
    commands = p.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="read Return Helper's inventories of a window (in the background)")
    start.add_argument("--since", required=True, help="the window's start (a date or an ISO 8601 time)")
    start.add_argument("--until", help="the window's end (default: now)")
    status = commands.add_parser("status", help="a sync's progress")
    status.add_argument("sync_id")
    return p


def main(argv: list[str] | None = None, out: Out = print) -> int:
    args = parser().parse_args(argv)
    try:
        api = operator_api.connect(args)
        if args.command == "start":
            window = {"since": args.since, **({"until": args.until} if args.until else {})}
            code, answer = api.call("POST", "/sync/inventories", body=window)
            what, expected = "start", 202
        else:
            code, answer = api.call("GET", f"/sync/inventories/{quote(args.sync_id, safe='')}")
            what, expected = f"sync {args.sync_id}", 200
        if code != expected:
            raise OperatorError(operator_api.refused(what, code, answer))
        out(json.dumps(answer, indent=2))
        return 0
    except OperatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
