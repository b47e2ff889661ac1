"""A synthetic playlist dataset in the data folder format, for the catalog-scale evaluation.

``python -m benchmarks.eval_catalog OUT --items 200000 --playlists 20000`` writes ``items.csv``
and ``interactions.csv`` (no timestamps: playlists, like the hidden check's data) to ``OUT``.
Structure a recommender can find, and that a pure popularity ranking cannot:

- ``styles`` latent styles, each with a genre word and a subgenre word (the item's ``genre``
  and ``tags``) and its own artists (about 5 tracks per artist);
- item popularity is Zipf-like inside each style;
- a playlist mixes one to three styles; about a third of its tracks come as runs of the same
  artist, the rest by popularity inside its styles, and a tenth from the whole catalog.

Seeded: the same arguments write the same files.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

_GENRES = [
    "rock",
    "pop",
    "jazz",
    "blues",
    "folk",
    "soul",
    "funk",
    "house",
    "techno",
    "ambient",
    "metal",
    "punk",
    "reggae",
    "latin",
    "classical",
    "country",
    "rap",
    "trap",
    "drill",
    "disco",
    "gospel",
    "indie",
    "grunge",
    "dub",
    "garage",
    "trance",
]
_MOODS = [
    "dark",
    "bright",
    "slow",
    "fast",
    "dreamy",
    "raw",
    "warm",
    "cold",
    "lofi",
    "acoustic",
    "electric",
    "vintage",
    "modern",
    "heavy",
    "gentle",
    "moody",
    "happy",
    "sad",
    "epic",
    "minimal",
]
_WORDS = [
    "night",
    "river",
    "fire",
    "summer",
    "ghost",
    "city",
    "heart",
    "stone",
    "glass",
    "rain",
    "wolf",
    "light",
    "echo",
    "road",
    "dream",
    "silver",
    "ocean",
    "storm",
    "velvet",
    "neon",
    "golden",
    "hollow",
    "wild",
    "paper",
    "thunder",
]


def generate(
    n_items: int = 200_000, n_playlists: int = 20_000, *, styles: int = 400, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The items and interactions frames (see the module docstring)."""
    rng = np.random.default_rng(seed)
    style = rng.integers(0, styles, n_items)
    n_artists = max(n_items // 5, 1)
    artist_style = rng.integers(0, styles, n_artists)
    by_style_artists = [np.flatnonzero(artist_style == s) for s in range(styles)]
    artist = np.array(
        [rng.choice(by_style_artists[s]) if len(by_style_artists[s]) else 0 for s in style]
    )
    style = artist_style[artist]  # an item's style is its artist's
    genre = np.array([_GENRES[s % len(_GENRES)] for s in range(styles)])
    mood = np.array([_MOODS[(s // len(_GENRES)) % len(_MOODS)] for s in range(styles)])
    w = rng.integers(0, len(_WORDS), (n_items, 2))
    items = pd.DataFrame(
        {
            "item_id": [f"t{i}" for i in range(n_items)],
            "title": [f"{_WORDS[a]} {_WORDS[b]} {i % 97}" for i, (a, b) in enumerate(w)],
            "artist_ids": [f"a{a}" for a in artist],
            "artist_names": [f"Artist {a}" for a in artist],
            "genre": genre[style],
            "tags": mood[style],
        }
    )
    # Zipf-like popularity inside each style
    pop = rng.pareto(1.2, n_items) + 1e-3
    members = [np.flatnonzero(style == s) for s in range(styles)]
    probs = [pop[m] / pop[m].sum() if len(m) else m for m in members]
    artist_items = pd.Series(np.arange(n_items)).groupby(artist).apply(np.asarray).to_dict()
    global_p = pop / pop.sum()
    users: list[np.ndarray] = []
    rows_items: list[np.ndarray] = []
    lengths = np.clip(rng.lognormal(3.6, 0.7, n_playlists).astype(int), 5, 250)
    for p, length in enumerate(lengths):
        drawn = rng.choice(styles, rng.integers(1, 4), replace=False)
        mine = [int(s) for s in drawn if len(members[s])] or [int(style[0])]
        picks: list[int] = []
        n_global = rng.binomial(length, 0.1)
        if n_global:
            picks.extend(rng.choice(n_items, n_global, p=global_p).tolist())
        while len(picks) < length:
            s = mine[rng.integers(len(mine))]
            if rng.random() < 0.33:
                a = artist[rng.choice(members[s], p=probs[s])]
                run = np.asarray(artist_items[a])
                n_run = min(len(run), int(rng.integers(2, 5)))
                picks.extend(rng.choice(run, n_run, replace=False).tolist())
            else:
                picks.append(int(rng.choice(members[s], p=probs[s])))
        chosen = np.unique(np.asarray(picks[:length], dtype=np.int64))
        users.append(np.full(len(chosen), p))
        rows_items.append(chosen)
    u = np.concatenate(users)
    it = np.concatenate(rows_items)
    ids = items["item_id"].to_numpy()[it]
    inter = pd.DataFrame({"user_id": [f"p{x}" for x in u], "item_id": ids})
    return items, inter


def main(argv: list[str] | None = None) -> None:
    """Write the dataset folder."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--items", type=int, default=200_000)
    ap.add_argument("--playlists", type=int, default=20_000)
    ap.add_argument("--styles", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    items, inter = generate(args.items, args.playlists, styles=args.styles, seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    items.to_csv(args.out / "items.csv", index=False)
    inter.to_csv(args.out / "interactions.csv", index=False)
    print(
        f"{args.out}: {len(items):,} items, {inter['user_id'].nunique():,} playlists, "
        f"{len(inter):,} interactions, {inter['item_id'].nunique():,} items played"
    )


if __name__ == "__main__":
    main()
