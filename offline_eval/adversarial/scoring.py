"""Score a store's integrity decisions against an adversarial suite's ``truth.csv``.

What counts as caught follows the truth's ``expected`` column:

- ``quarantine``: the track is quarantined; for a backdated copy, the original it copied must
  also still be unquarantined (a copy that displaces its original is not caught);
- ``dispute``: the declared-human machine track is ``DISPUTED``, or held from human-only
  slates some other way (quarantined, held, or relabelled by the detector as AI);
- ``serve``: genuine uploads and originals; quarantining one is a false quarantine.

Only what the store decided is read (quarantine audit, disputes, holds, labels), so any
screening implementation is scored the same way.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pandas as pd

from recsys.domain import AiInvolvement
from recsys.store import Store

NEAR_DUPLICATE = "near_duplicate"


def _ids(store: Store, method: str) -> frozenset[str]:
    """A store's id set by method name; empty when this store has no such state."""
    read = getattr(store, method, None)
    return frozenset(read()) if callable(read) else frozenset()


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def score_suite(store: Store, truth: pd.DataFrame) -> dict[str, Any]:
    """Recall per attack kind, near-duplicate precision and false quarantines.

    Args:
        store: the store after ingesting the suite's folders and screening them.
        truth: the suite's ``truth.csv`` indexed by item id (:func:`read_truth`).

    Returns:
        ``recall_by_attack`` (kind → recall), ``recall_by_family`` (the part before ``/``),
        ``recall`` (all attack rows), ``precision`` (near-duplicate quarantines that are
        copies), ``genuine_false_quarantine_rate`` and supporting counts.
    """
    quarantined = store.quarantined_ids()
    disputed = _ids(store, "disputed_ids")
    held = _ids(store, "held_ids") | quarantined | disputed
    relabelled = {
        t.track_id
        for t in store.iter_tracks()
        if t.provenance.ai_involvement not in (AiInvolvement.NONE, AiInvolvement.UNDISCLOSED)
    }
    reasons: dict[str, set[str]] = defaultdict(set)
    for record in store.quarantine_history():
        if record.quarantined:
            reasons[record.track_id].update(record.reasons)
        else:
            reasons.pop(record.track_id, None)

    def caught(item_id: str, row: pd.Series) -> bool:
        if row["expected"] == "dispute":
            return item_id in held or item_id in relabelled
        hit = item_id in quarantined
        if row["attack"].startswith("backdated/") and row["duplicate_of"]:
            hit = hit and row["duplicate_of"] not in quarantined
        return hit

    attacks = truth[truth["attack"] != ""]
    by_attack: dict[str, list[bool]] = defaultdict(list)
    for item_id, row in attacks.iterrows():
        by_attack[row["attack"]].append(caught(str(item_id), row))
    by_family: dict[str, list[bool]] = defaultdict(list)
    for kind, hits in by_attack.items():
        by_family[kind.split("/")[0]].extend(hits)
    all_hits = [h for hits in by_attack.values() for h in hits]

    genuine = truth[truth["expected"] == "serve"]
    genuine_q = [i for i in genuine.index if i in quarantined]
    genuine_held = [i for i in genuine.index if i in held]
    originals = genuine[genuine["batch"] == "catalog"]
    copies = set(
        truth.index[truth["abuse_kinds"].str.split("|").map(lambda k: NEAR_DUPLICATE in k)]
    )
    near_dup_q = [i for i in quarantined if NEAR_DUPLICATE in reasons.get(i, set())]
    clusters = attacks[attacks["cluster_id"] != ""].groupby("cluster_id")
    complete = sum(all(i in quarantined for i in members.index) for _, members in clusters)
    return {
        "recall_by_attack": {k: _rate(sum(v), len(v)) for k, v in sorted(by_attack.items())},
        "recall_by_family": {k: _rate(sum(v), len(v)) for k, v in sorted(by_family.items())},
        "recall": _rate(sum(all_hits), len(all_hits)),
        "precision": _rate(sum(i in copies for i in near_dup_q), len(near_dup_q)),
        "genuine_false_quarantine_rate": _rate(len(genuine_q), len(genuine)),
        "genuine_false_hold_rate": _rate(len(genuine_held), len(genuine)),
        "counts": {
            "attack_uploads": len(all_hits),
            "caught": sum(all_hits),
            "genuine": len(genuine),
            "genuine_quarantined": len(genuine_q),
            "originals_quarantined": sum(i in quarantined for i in originals.index),
            "genuine_held": len(genuine_held),
            "near_duplicate_quarantines": len(near_dup_q),
            "clusters": clusters.ngroups,
            "clusters_all_flagged": complete,
            "quarantined": len(quarantined),
            "disputed": len(disputed),
            "unscreened": len(_ids(store, "unscreened_ids")),
        },
        "genuine_quarantined_reasons": {
            i: sorted(reasons.get(i, set())) for i in sorted(genuine_q)
        },
    }


__all__ = ["NEAR_DUPLICATE", "score_suite"]
