"""One helper for the payloads in events/ (kept there so people can send them with local.sign).

Signature checks need the exact bytes of a file: use ``load_event_bytes`` for those, never
``json.dumps(load_event(...))``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
# The AWS envelopes our functions receive; every other file is a Return Helper webhook payload.
ENVELOPE_PREFIXES = ("apigw_", "sqs_", "eventbridge_", "dynamodb_")


def webhook_payload_names() -> list[str]:
    """Every Return Helper webhook payload in events/ (file stems, sorted): one per documented event type."""
    return sorted(path.stem for path in EVENTS_DIR.glob("*.json") if not path.name.startswith(ENVELOPE_PREFIXES))


def _path(name: str) -> Path:
    file_name = name if name.endswith(".json") else f"{name}.json"
    path = (EVENTS_DIR / file_name).resolve()
    if path.parent != EVENTS_DIR or not path.is_file():
        raise FileNotFoundError(f"no event {name!r} in {EVENTS_DIR}")
    return path


def load_event_bytes(name: str) -> bytes:
    """The file's bytes as stored: ``load_event_bytes("newInventoryCreated")``."""
    return _path(name).read_bytes()


def load_event(name: str) -> dict[str, Any]:
    """The file parsed as a JSON object (with or without the ``.json`` suffix)."""
    return json.loads(load_event_bytes(name))
