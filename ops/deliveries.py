"""The webhook delivery log from an operator's shell: search, replay one, replay in bulk.

    python -m ops.deliveries --stack .local/stack.json list --status applyFailed [--limit 50] [--json]
    python -m ops.deliveries --stack .local/stack.json list --inventory-id 20251 [--since 2026-12-01]
    python -m ops.deliveries --cfn-stack NAME replay <deliveryId>
    python -m ops.deliveries --cfn-stack NAME replay --status applyFailed --since 2026-12-01 [--until ...]
        [--category newInventoryCreated] [--no-wait]
    python -m ops.deliveries --cfn-stack NAME replay-status <replayId>

Calls the operator routes GET /deliveries, POST /deliveries/{deliveryId}/replay, POST /deliveries/replay
and GET /deliveries/replay/{replayId}, signed with SigV4 (ops/operator_api.py says which API and whose
credentials): a replay runs the stored bytes through the function's own wiring, exactly as the webhook
would apply them (the tracker with its inventory store, so a replayed FAILED or CANCELED report gives
the items their handling back). A bulk replay runs in the background (paced, never faster than the
webhook route admits); `replay --status` follows it until DONE unless --no-wait. list never prints a
body (it holds addresses): the route does not return one.

Exit codes: 0 done; 1 the delivery could not be applied now (503: try again); 2 something to fix
(no API or credentials, 403 not allowed, 404 unknown delivery or replay, 422 bad input).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from urllib.parse import quote

from ops import operator_api
from ops.operator_api import OperatorError
from rh_common.domain.deliveries import DeliveryStatus
from rh_common.domain.delivery_search import REPLAYABLE

PAGE_LIMIT = 100  # the route's largest page
POLL_SECONDS = 2.0  # between progress reads of a bulk replay

Out = Callable[[str], None]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ops.deliveries", description=__doc__.split("\n\n")[0])
    operator_api.add_arguments(p)
    commands = p.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="deliveries by state, category, window, item or resend, newest first")
    listing.add_argument("--status", choices=[s.value for s in DeliveryStatus])
    listing.add_argument("--category", help="only this event category")
    listing.add_argument("--since", help="arrived here at or after (a date or an ISO 8601 time)")
    listing.add_argument("--until", help="arrived here at or before")
    listing.add_argument("--inventory-id", type=int, help="about this item")
    listing.add_argument("--resend-id", type=int, help="about this resend")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (pages of 100 are followed)")
    listing.add_argument("--json", action="store_true", help="one JSON document instead of a table")
    replay = commands.add_parser("replay", help="apply a kept delivery again, or every one of a state and window")
    replay.add_argument("delivery_id", nargs="?", help="one delivery (else --status and --since: in bulk)")
    replay.add_argument("--status", choices=REPLAYABLE, help="bulk: the state of the deliveries to replay")
    replay.add_argument("--category", help="bulk: only this event category")
    replay.add_argument("--since", help="bulk: arrived here at or after (a date or an ISO 8601 time)")
    replay.add_argument("--until", help="bulk: arrived here at or before (default: now)")
    replay.add_argument("--no-wait", action="store_true", help="bulk: print the started replay, do not follow it")
    progress = commands.add_parser("replay-status", help="a bulk replay's progress")
    progress.add_argument("replay_id")
    return p


def list_deliveries(api: operator_api.OperatorApi, criteria: dict, limit: int) -> list[dict]:
    found: list[dict] = []
    token = None
    while len(found) < limit:
        query = {**criteria, "limit": min(PAGE_LIMIT, limit - len(found)), "nextToken": token}
        code, page = api.call("GET", "/deliveries", query=query)
        if code != 200:
            raise OperatorError(operator_api.refused("GET /deliveries", code, page))
        found.extend(page["items"])
        token = page.get("nextToken")
        if not token:
            break
    return found


def replay_progress(api: operator_api.OperatorApi, replay_id: str) -> dict:
    code, answer = api.call("GET", f"/deliveries/replay/{quote(replay_id, safe='')}")
    if code != 200:
        raise OperatorError(operator_api.refused(f"replay {replay_id}", code, answer))
    return answer


def replay_in_bulk(
    api: operator_api.OperatorApi, args: argparse.Namespace, out: Out, sleep: Callable[[float], None] = time.sleep
) -> int:
    body = {"status": args.status, "category": args.category, "since": args.since, "until": args.until}
    code, started = api.call("POST", "/deliveries/replay", body={k: v for k, v in body.items() if v is not None})
    if code != 202:
        raise OperatorError(operator_api.refused("replay", code, started))
    progress = started
    while not args.no_wait and progress["status"] != "DONE":
        sleep(POLL_SECONDS)
        progress = replay_progress(api, started["replayId"])
    out(json.dumps(progress))
    return 0


def main(argv: list[str] | None = None, out: Out = print, sleep: Callable[[float], None] = time.sleep) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "replay" and (args.delivery_id is None) == (args.status is None):
            raise OperatorError("replay takes a delivery id, or --status and --since (a bulk replay)")
        if args.command == "replay" and args.status is not None and args.since is None:
            raise OperatorError("a bulk replay needs --since")
        api = operator_api.connect(args)
        if args.command == "list":
            criteria = {
                "status": args.status,
                "category": args.category,
                "since": args.since,
                "until": args.until,
                "inventoryId": args.inventory_id,
                "resendId": args.resend_id,
            }
            criteria = {name: value for name, value in criteria.items() if value is not None}
            views = list_deliveries(api, criteria, max(args.limit, 1))
            if args.json:
                out(json.dumps({**criteria, "items": views}, indent=2))
            else:
                for shown in views:
                    out(
                        f"{shown['receivedAt']}  {shown['deliveryId']}  {shown['category'] or '-'}/"
                        f"{shown['action'] or '-'}  {shown['eventTime'] or '-'}  {shown['reason'] or ''}".rstrip()
                    )
                out(f"{len(views)} {args.status or 'deliveries'}")
            return 0
        if args.command == "replay-status":
            out(json.dumps(replay_progress(api, args.replay_id)))
            return 0
        if args.status is not None:
            return replay_in_bulk(api, args, out, sleep)
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
