"""Co-ordinated accounts: near-identical play sets or sequences (MinHash clusters), and
payees fed by accounts that all turned up together.

Both rules look at money, not only at similarity: many genuine listeners share the same hits
or follow the same playlist in order, but they do not make up most of a payee's plays. A
group is a farm when the payees it plays depend on it (at least
:attr:`~StreamsConfig.payee_dependence` of their plays come from the group).

MinHash with banded locality-sensitive hashing finds candidate pairs in time linear in the
number of (account, item) pairs; every candidate is then checked with its exact Jaccard
similarity, so MinHash only decides which pairs are compared, never which are linked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from recsys.integrity.streams.config import StreamsConfig
from recsys.integrity.streams.features import DAY
from recsys.integrity.streams.plays import PlayLog

CORE_SHARE = 0.6
"""Share of an account's plays its core items cover."""
_PRIME = np.int64((1 << 31) - 1)
_CHUNK = 8


@dataclass(frozen=True, kw_only=True, eq=False)
class Groups:
    """Accounts flagged by a group rule, with the evidence.

    Attributes:
        members: listener id -> group label (``coordinated:3``, ``cohort:<payee>``).
        sizes: group label -> accounts in it.
        payees: group label -> the payees that depend on it.
    """

    members: dict[str, str]
    sizes: dict[str, int]
    payees: dict[str, tuple[str, ...]]


def minhash(owner: np.ndarray, item: np.ndarray, n_owners: int, k: int, seed: int) -> np.ndarray:
    """MinHash signatures (``n_owners`` x ``k``) of the item sets given as (owner, item) code
    pairs; owners without items keep the maximum value."""
    rng = np.random.default_rng(seed)
    a = rng.integers(1, _PRIME, size=k, dtype=np.int64)
    b = rng.integers(0, _PRIME, size=k, dtype=np.int64)
    order = np.argsort(owner, kind="stable")
    owner, item = owner[order], item[order].astype(np.int64) % _PRIME
    sig = np.full((n_owners, k), _PRIME, dtype=np.int64)
    if not len(owner):
        return sig
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    for lo in range(0, k, _CHUNK):
        hi = min(k, lo + _CHUNK)
        values = (item[:, None] * a[None, lo:hi] + b[None, lo:hi]) % _PRIME
        sig[owner[starts], lo:hi] = np.minimum.reduceat(values, starts, axis=0)
    return sig


def candidate_pairs(sig: np.ndarray, bands: int, active: np.ndarray) -> np.ndarray:
    """(i, j) pairs that share a band bucket: each bucket becomes a chain plus a star
    through its first member, so a bucket of m accounts costs 2m checks, not m²."""
    rows = sig.shape[1] // bands
    pairs = []
    idx = np.flatnonzero(active)
    for band in range(bands):
        block = sig[idx, band * rows : (band + 1) * rows]
        keys = np.zeros(len(idx), dtype=np.uint64)
        for col in block.T:  # wrapping arithmetic: a hash of the band's rows
            keys = keys * np.uint64(1_000_003) ^ col.astype(np.uint64)
        order = np.argsort(keys, kind="stable")
        k, members = keys[order], idx[order]
        same = k[1:] == k[:-1]
        pairs.append(np.column_stack([members[:-1][same], members[1:][same]]))
        first = np.r_[0, np.flatnonzero(~same) + 1]
        head = np.repeat(members[first], np.diff(np.r_[first, len(k)]))
        star = head != members
        pairs.append(np.column_stack([head[star], members[star]]))
    if not pairs:
        return np.zeros((0, 2), dtype=np.int64)
    both = np.vstack(pairs)
    both = np.sort(both, axis=1)
    return np.unique(both, axis=0)


