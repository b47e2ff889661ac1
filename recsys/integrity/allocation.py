"""Exact integer allocation: split a whole number of units by weights so the parts sum to it.

Metering and payouts work in integer micro-units (millionths) so every total reconciles
exactly; this module is the one place where weights become integers.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import TypeVar

MICRO = 1_000_000

K = TypeVar("K", bound=Hashable)


def allocate(total: int, weights: Mapping[K, float | int | Fraction]) -> dict[K, int]:
    """Split ``total`` units by ``weights`` with the largest-remainder method.

    The parts are non-negative integers summing to exactly ``total``. Leftover units go to the
    largest fractional remainders, ties broken by key, so the result is deterministic.

    Args:
        total: units to split (≥ 0).
        weights: non-negative weight per key; at least one positive. Keys must sort (ties
            are broken by key): strings, or tuples of strings.

    Returns:
        Units per key (every key of ``weights`` appears).

    Raises:
        ValueError: when ``total`` is negative or no weight is positive.

    Example:
        >>> allocate(10, {"a": 1, "b": 1, "c": 1})
        {'a': 4, 'b': 3, 'c': 3}
    """
    if total < 0:
        raise ValueError(f"cannot allocate a negative total ({total})")
    if all(type(w) is int for w in weights.values()):
        return _allocate_ints(total, weights)  # type: ignore[arg-type]
    # Floats go through their shortest repr so 0.1 means one tenth, not its binary neighbour.
    exact = {
        k: Fraction(str(w)) if isinstance(w, float) else Fraction(w) for k, w in weights.items()
    }
    if any(w < 0 for w in exact.values()):
        raise ValueError("allocation weights must be non-negative")
    weight_sum = sum(exact.values(), Fraction(0))
    if weight_sum <= 0:
        raise ValueError("allocation needs at least one positive weight")
    quotas = {k: total * w / weight_sum for k, w in exact.items()}
    parts = {k: int(q) for k, q in quotas.items()}  # floor: quotas are non-negative
    left = total - sum(parts.values())
    by_remainder = sorted(quotas, key=lambda k: (-(quotas[k] - parts[k]), k))
    for key in by_remainder[:left]:
        parts[key] += 1
    return parts


def _allocate_ints(total: int, weights: Mapping[K, int]) -> dict[K, int]:
    """:func:`allocate` for integer weights in integer arithmetic (the same result, without
    a Fraction per key: metering allocates per listener, thousands of times per report)."""
    if any(w < 0 for w in weights.values()):
        raise ValueError("allocation weights must be non-negative")
    weight_sum = sum(weights.values())
    if weight_sum <= 0:
        raise ValueError("allocation needs at least one positive weight")
    parts: dict[K, int] = {}
    remainders: dict[K, int] = {}
    for key, weight in weights.items():
        parts[key], remainders[key] = divmod(total * weight, weight_sum)
    left = total - sum(parts.values())
    if left:
        by_remainder = sorted(remainders, key=lambda k: (-remainders[k], k))
        for key in by_remainder[:left]:
            parts[key] += 1
    return parts


def micro_to_decimal(micro: int) -> Decimal:
    """Integer micro-units as an exact decimal (``1_500_000`` → ``Decimal('1.500000')``)."""
    return Decimal(micro).scaleb(-6)


def decimal_to_micro(amount: Decimal | str | int) -> int:
    """A decimal amount as integer micro-units; more than six decimal places is an error.

    Raises:
        ValueError: when the amount is negative or finer than a millionth.
    """
    value = Decimal(str(amount)) * MICRO
    if value != value.to_integral_value() or value < 0:
        raise ValueError(f"amount {amount} must be non-negative with at most 6 decimal places")
    return int(value)


__all__ = ["MICRO", "allocate", "decimal_to_micro", "micro_to_decimal"]
