"""The webhook delivery log from an operator's shell: list by state, replay one.

    python -m ops.deliveries --stack .local/stack.json list --status applyFailed [--limit 50] [--json]
    python -m ops.deliveries --cfn-stack NAME replay <deliveryId>

Calls the operator routes GET /deliveries and POST /deliveries/{deliveryId}/replay, signed with
SigV4 (ops/operator_api.py says which API and whose credentials): a replay runs the stored bytes
through the merchant API function's own wiring, exactly as the webhook would apply them (the
tracker with its inventory store, so a replayed FAILED or CANCELED report gives the items their
handling back). list never prints a body (it holds addresses): the route does not return one.

Exit codes: 0 done; 1 the delivery could not be applied now (503: try again); 2 something to fix
(no API or credentials, 403 not allowed, 404 unknown delivery, 422 bad input).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from urllib.parse import quote

from ops import operator_api
from ops.operator_api import OperatorError
from rh_common.domain.deliveries import DeliveryStatus

PAGE_LIMIT = 100  # the route's largest page

Out = Callable[[str], None]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ops.deliveries", description=__doc__.split("\n\n")[0])
    operator_api.add_arguments(p)
    commands = p.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="deliveries in one state, newest first")
    listing.add_argument("--status", required=True, choices=[s.value for s in DeliveryStatus])
    listing.add_argument("--limit", type=int, default=50, help="at most this many (pages of 100 are followed)")
    listing.add_argument("--json", action="store_true", help="one JSON document instead of a table")
    replay = commands.add_parser("replay", help="apply a kept delivery again")
    replay.add_argument("delivery_id")
    return p


def list_deliveries(api: operator_api.OperatorApi, status: str, limit: int) -> list[dict]:
    found: list[dict] = []
    token = None
    while len(found) < limit:
        query = {"status": status, "limit": min(PAGE_LIMIT, limit - len(found)), "nextToken": token}
        code, page = api.call("GET", "/deliveries", query=query)
        if code != 200:
            raise OperatorError(operator_api.refused("GET /deliveries", code, page))
        found.extend(page["items"])
        token = page.get("nextToken")
        if not token:
            break
    return found


def main(argv: list[str] | None = None, out: Out = print) -> int:
    args = parser().parse_args(argv)
    try:
        api = operator_api.connect(args)
        if args.command == "list":
            views = list_deliveries(api, args.status, max(args.limit, 1))
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
        code, answer = api.call("POST", f"/deliveries/{quote(args.delivery_id, safe=':')}/replay")
        if code == 200:
            out(json.dumps(answer))
            return 0
        if code == 503:
            out(json.dumps({"deliveryId": args.delivery_id, "outcome": None, "error": answer.get("message")}))
            return 1
        raise OperatorError(operator_api.refused(f"replay {args.delivery_id}", code, answer))
    except OperatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
