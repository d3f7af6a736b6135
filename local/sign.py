"""Sign a webhook payload file exactly as Return Helper would, and optionally send it.

    python -m local.sign events/newInventoryCreated.json            # print the signed headers
    python -m local.sign newInventoryCreated --post --fresh-event-time

The file's bytes are signed and sent as they are (never re-serialised). It is posted to
``webhookUrl`` and signed for ``webhookSignedUrl`` (they differ when ``WEBHOOK_PUBLIC_URL`` names a
tunnel in front of the stack) from the running stack's ``stack.json`` (``--stack``, else
``$LOCAL_STATE_DIR/stack.json``, else ``.local/stack.json``), or posted to and signed for ``--url``;
the key is ``$RH_SIGNING_KEY``, else the local dev key. A signature is only good for
``WEBHOOK_MAX_SKEW_SECONDS`` (900 s by default): sign again rather than replaying old output.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import requests

from local.settings import DEV_RH_SIGNING_KEY, PROJECT_ROOT, stack_file
from rh_common.domain import timestamps
from rh_common.domain.signature import signed_headers

EVENTS_DIR = PROJECT_ROOT / "events"
_EVENT_TIME = re.compile(rb'("eventTime"\s*:\s*)"[^"\\]*"')


def post_signed(
    url: str,
    key: str,
    raw_body: bytes,
    timeout: float = 10,
    *,
    signed_url: str | None = None,
    timestamp: str | None = None,
) -> requests.Response:
    """POST ``raw_body`` to ``url`` with Return Helper's headers (signed for ``signed_url`` or ``url``)."""
    headers = signed_headers(key, signed_url or url, raw_body, timestamp)
    return requests.post(url, data=raw_body, headers=headers, timeout=timeout)


def refresh_event_time(raw_body: bytes, event_time: str) -> bytes:
    """The same bytes with every ``"eventTime"`` value replaced; nothing else is touched."""
    replacement = event_time.encode("ascii")
    rewritten, count = _EVENT_TIME.subn(lambda match: match.group(1) + b'"' + replacement + b'"', raw_body)
    if count == 0:
        raise ValueError('no "eventTime" field to rewrite')
    return rewritten


def _webhook_urls_from(path: Path) -> tuple[str, str]:
    """(webhookUrl, webhookSignedUrl): where the stack receives deliveries, and the URL they are signed for."""
    try:
        stack = json.loads(path.read_text(encoding="utf-8"))
        url = stack["webhookUrl"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(f"{path} has no webhookUrl ({exc!r}): is the stack running? (or pass --url)") from None
    return url, stack.get("webhookSignedUrl") or url


def _event_file(name: str) -> Path:
    for candidate in (Path(name), EVENTS_DIR / name, EVENTS_DIR / f"{name}.json"):
        if candidate.is_file():
            return candidate
    raise SystemExit(f"no such event file: {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.sign", description=__doc__.splitlines()[0])
    parser.add_argument("event", help="a JSON file, or the name of one in events/ (e.g. newInventoryCreated)")
    parser.add_argument("--url", help="where to send it, and the URL it is signed for [stack.json's]")
    parser.add_argument("--stack", type=Path, help="the running stack's stack.json [$LOCAL_STATE_DIR/stack.json]")
    parser.add_argument("--post", action="store_true", help="send it and print the response")
    parser.add_argument("--fresh-event-time", action="store_true", help="rewrite eventTime to now before signing")
    args = parser.parse_args(argv)
    source = _event_file(args.event)
    raw_body = source.read_bytes()
    url, signed_url = (args.url, args.url) if args.url else _webhook_urls_from(args.stack or stack_file())
    timestamp = timestamps.upstream_iso(datetime.now(UTC))
    if args.fresh_event_time:
        try:
            raw_body = refresh_event_time(raw_body, timestamp)
        except ValueError as exc:
            raise SystemExit(f"{source}: {exc}") from None
    headers = signed_headers(os.environ.get("RH_SIGNING_KEY") or DEV_RH_SIGNING_KEY, signed_url, raw_body, timestamp)
    if not args.post:
        print("\n".join(f"{name}: {value}" for name, value in headers.items()))
        return 0
    try:
        response = requests.post(url, data=raw_body, headers=headers, timeout=10)
    except requests.RequestException as exc:
        print(f"POST {url} failed: {exc}", file=sys.stderr)
        return 2
    print(f"{response.status_code} {response.reason}")
    print(response.text)
    return 0 if response.ok else 1


if __name__ == "__main__":
    sys.exit(main())
