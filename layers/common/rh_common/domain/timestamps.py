"""Return Helper date-times, one grammar for webhooks, API answers and the signature's header.

``2024-01-12T09:23:08.4863561Z``: 0-7 fraction digits; ``T`` or a space (``…Str`` fields);
``Z``, ``+hh:mm`` / ``-hh:mm`` or no offset (= UTC), as returnhelper-api.md section 7 says.
The webhook's signed ``timestamp`` header is ISO 8601 proper, so the signature asks for ``T``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

UNSET_SENTINEL = "0001-01-01"  # upstream's "no date" value (`"0001-01-01T00:00:00"`)

_ISO = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})(?P<separator>[T ])(?P<time>\d{2}:\d{2}:\d{2})"
    r"(?:\.(?P<fraction>\d{1,7}))?(?P<zone>Z|[+-]\d{2}:\d{2})?",
    re.ASCII,
)


def _match(value: str, space_separator: bool = True) -> re.Match[str]:
    match = _ISO.fullmatch(value) if isinstance(value, str) else None
    if match is None or (match["separator"] == " " and not space_separator):
        raise ValueError(f"not an ISO 8601 date-time: {value!r}")
    return match


def parse(value: str, space_separator: bool = True) -> datetime:
    """Parse to an aware UTC datetime (ValueError if not one); the fraction is truncated to microseconds."""
    match = _match(value, space_separator)
    # Python keeps microseconds: a 7th digit (100 ns) is dropped here, kept by `sortable`.
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    try:
        parsed = datetime.fromisoformat(f"{match['date']}T{match['time']}.{fraction}")
        zone = match["zone"]
        if zone and zone != "Z":
            hours, minutes = int(zone[1:3]), int(zone[4:6])
            if hours > 23 or minutes > 59:
                raise ValueError(zone)
            offset = timedelta(hours=hours, minutes=minutes)
            parsed = parsed - offset if zone[0] == "+" else parsed + offset
    except (ValueError, OverflowError):  # OverflowError: an offset past year 1 or 9999
        raise ValueError(f"not an ISO 8601 date-time: {value!r}") from None
    return parsed.replace(tzinfo=UTC)


def sortable(value: str) -> str:
    """A fixed-width UTC form whose string order is time order (upstream's own, 7 fraction digits kept)."""
    match = _match(value)
    return upstream_iso(parse(value), ticks=int((match["fraction"] or "").ljust(7, "0")[:7]))


def upstream_iso(moment: datetime, ticks: int | None = None) -> str:
    """Return Helper's form (its eventTimes, the signed ``timestamp`` header): UTC, 7 fraction digits, ``Z``
    (naive means UTC). ``ticks``: the fraction in 100 ns units (0 to 9,999,999), for a caller that has more
    than Python's microseconds; without it the 7th digit is 0."""
    utc = _utc(moment)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond * 10 if ticks is None else ticks:07d}Z"


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