def jaccard(matrix: sp.csr_matrix, pairs: np.ndarray) -> np.ndarray:
    """Exact Jaccard similarity of the binary rows in each pair."""
    if not len(pairs):
        return np.zeros(0)
    sizes = np.diff(matrix.indptr)
    out = np.empty(len(pairs))
    for lo in range(0, len(pairs), 200_000):
        chunk = pairs[lo : lo + 200_000]
        inter = np.asarray(matrix[chunk[:, 0]].multiply(matrix[chunk[:, 1]]).sum(axis=1)).ravel()
        union = sizes[chunk[:, 0]] + sizes[chunk[:, 1]] - inter
        out[lo : lo + len(chunk)] = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    return out


def _links(
    owner: np.ndarray, item: np.ndarray, n: int, threshold: float, config: StreamsConfig
) -> np.ndarray:
    """Pairs of owners whose item sets have Jaccard ≥ ``threshold``."""
    if not len(owner):
        return np.zeros((0, 2), dtype=np.int64)
    codes, uniques = pd.factorize(item)
    matrix = sp.csr_matrix(
        (np.ones(len(owner), dtype=np.float32), (owner, codes)), shape=(n, len(uniques))
    )
    matrix.data[:] = 1.0  # duplicates were summed
    sig = minhash(owner, codes, n, config.minhash_permutations, config.seed)
    active = np.diff(matrix.indptr) > 0
    pairs = candidate_pairs(sig, config.minhash_bands, active)
    keep = jaccard(matrix, pairs) >= threshold
    return pairs[keep]


def _set_links(
    items: pd.DataFrame, accounts: np.ndarray, threshold: float, config: StreamsConfig
) -> list[np.ndarray]:
    """Links between accounts over three views of their items: all of them, the repeated
    ones (played at least twice) and the core (the most played, covering
    :data:`CORE_SHARE` of the account's plays). Camouflage plays of popular tracks dilute the
    first set; the last two keep what a farm loops and drop what it sprinkles around."""
    counts = items.groupby(["listener_id", "item"], sort=False)["n"].sum().reset_index()
    ranked = counts.sort_values(["listener_id", "n", "item"], ascending=[True, False, True])
    before = ranked.groupby("listener_id")["n"].cumsum() - ranked["n"]
    core = ranked[
        before < CORE_SHARE * ranked["listener_id"].map(ranked.groupby("listener_id")["n"].sum())
    ]
    out = []
    for subset in (counts, counts[counts["n"] >= 2], core):
        owner = np.searchsorted(accounts, subset["listener_id"].to_numpy())
        out.append(_links(owner, subset["item"].to_numpy(), len(accounts), threshold, config))
    return out


