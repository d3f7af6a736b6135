"""Imported first by every handler module: no cyclic garbage collection while a cold start imports.

Importing a handler's dependencies (Powertools, the X-Ray SDK, botocore's service model, pydantic)
creates hundreds of thousands of long-lived objects, and the collector runs again and again during
that while finding next to nothing to free: measured on the built functions, 9-13% of their init's
CPU time (docs/benchmarks.md, cold start). `finished()`, the last line of the handler module, turns
it back on. Standard library only, so that importing it costs nothing.
"""

from __future__ import annotations

import gc

gc.disable()


def finished() -> None:
    """The module's init is done: collect as usual from here on (also if it was imported again)."""
    gc.enable()
