"""How deep a JSON text may nest (contract section 10, "Hostile input"), checked without recursion.

json.loads recurses once per level: 50,000 levels raise RecursionError (not a ValueError), which a
handler that catches ValueError lets through as a crash. So the depth is counted before anything
parses the text. No body this system takes nests past a few levels; 64 is generous.
Pure and dependency-free: the merchant API, the resend worker and the webhook can all use it.
"""

from __future__ import annotations

import re

MAX_DEPTH = 64

# A JSON string (its brackets are text); an unterminated one is left in, which only makes the count larger.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def too_deep(text: str | bytes, max_depth: int = MAX_DEPTH) -> bool:
    """True when the arrays and objects of `text` nest deeper than `max_depth` (a text that is not JSON
    may answer either way; parsing it then says what is wrong)."""
    opened = text.count(b"[") + text.count(b"{") if isinstance(text, bytes) else text.count("[") + text.count("{")
    if opened <= max_depth:
        return False  # every body of ordinary size: two passes in C, no scan
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")  # brackets and quotes are ASCII: the count is the same
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub("", text)):
        if bracket.group() in "[{":
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth -= 1
    return False
