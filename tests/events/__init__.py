"""Loader for the canonical payloads in the repository's events/ directory."""

from tests.events.loader import EVENTS_DIR, load_event, load_event_bytes

__all__ = ["EVENTS_DIR", "load_event", "load_event_bytes"]
