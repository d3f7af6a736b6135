"""Imported first by every handler module: no cyclic garbage collection while a cold start imports.

Importing a handler's dependencies (Powertools, the X-Ray SDK, botocore's service model, pydantic)
creates hundreds of thousands of long-lived objects, and the collector runs again and again during
that while finding next to nothing to free: measured on the built functions, 9-13% of their init's
CPU time (docs/benchmarks.md, cold start). `finished()`, the last line of the handler module,
freezes what the init made and turns collection back on. Standard library only, so that importing
it costs nothing.
"""

from __future__ import annotations

import gc

gc.disable()


def finished() -> None:
    """The module's init is done: collect as usual from here on (also if it was imported again).

    gc.freeze() first: the objects the init made live as long as the process, and re-enabling the
    collector with all of them in its generations makes its first collections go over every one of
    them, which gave back most of what disabling it saved (measured on a boto3 client made right
    after: 193 ms of CPU against 176 with collection off throughout, 179 frozen first). Frozen, they
    are left out of every later collection too, warm invocations included. What the init left
    unreachable in a cycle is never collected: a one-off, bounded by the init.
    """
    gc.freeze()
    gc.enable()
