"""Bucketing parity with the GrowthBook Python SDK, used as an oracle."""

from __future__ import annotations

import itertools

import pytest
from growthbook import Experiment, GrowthBook
from growthbook.core import fnv1a32 as gb_fnv1a32
from growthbook.core import gbhash, getBucketRanges

from recsys.experiments.hashing import (
    bucket_ranges,
    choose_variation,
    fnv1a32,
    hash_v1,
    hash_v2,
    holdout_ranges,
    in_namespace,
)

IDS = [f"listener-{i}" for i in range(1500)] + [
    f"{prefix}-{i}" for i in range(100) for prefix in ("écoute", "слушатель", "听众🎧", "")
]


def test_fnv1a32_known_answer() -> None:
    # Published FNV-1a 32-bit test vectors.
    assert fnv1a32("") == 0x811C9DC5
    assert fnv1a32("a") == 0xE40C292C
    assert fnv1a32("foobar") == 0xBF9CF968


def test_hashes_match_sdk_on_many_ids() -> None:
    for uid in IDS:
        assert fnv1a32(uid) == gb_fnv1a32(uid), uid
        assert hash_v2("salt-1", uid) == gbhash("salt-1", uid, 2), uid
        assert hash_v1("__home", uid) == gbhash("__home", uid, 1), uid


@pytest.mark.parametrize(
    ("weights", "coverage"),
    [([0.5, 0.5], 1.0), ([0.2, 0.3, 0.5], 0.7), ([0.1, 0.9], 0.25), ([1 / 3] * 3, 1.0)],
    ids=["even", "three-way-70pct", "skewed-25pct", "thirds"],
)
def test_bucket_ranges_match_sdk(weights: list[float], coverage: float) -> None:
    assert bucket_ranges(weights, coverage) == getBucketRanges(len(weights), coverage, weights)


@pytest.mark.parametrize(
    ("weights", "coverage", "namespace"),
    [
        ([0.5, 0.5], 1.0, None),
        ([0.2, 0.3, 0.5], 0.7, ("home", 0.2, 0.7)),
        ([0.1, 0.9], 0.4, ("radio", 0.0, 0.5)),
    ],
    ids=["even-full", "three-way-namespaced", "skewed-namespaced"],
)
def test_variation_matches_sdk_run(
    weights: list[float], coverage: float, namespace: tuple[str, float, float] | None
) -> None:
    ranges = bucket_ranges(weights, coverage)
    mismatches = []
    for uid in IDS:
        if not uid:
            continue  # the SDK skips empty ids; the service never assigns one
        result = GrowthBook(attributes={"id": uid}).run(
            Experiment(
                key="exp",
                variations=list(range(len(weights))),
                weights=weights,
                coverage=coverage,
                namespace=namespace,
                hashVersion=2,
                seed="seed-x",
            )
        )
        theirs = result.variationId if result.inExperiment else -1
        ours = -1
        if namespace is None or in_namespace(uid, *namespace):
            ours = choose_variation(hash_v2("seed-x", uid), ranges)
        if ours != theirs:
            mismatches.append(uid)
    assert mismatches == []


def test_holdout_matches_sdk_explicit_ranges() -> None:
    # Mirroring a holdout: the holdout is an extra variation with explicit ranges.
    weights, coverage, holdout = [0.5, 0.5], 0.8, 0.1
    ranges = bucket_ranges(weights, coverage) + holdout_ranges(weights, coverage, holdout)
    for uid in IDS[:800]:
        result = GrowthBook(attributes={"id": uid}).run(
            Experiment(key="exp", variations=[0, 1, 2, 3], ranges=ranges, hashVersion=2, seed="s")
        )
        theirs = result.variationId if result.inExperiment else -1
        assert choose_variation(hash_v2("s", uid), ranges) == theirs, uid


def test_holdout_slices_do_not_overlap_variants() -> None:
    weights = [0.2, 0.3, 0.5]
    slices = sorted(bucket_ranges(weights, 0.6) + holdout_ranges(weights, 0.6, 0.4))
    for (_, end), (start, _) in itertools.pairwise(slices):
        assert end <= start + 1e-12
    assert slices[-1][1] <= 1.0 + 1e-12
