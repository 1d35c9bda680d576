"""Retry: what a failed send does next. Retryable errors back off exponentially (initial,
doubling, capped) until `give_up_after` has passed since the notification was queued; a
non-retryable error fails it at once (retrying a wrong token only hammers the service)."""

from __future__ import annotations

from dataclasses import dataclass

from alerting.config import RetryConfig


@dataclass(frozen=True)
class RetryDecision:
    retry: bool
    due: float  # when to try again (retry only)


def backoff(attempts: int, config: RetryConfig) -> float:
    """Seconds to wait after the `attempts`-th failed attempt (1-based)."""
    return float(min(config.max, config.initial * (2 ** max(0, attempts - 1))))


def decide(
    retryable: bool, attempts: int, created: float, now: float, config: RetryConfig
) -> RetryDecision:
    if not retryable or now - created >= config.give_up_after:
        return RetryDecision(False, now)
    return RetryDecision(True, now + backoff(attempts, config))
