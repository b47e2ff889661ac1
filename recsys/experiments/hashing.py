"""GrowthBook-compatible bucketing: FNV-1a 32-bit hashes and the SDK's range arithmetic.

Every function here reproduces the GrowthBook Python SDK (``growthbook.core``) bit for bit, so
an experiment defined in our YAML can be mirrored in GrowthBook and both assign every listener
to the same variant. The tests use the SDK as an oracle.

The scheme, for a listener id ``u``:

1. **Layer (GrowthBook namespace).** ``n_layer = (fnv1a32(u + "__" + layer) % 1000) / 1000``
   (GrowthBook hashes namespaces with its *version 1* hash: value first, then seed). The
   listener is eligible for an experiment when ``range[0] <= n_layer < range[1]``. Experiments
   in one layer take disjoint ranges, so they are mutually exclusive.
2. **Variant (hash v2).** ``n = (fnv1a32(str(fnv1a32(salt + u))) % 10000) / 10000``.
3. **Ranges.** Variant ``i`` with normalised weight ``w_i`` owns
   ``[c_i, c_i + traffic * w_i)`` where ``c_i`` is the sum of the previous weights
   (``getBucketRanges``); the first range containing ``n`` wins (``chooseVariation``).
   A listener in none of them is not enrolled. The holdout takes the next
   ``holdout * w_i`` of each variant's gap, so the holdout is spread evenly across the hash
   space and never overlaps a variant.

Hashing is over UTF-16 code units for non-ASCII ids, exactly as the SDK (and its JS sibling)
does, so ids in any script bucket identically.
"""

from __future__ import annotations

from collections.abc import Sequence

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def fnv1a32(text: str) -> int:
    """32-bit FNV-1a over the string's UTF-16 code units (bytes when the string is ASCII).

    Args:
        text: any string.

    Returns:
        The hash as an unsigned 32-bit integer.

    Example:
        >>> fnv1a32("hello")
        1335831723
    """
    hval = _FNV_OFFSET
    if text.isascii():
        for byte in text.encode():
            hval = ((hval ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
        return hval
    data = text.encode("utf-16-le", "surrogatepass")
    for i in range(0, len(data), 2):
        hval = ((hval ^ (data[i] | (data[i + 1] << 8))) * _FNV_PRIME) & 0xFFFFFFFF
    return hval


def hash_v2(seed: str, value: str) -> float:
    """GrowthBook's version-2 hash: a uniform bucket in ``[0, 1)`` with 4-digit precision."""
    return (fnv1a32(str(fnv1a32(seed + value))) % 10000) / 10000


def hash_v1(seed: str, value: str) -> float:
    """GrowthBook's version-1 hash (value first, 3-digit precision); used for namespaces."""
    return (fnv1a32(value + seed) % 1000) / 1000


def in_namespace(value: str, layer: str, start: float, end: float) -> bool:
    """Whether ``value`` falls in the slice ``[start, end)`` of a layer (``inNamespace``)."""
    n = hash_v1("__" + layer, value)
    return start <= n < end


def bucket_ranges(weights: Sequence[float], coverage: float = 1.0) -> list[tuple[float, float]]:
    """Variant ranges as GrowthBook's ``getBucketRanges`` builds them.

    Args:
        weights: one weight per variant, already normalised to sum to 1.
        coverage: the share of listeners enrolled (clamped to ``[0, 1]``).

    Returns:
        ``(start, end)`` per variant; the gaps are unenrolled listeners.
    """
    coverage = min(max(coverage, 0.0), 1.0)
    cumulative = 0.0
    ranges = []
    for weight in weights:
        start = cumulative
        cumulative += weight
        ranges.append((start, start + coverage * weight))
    return ranges


def holdout_ranges(
    weights: Sequence[float], coverage: float, holdout: float
) -> list[tuple[float, float]]:
    """The holdout's slices: the ``holdout * w_i`` right after each variant's range.

    With ``coverage + holdout <= 1`` each slice stays inside its variant's weight, so the
    holdout never overlaps an enrolled range.
    """
    return [
        (end, end + holdout * weight)
        for (_, end), weight in zip(bucket_ranges(weights, coverage), weights, strict=True)
    ]


def choose_variation(n: float, ranges: Sequence[tuple[float, float]]) -> int:
    """Index of the first range holding ``n``, or -1 (``chooseVariation``)."""
    for i, (start, end) in enumerate(ranges):
        if start <= n < end:
            return i
    return -1


__all__ = [
    "bucket_ranges",
    "choose_variation",
    "fnv1a32",
    "hash_v1",
    "hash_v2",
    "holdout_ranges",
    "in_namespace",
]