def coordinated_clusters(log: PlayLog, config: StreamsConfig) -> Groups:
    """Clusters of accounts with near-identical track sets or consecutive-track sequences
    that hold the plays of payees depending on them."""
    plays = log.plays
    accounts = np.unique(plays["listener_id"].to_numpy())
    n = len(accounts)
    items = plays[["listener_id", "track_id", "n"]].rename(columns={"track_id": "item"})
    edges = _set_links(items, accounts, config.set_jaccard, config)
    single = plays["t"].notna() & (plays["n"] == 1)
    timed = plays[single].sort_values(["listener_id", "t", "event_id"])
    if len(timed) > 1:
        who = timed["listener_id"].to_numpy()
        same = who[1:] == who[:-1]
        tracks = timed["track_id"].to_numpy()
        shingles = pd.DataFrame(
            {
                "listener_id": who[:-1][same],
                "item": pd.Series(tracks[:-1][same]) + "\x1f" + pd.Series(tracks[1:][same]),
                "n": 1,
            }
        )
        edges += _set_links(shingles, accounts, config.sequence_jaccard, config)
    links = np.vstack(edges)
    graph = sp.coo_matrix((np.ones(len(links)), (links[:, 0], links[:, 1])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    sizes = np.bincount(label)
    big = (sizes[label] >= config.min_cluster_accounts) & (
        sizes[label] <= config.max_cluster_share * n
    )
    members = pd.Series(label[big], index=accounts[big])
    groups = plays.assign(group=plays["listener_id"].map(members)).dropna(subset=["group"])
    return _farms(plays, groups, "coordinated", config)


def payee_cohorts(log: PlayLog, config: StreamsConfig) -> Groups:
    """Per payee, the accounts that were fresh when they started playing it, give it a large
    share of their plays, and started within one window: a farm when there are enough of them
    and the payee depends on them."""
    plays = log.plays
    if not log.timed or log.first_seen.isna().all():
        return Groups(members={}, sizes={}, payees={})
    pair = plays.groupby(["listener_id", "payee"], sort=False).agg(
        n=("n", "sum"), start=("t", "min")
    )
    total = plays.groupby("listener_id")["n"].sum()
    listener = pair.index.get_level_values(0)
    pair["share"] = pair["n"].to_numpy() / total.reindex(listener).to_numpy()
    seen = log.first_seen.reindex(listener).to_numpy()
    # Accounts already there when the log begins were not seen arriving: their age is unknown,
    # so they never count as fresh (else a log's first week looks like one big cohort).
    arrived = seen > np.nanmin(plays["t"].to_numpy()) + config.cohort_window_days * DAY
    pair["fresh"] = arrived & ((pair["start"].to_numpy() - seen) <= config.fresh_days * DAY)
    keen = pair[(pair["share"] >= config.cohort_account_share) & pair["fresh"]].reset_index()
    if keen.empty:
        return Groups(members={}, sizes={}, payees={})
    window = config.cohort_window_days * DAY
    rows = []
    for payee, grp in keen.groupby("payee", sort=False):
        if len(grp) < config.min_cluster_accounts:
            continue
        starts = np.sort(grp["start"].to_numpy())
        ends = np.searchsorted(starts, starts + window, side="right")
        best = int(np.argmax(ends - np.arange(len(starts))))
        lo, hi = starts[best], starts[best] + window
        inside = grp[(grp["start"] >= lo) & (grp["start"] <= hi)]
        if len(inside) >= config.min_cluster_accounts:
            rows.append(inside.assign(group=f"cohort:{payee}"))
    if not rows:
        return Groups(members={}, sizes={}, payees={})
    # An account can sit in several payees' cohorts (its camouflage too): each is judged.
    membership = pd.concat(rows)[["listener_id", "group"]].drop_duplicates()
    groups = plays.merge(membership, on="listener_id")
    return _farms(plays, groups, "cohort", config)


def _farms(plays: pd.DataFrame, groups: pd.DataFrame, kind: str, config: StreamsConfig) -> Groups:
    """The groups whose plays go, for at least ``farm_payee_share``, to payees that depend
    on the group for at least ``payee_dependence`` of their plays."""
    if groups.empty:
        return Groups(members={}, sizes={}, payees={})
    payee_total = plays.groupby("payee")["n"].sum()
    by = groups.groupby(["group", "payee"])["n"].sum().rename("n").reset_index()
    by["dependence"] = by["n"] / by["payee"].map(payee_total)
    group_total = groups.groupby("group")["n"].sum()
    dependent = by[by["dependence"] >= config.payee_dependence]
    farm_share = dependent.groupby("group")["n"].sum() / group_total
    farms = farm_share[farm_share >= config.farm_payee_share].index
    members: dict[str, str] = {}
    sizes: dict[str, int] = {}
    payees: dict[str, tuple[str, ...]] = {}
    for i, group in enumerate(sorted(farms, key=str)):
        label = f"{kind}:{i}" if kind == "coordinated" else str(group)
        accounts = groups.loc[groups["group"] == group, "listener_id"].unique()
        sizes[label] = len(accounts)
        payees[label] = tuple(sorted(dependent.loc[dependent["group"] == group, "payee"]))
        members.update(dict.fromkeys(accounts, label))
    return Groups(members=members, sizes=sizes, payees=payees)


__all__ = [
    "Groups",
    "candidate_pairs",
    "coordinated_clusters",
    "jaccard",
    "minhash",
    "payee_cohorts",
]
