"""Innocent collisions of the name screen on real artist names, and its speed.

Every artist of the Last.fm HetRec 2011 set (about 17.6k real names, read in place from
``../shared/datasets/hetrec2011-lastfm-2k/artists.dat``) is indexed as if protected, and every
other artist is compared with the index as if it were a new unverified upload. A match is a
collision between two Last.fm entries. Most same-key pairs are one act written twice
(``Madonna`` and ``Madonna feat. Gogol Bordello``, ``Tiësto`` and ``DJ Tiësto``): the screen
would rightly flag those under another payee. Fuzzy-only matches are mostly different acts
(``Ryan Adams`` and ``Bryan Adams``): the innocent collisions. Figures: the share of artists
flagged, by kind, for the new keys (confusable skeletons + decorations) and for the keys of the
screen before them (NFKD, leet, noise words), and queries per second through
:class:`~recsys.integrity.names.NameIndex`.

Run: ``python -m benchmarks.names [--quick] [--threshold 0.88]``; the last line is JSON.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import time
import unicodedata
from pathlib import Path

import numpy as np

from benchmarks.report import write_result
from recsys.integrity.names import NameIndex, _letter_counts

HETREC = Path(__file__).resolve().parents[2] / "shared/datasets/hetrec2011-lastfm-2k/artists.dat"

_OLD_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "@": "a",
     "$": "s", "!": "i", "|": "l", "+": "t"}
)  # fmt: skip
_OLD_NOISE = re.compile(r"\b(the|oficial|music|band|feat|ft|vevo|tv|real)\b")


def old_key(name: str) -> str:
    """The name key of the screen before confusable skeletons (for comparison)."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    folded = re.sub(r"(.)\1+", r"\1", stripped.casefold().translate(_OLD_LEET))
    return re.sub(r"[^a-z0-9]+", "", _OLD_NOISE.sub(" ", folded))


def read_names(path: Path, limit: int | None) -> list[tuple[str, str]]:
    rows = []
    with path.open(encoding="utf-8") as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 2:
                rows.append((parts[0], parts[1]))
    return rows[:limit] if limit else rows


def old_matches(names: list[tuple[str, str]], threshold: float) -> set[str]:
    """Artists the old keys would flag: same key, or a ratio at or above the threshold (keys of
    four letters or more), with the same vectorised upper bounds as the index."""
    keys = [(i, old_key(n)) for i, n in names]
    keys = [(i, k) for i, k in keys if len(k) >= 4]
    texts = [k for _, k in keys]
    lengths = np.array([len(k) for k in texts])
    counts = np.stack([_letter_counts(k) for k in texts])
    by_key: dict[str, list[str]] = {}
    for i, k in keys:
        by_key.setdefault(k, []).append(i)
    flagged = {i for group in by_key.values() if len(group) > 1 for i in group}
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    for row, (i, k) in enumerate(keys):
        if i in flagged:
            continue
        total = lengths + len(k)
        ok = 2 * np.minimum(lengths, len(k)) / total >= threshold
        ok &= 2 * np.minimum(counts, counts[row]).sum(axis=1) / total >= threshold
        ok[row] = False
        matcher.set_seq2(k)
        for other in np.flatnonzero(ok):
            matcher.set_seq1(texts[other])
            if matcher.ratio() >= threshold:
                flagged.add(i)
                break
    return flagged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="first 4,000 names only")
    parser.add_argument("--threshold", type=float, default=0.88)
    parser.add_argument("--path", type=Path, default=HETREC)
    args = parser.parse_args()
    names = read_names(args.path, 4000 if args.quick else None)
    by_id = dict(names)
    start = time.perf_counter()
    index = NameIndex(names, threshold=args.threshold)
    build_s = time.perf_counter() - start
    exact: list[tuple[str, str, float]] = []
    fuzzy: list[tuple[str, str, float]] = []
    flagged: set[str] = set()
    fuzzy_only: set[str] = set()
    start = time.perf_counter()
    for artist_id, name in names:
        for match in index.matches(name):
            if match.id == artist_id:
                continue
            flagged.add(artist_id)
            pair = (name, by_id[match.id], round(match.similarity, 3))
            (exact if match.similarity == 1.0 else fuzzy).append(pair)
        if artist_id in flagged and all(
            m.similarity < 1.0 for m in index.matches(name) if m.id != artist_id
        ):
            fuzzy_only.add(artist_id)
    query_s = time.perf_counter() - start
    start = time.perf_counter()
    old = old_matches(names, args.threshold)
    old_s = time.perf_counter() - start
    indexed = len(index)
    result = {
        "dataset": "hetrec2011-lastfm-2k artists.dat",
        "names": len(names),
        "indexed": indexed,
        "threshold": args.threshold,
        "false_match_rate": round(len(flagged) / len(names), 5),
        "flagged": len(flagged),
        "flagged_by_same_key": len(flagged - fuzzy_only),
        "flagged_by_fuzzy_only": len(fuzzy_only),
        "fuzzy_only_rate": round(len(fuzzy_only) / len(names), 5),
        "pairs_same_key": len(exact) // 2 if exact else 0,
        "pairs_fuzzy": len(fuzzy),
        "old_keys_false_match_rate": round(len(old) / len(names), 5),
        "old_keys_flagged": len(old),
        "index_build_s": round(build_s, 2),
        "queries_per_s": round(len(names) / query_s, 1),
        "old_brute_force_queries_per_s": round(len(names) / old_s, 1),
        "examples_same_key": exact[:25:2],
        "examples_fuzzy": fuzzy[:25],
    }
    write_result("names_quick" if args.quick else "names", result)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
