"""SnapStart hooks for the functions that answer HTTP (template.yaml: the SnapStart parameter).

With SnapStart, Lambda runs a published version's init once, snapshots the memory, and starts
every new execution environment from that snapshot. So the more of the first invocation's work
is done before the snapshot, the less a restored environment pays; and whatever must differ
between environments has to be refreshed after each restore. What this process holds, one by one:

- boto3 clients: created *before* the snapshot (`prepare`): creating one is most of what a
  first DynamoDB call costs (service model, endpoint rules). Safe to snapshot: no request is made,
  so no connection is open; SnapStart gives functions refreshable container credentials, not
  fixed keys; and a connection that would go stale is retried by botocore anyway. Nothing to do
  after restore.
- The cached Return Helper secret: *not* read before the snapshot. A secret should not sit in a
  snapshot that may be restored for days, and Powertools' parameter cache expires by wall clock
  (`max_age`), so a restored copy would be read again anyway. Only the parameters utility is
  imported ahead. Nothing to do after restore.
- Random state: `random` is seeded once at import, so every environment restored from one
  snapshot would draw the same numbers: the retry jitter (retry_policy) would line up the retries
  it is meant to spread. Reseeded from the OS after each restore (`refresh`).
- uuid4 (resend request ids) reads os.urandom on every call: unique after a restore as it is.
- Powertools' cold-start flag (Logger, Metrics, Tracer) flips on the first *invocation*, and no
  invocation happens before the snapshot, so the first invocation after each restore reports
  cold_start=true, which is what a restore is. Nothing to do.

`snapshot_restore_py` is provided by Lambda's Python runtime; anywhere else (tests, the local
stack, the benchmark) it is absent and the hooks are simply not registered: no snapshot is taken.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from rh_common.adapters.dynamodb import base


def prepare() -> None:
    """Init work moved ahead of the snapshot (also timed by bench/cold_start.py)."""
    base.client()
    from aws_lambda_powertools.utilities import parameters  # noqa: F401  (the secret's first read imports it)


def refresh() -> None:
    random.seed()


def register(before_snapshot: Callable[[], None] | None = None) -> bool:
    """Registers the hooks (plus a function's own before-snapshot work); False outside Lambda."""
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        return False
    register_before_snapshot(prepare)
    if before_snapshot is not None:
        register_before_snapshot(before_snapshot)
    register_after_restore(refresh)
    return True
