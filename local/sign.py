"""Sign a webhook payload file exactly as Return Helper would, and optionally send it.

    python -m local.sign events/newInventoryCreated.json            # print headers + a curl command
    python -m local.sign events/newInventoryCreated.json --post     # send it to the local stack
    python -m local.sign newInventoryCreated --post --fresh-event-time

The file's bytes are signed and sent as they are (never re-serialised). Defaults: it is posted to
``webhookUrl`` and signed for ``webhookSignedUrl`` (they differ when ``WEBHOOK_PUBLIC_URL`` names a
tunnel in front of the stack) from the running stack's ``stack.json`` (``--stack``, else
``$LOCAL_STATE_DIR/stack.json``, else ``.local/stack.json``); the key is ``$RH_SIGNING_KEY``, else
the local dev key from ``local/settings.py``. A signature is only good for
``WEBHOOK_MAX_SKEW_SECONDS`` (900 s by default): sign again rather than replaying old output.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

import requests

from local.settings import DEV_RH_SIGNING_KEY, PROJECT_ROOT, stack_file, state_dir
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
        raise SystemExit(
            f"{path} has no webhookUrl ({exc!r}): start the stack with `make run`, or pass --url"
        ) from None
    return url, stack.get("webhookSignedUrl") or url


def _event_file(name: str) -> Path:
    path = Path(name)
    if path.is_file():
        return path
    for candidate in (EVENTS_DIR / name, EVENTS_DIR / f"{name}.json"):
        if candidate.is_file():
            return candidate
    raise SystemExit(f"no such event file: {name}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local.sign",
        description="Sign a webhook payload file like Return Helper does; print the headers or --post it.",
    )
    parser.add_argument("event", help="a JSON file, or the name of one in events/ (e.g. newInventoryCreated)")
    parser.add_argument("--url", help="where to send it [webhookUrl from stack.json]")
    parser.add_argument(
        "--signed-url",
        help="the registered URL that goes into the signature [webhookSignedUrl from stack.json; with --url: --url]",
    )
    parser.add_argument("--key", help="base64 signing key [$RH_SIGNING_KEY, else the local dev key]")
    parser.add_argument("--post", action="store_true", help="send it and print the response")
    parser.add_argument(
        "--fresh-event-time",
        action="store_true",
        help="rewrite eventTime to now (in the file's bytes, nothing else changes) before signing",
    )
    parser.add_argument(
        "--stack", type=Path, help="stack.json of the running local stack [$LOCAL_STATE_DIR/stack.json]"
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the response [10]")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    source = _event_file(args.event)
    raw_body = source.read_bytes()
    if args.url:
        url, signed_url = args.url, args.signed_url or args.url
    else:
        url, signed_url = _webhook_urls_from(args.stack or stack_file())
        signed_url = args.signed_url or signed_url
    key = args.key or os.environ.get("RH_SIGNING_KEY") or DEV_RH_SIGNING_KEY

    timestamp = timestamps.upstream_iso(datetime.now(UTC))
    body_file = source
    if args.fresh_event_time:
        try:
            raw_body = refresh_event_time(raw_body, timestamp)
        except ValueError as exc:
            raise SystemExit(f"{source}: {exc}") from None
        if not args.post:  # curl needs the rewritten bytes in a file
            body_file = state_dir() / "signed" / source.name
            body_file.parent.mkdir(parents=True, exist_ok=True)
            body_file.write_bytes(raw_body)

    try:
        headers = signed_headers(key, signed_url, raw_body, timestamp)
    except ValueError:
        raise SystemExit("the signing key is not valid base64") from None

    if args.post:
        try:
            response = requests.post(url, data=raw_body, headers=headers, timeout=args.timeout)
        except requests.RequestException as exc:
            print(f"POST {url} failed: {exc}", file=sys.stderr)
            return 2
        print(f"{response.status_code} {response.reason}")
        print(response.text)
        return 0 if response.ok else 1

    signed_for = "" if signed_url == url else f", signed for {signed_url}"
    print(f"# POST {url}  ({len(raw_body)} bytes of {body_file}{signed_for})")
    for name, value in headers.items():
        print(f"{name}: {value}")
    print()
    header_args = " ".join(f"-H {shlex.quote(f'{name}: {value}')}" for name, value in headers.items())
    print(f"curl -sS -X POST {shlex.quote(url)} {header_args} --data-binary @{shlex.quote(str(body_file))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
