"""The item caps of the request bodies (contract section 7), from the environment template.yaml sets.

Here, beside the request models that check them; runtime.wiring reads the resend cap for a batch's
groups too, so this module is standard library only (wiring imports it without pydantic). Read on
every validation, not at import, so a changed environment is seen.
"""

from __future__ import annotations

import os


def _integer(name: str) -> int:
    """No default: template.yaml's is the one (rh_common.runtime.settings says why)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        raise RuntimeError(f"environment variable {name} is not set (template.yaml sets it)")
    return int(raw)


def resend_max_items() -> int:
    """RESEND_MAX_ITEMS: the items of one resend (POST /resends, quote, a batch's group)."""
    return _integer("RESEND_MAX_ITEMS")


def batch_max_items() -> int:
    """BATCH_MAX_ITEMS: the items of one plan or batch."""
    return _integer("BATCH_MAX_ITEMS")
