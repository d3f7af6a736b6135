"""When to try a transiently failed upstream call again.

Exponential backoff from the base delay with full jitter (AWS Architecture
Blog, "Exponential Backoff And Jitter"), never sooner than Retry-After, capped
at SQS's 15-minute maximum message delay because SQS carries the wait.
"""

from __future__ import annotations

import random
from collections.abc import Callable

SQS_MAX_DELAY_SECONDS = 900


def next_delay_seconds(
    attempts_made: int,
    base_delay_seconds: float,
    retry_after_seconds: float | None = None,
    uniform: Callable[[float, float], float] = random.uniform,
) -> int:
    """Delay before attempt `attempts_made + 1`; `attempts_made` >= 1."""
    ceiling = min(SQS_MAX_DELAY_SECONDS, base_delay_seconds * 2 ** max(0, attempts_made - 1))
    delay = uniform(0, ceiling)
    if retry_after_seconds is not None:
        delay = max(delay, retry_after_seconds)
    return int(min(SQS_MAX_DELAY_SECONDS, max(0, round(delay))))


def should_give_up(attempts_made: int, max_attempts: int) -> bool:
    return attempts_made >= max_attempts
