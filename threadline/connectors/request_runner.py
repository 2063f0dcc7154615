"""The real RequestRunner: per-method rate budgets, retries with jittered backoff, counting.

Every API request of every connector passes through ``LiveRunner.call(method, fn)``:

1. the method's token bucket is asked for a token, sleeping until one is free, so a sync
   stays under the platform's published limits instead of learning them from 429s;
2. ``fn`` runs; a TransientError is retried after a jittered exponential backoff, or after
   the server's Retry-After when it gave one (a 429 says exactly how long to wait);
3. AuthError and PermanentError pass straight through: retrying will not help.

Sleep, clock and randomness are injectable so tests run without waiting.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from threadline.connectors.sync_base import TransientError

T = TypeVar("T")


@dataclass(frozen=True)
class Budget:
    """A token bucket: ``per_minute`` requests on average, up to ``burst`` at once."""

    per_minute: float
    burst: int = 1

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Budget:
        per_minute = float(value.get("per_minute", 0) or 60 * float(value.get("per_second", 0)))
        if per_minute <= 0:
            raise ValueError(f"a budget needs per_minute or per_second > 0, got {dict(value)}")
        return cls(per_minute=per_minute, burst=max(1, int(value.get("burst", 1))))


DEFAULT_BUDGET = Budget(per_minute=600, burst=10)
"""For methods no connector named: generous, but never an unbounded loop of requests."""


def merge_budgets(
    defaults: Mapping[str, Budget], overrides: Mapping[str, Any] | None
) -> dict[str, Budget]:
    """Connection options may override any method's budget: {"method": {"per_minute": 1}}.

    The key ``"*"`` sets one budget for every method, replacing the connector's defaults.
    """
    merged = {} if overrides and "*" in overrides else dict(defaults)
    for method, value in (overrides or {}).items():
        merged[method] = value if isinstance(value, Budget) else Budget.from_json(value)
    return merged


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_seconds: float = 1.0
    max_seconds: float = 120.0
    """Cap for computed backoff. A server's Retry-After is honoured even when longer."""


class _Bucket:
    def __init__(self, budget: Budget, now: float) -> None:
        self.rate = budget.per_minute / 60.0
        self.capacity = float(budget.burst)
        self.tokens = self.capacity
        self.stamp = now

    def wait_time(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1.0


@dataclass
class RunnerStats:
    requests: int = 0
    retries: int = 0
    waited_seconds: float = 0.0
    by_method: dict[str, int] = field(default_factory=dict)


class LiveRunner:
    """Budgets and retries for one connection's requests."""

    def __init__(
        self,
        budgets: Mapping[str, Budget] | None = None,
        policy: RetryPolicy | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        default_budget: Budget = DEFAULT_BUDGET,
    ) -> None:
        self.budgets = dict(budgets or {})
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.clock = clock
        self.rng = rng or random.Random()
        self.default_budget = default_budget
        self.stats = RunnerStats()
        self._buckets: dict[str, _Bucket] = {}

    @property
    def requests(self) -> int:
        return self.stats.requests

    def budget_for(self, method: str) -> Budget:
        return self.budgets.get(method) or self.budgets.get("*") or self.default_budget

    def seconds_for(self, method: str, requests: int) -> float:
        """Lower bound on the time ``requests`` more calls of ``method`` take: for ETAs."""
        budget = self.budget_for(method)
        return max(0.0, requests - budget.burst) * 60.0 / budget.per_minute

    def _acquire(self, method: str) -> None:
        bucket = self._buckets.get(method)
        if bucket is None:
            bucket = self._buckets[method] = _Bucket(self.budget_for(method), self.clock())
        while True:
            wait = bucket.wait_time(self.clock())
            if wait <= 0:
                bucket.take()
                return
            self.stats.waited_seconds += wait
            self.sleep(wait)
            # A fake clock that does not move must not spin forever: credit the wait.
            if self.clock() <= bucket.stamp:
                bucket.stamp -= wait

    def _backoff(self, state: RetryCallState) -> float:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, TransientError) and error.retry_after is not None:
            return max(0.0, float(error.retry_after))
        # Full jitter: spreads retries from many clients over the whole window.
        exponential = self.policy.base_seconds * 2 ** (state.attempt_number - 1)
        ceiling = min(self.policy.max_seconds, exponential)
        return self.rng.uniform(0, ceiling)

    def call(self, method: str, fn: Callable[[], T]) -> T:
        def attempt() -> T:
            self._acquire(method)
            self.stats.requests += 1
            self.stats.by_method[method] = self.stats.by_method.get(method, 0) + 1
            return fn()

        def on_retry(state: RetryCallState) -> None:
            self.stats.retries += 1
            if state.next_action is not None:
                self.stats.waited_seconds += state.next_action.sleep

        retrying = Retrying(
            stop=stop_after_attempt(self.policy.max_attempts),
            wait=self._backoff,
            retry=retry_if_exception_type(TransientError),
            sleep=self.sleep,
            before_sleep=on_retry,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except TransientError as exc:
            raise TransientError(
                f"{method}: gave up after {self.policy.max_attempts} attempts: {exc}. "
                "What was read before is saved; the next sync resumes from there.",
                exc.retry_after,
            ) from exc
