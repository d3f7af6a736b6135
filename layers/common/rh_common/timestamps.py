"""Return Helper date-times: 0-7 fraction digits, `Z`, an offset or none (= UTC)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_ISO = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}:\d{2})"
    r"(?:\.(?P<fraction>\d{1,9}))?(?P<zone>Z|[+-]\d{2}:?\d{2})?$"
)


def parse(value: str) -> datetime:
    """Parse to an aware UTC datetime; the fraction is truncated to microseconds."""
    match = _ISO.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"not an ISO 8601 date-time: {value!r}")
    fraction = (match["fraction"] or "").ljust(6, "0")[:6]
    parsed = datetime.fromisoformat(f"{match['date']}T{match['time']}.{fraction}")
    zone = match["zone"]
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        parsed -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return parsed.replace(tzinfo=UTC)


def sortable(value: str) -> str:
    """A fixed-width UTC form whose string order is time order (7 fraction digits, as upstream)."""
    match = _ISO.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"not an ISO 8601 date-time: {value!r}")
    digits7 = (match["fraction"] or "").ljust(7, "0")[:7]
    base = parse(value).replace(microsecond=0)
    return base.strftime("%Y-%m-%dT%H:%M:%S") + f".{digits7}Z"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)  # naive = UTC


def iso(moment: datetime) -> str:
    """Our stored form of a UTC moment: microseconds and `Z` (string order is time order)."""
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_seconds(moment: datetime) -> str:
    """Whole seconds and `Z`: the form of the date-time filters we send upstream and show back."""
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_iso() -> str:
    return iso(datetime.now(UTC))
