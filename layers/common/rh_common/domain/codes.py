"""Return Helper codes and ids arrive as names or numbers, strings or integers.

Normalised once, at the edge: handling codes and statuses to their short names,
ids to int.
"""

from __future__ import annotations

HANDLING_CODES: tuple[str, ...] = ("tbc", "rtn", "dis", "rsd", "ohd", "oth")
HANDLING_STATUSES: tuple[str, ...] = ("pending", "inProgress", "completed")

# Handling codes that, once completed, mean the item physically left the warehouse.
LEAVES_STOCK_WHEN_COMPLETED = frozenset({"rsd", "dis", "rtn"})


def _by_name_or_index(value: object, names: tuple[str, ...], what: str) -> str:
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a name or a number, not {value!r}")
    if isinstance(value, int):
        index = value
    elif isinstance(value, str) and value.strip().isdigit():
        index = int(value.strip())
    elif isinstance(value, str):
        lowered = value.strip().lower()
        for name in names:
            if name.lower() == lowered:
                return name
        raise ValueError(f"unknown {what} {value!r}")
    else:
        raise ValueError(f"{what} must be a name or a number, not {value!r}")
    if 0 <= index < len(names):
        return names[index]
    raise ValueError(f"unknown {what} {value!r}")


def handling_code(value: object) -> str:
    """`"ohd"`, `4` and `"4"` all mean `"ohd"`."""
    return _by_name_or_index(value, HANDLING_CODES, "handlingCode")


def handling_status(value: object) -> str:
    """`"pending"`, `0` and `"0"` all mean `"pending"`."""
    return _by_name_or_index(value, HANDLING_STATUSES, "handlingStatusCode")


def parse_id(value: object) -> int:
    """Ids are int64, sent as JSON numbers or strings."""
    if isinstance(value, bool):
        raise ValueError(f"id must be an integer, not {value!r}")
    if isinstance(value, int):
        result = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        result = int(value.strip())
    else:
        raise ValueError(f"id must be an integer, not {value!r}")
    if not 0 < result < 2**63:
        raise ValueError(f"id out of range: {value!r}")
    return result
