"""Candidate Recall@100 of each modality and of the fusion on real data, plus cold start.

Datasets (read in place from ../shared/datasets through offline_eval's adapters):
HetRec Last.fm 2K (artists as items, Spotify artist audio features joined by name) and the
TidyTuesday Spotify songs (playlists as listeners).

Protocol: each listener with ≥ 5 items holds out 20% (seeded). Models (ALS, PCA, projection)
fit on the training interactions with the same functions `liner build` uses. Each modality
scores every item for every listener (text / audio: mean of the listener's training items;
collab: ALS listener factors; fusion: the build's fused listener and item vectors, cold items
through the content projection); training items are excluded and Recall@100 is taken over the
held-out items. Fusion weights are tuned on half of the listeners (grid below) and reported on
the other half; every figure in the result is on that reporting half.

Cold start: 10% of items with ≥ 3 listeners are removed from the collaborative model; the
content projection places them, and we measure how many of their 20 true co-listening
neighbours (item-item cosine on the full data) the projected vector retrieves, against random.

    python -m benchmarks.modalities [--quick] [--data-root ../shared/datasets]
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import pandas as pd
import scipy.sparse as sp

from benchmarks.report import parser, write_result
from offline_eval.datasets import load_dataset
from recsys.embeddings.audio import DescriptorAudioEncoder
from recsys.embeddings.collaborative import fit_als
from recsys.embeddings.config import AlsConfig, FusionConfig
from recsys.embeddings.fusion import PcaReducer, fuse, normalise_rows
from recsys.embeddings.projection import ContentProjection
from recsys.embeddings.steps import content_matrix
from recsys.embeddings.text import VectorCache, embed_with_cache, load_text_model
from recsys.settings import default_text_model

K = 100
SEED = 0
GRID = [0.0, 0.1, 0.2, 0.3, 0.5]
CACHE = Path(os.environ.get("LINER_BENCH_CACHE", "/tmp/liner-bench-cache"))


def item_texts(items: pd.DataFrame) -> list[str]:
    """The same shape of text `liner build` embeds: title, artists, genre, tags."""
    out = []
    for row in items.itertuples(index=False):
        parts = [str(row.title)]
        names = getattr(row, "artist_names", "")
        if isinstance(names, str) and names:
            parts[0] += " by " + names.replace("|", ", ")
        tags = row.tags if isinstance(row.tags, str) else ""
        if tags:
            parts.append("Tags: " + ", ".join(tags.split("|")[:10]))
        out.append(". ".join(parts))
    return out


def split(inter: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per listener with ≥ 5 items, hold out 20% at random."""
    test_mask = np.zeros(len(inter), dtype=bool)
    for _, idx in inter.groupby("user_id").indices.items():
        if len(idx) >= 5:
            test_mask[rng.choice(idx, max(1, len(idx) // 5), replace=False)] = True
    return inter[~test_mask], inter[test_mask]


def recall_at_k(scores: np.ndarray, train: list[np.ndarray], test: list[np.ndarray]) -> float:
    total = 0.0
    for s, tr, te in zip(scores, train, test, strict=True):
        s = s.copy()
        s[tr] = -np.inf
        top = np.argpartition(-s, K)[:K]
        total += len(np.intersect1d(top, te)) / len(te)
    return total / len(scores)


def run_dataset(name: str, data_root: Path, quick: bool) -> dict[str, Any]:
    t0 = time.perf_counter()
    data = load_dataset(name, data_root)
    items = data.items.reset_index(drop=True)
    row_of = {t: i for i, t in enumerate(items["item_id"].astype(str))}
    inter = data.interactions.assign(item_id=data.interactions["item_id"].astype(str))
    inter = inter[inter["item_id"].isin(row_of)]
    rng = np.random.default_rng(SEED)
    train, test = split(inter, rng)
    n = len(items)

    model_name = default_text_model()
    cache = VectorCache(CACHE / f"{name}-text.npz")
    text, _ = embed_with_cache(item_texts(items), load_text_model(model_name), model_name, cache)
    cache.save()
    enc = DescriptorAudioEncoder.from_frame(items)
    raw = enc.encode(items)
    has_audio = np.any(raw, axis=1)
    audio_pca = PcaReducer.fit(raw[has_audio], FusionConfig().audio_dim, standardise=True)
    audio = normalise_rows(audio_pca.transform(raw))

    als_cfg = AlsConfig()
    events = pd.DataFrame(
        {"listener_id": train["user_id"].astype(str), "track_id": train["item_id"],
         "event_type": "play", "weight": train["weight"].astype(float)}
    )  # fmt: skip
    users, uf, its, itf = fit_als(events, als_cfg, seed=SEED)
    collab_als = np.zeros((n, als_cfg.factors), dtype=np.float32)
    collab_als[[row_of[t] for t in its]] = itf
    plays = events.groupby("track_id")["listener_id"].nunique()
    counts = np.zeros(n)
    counts[[row_of[t] for t in plays.index]] = plays.to_numpy()
    warm = (counts >= als_cfg.min_plays) & np.any(collab_als, axis=1)

    text_pca = PcaReducer.fit(text, FusionConfig().text_dim)
    text_r = normalise_rows(text_pca.transform(text))
    content = content_matrix(text_r, audio)
    proj = ContentProjection.fit(content[warm], normalise_rows(collab_als[warm]))
    collab = np.where(warm[:, None], normalise_rows(collab_als), 0.0).astype(np.float32)
    cold = ~warm
    collab[cold] = normalise_rows(proj.predict(content[cold]))

    # listeners evaluated: in ALS (≥ 1 train item) with ≥ 1 test item
    user_row = {u: i for i, u in enumerate(users.tolist())}
    test_by_user = test.groupby("user_id")["item_id"].apply(list)
    train_by_user = train.groupby("user_id")["item_id"].apply(list)
    evaluated = [u for u in test_by_user.index if str(u) in user_row]
    rng.shuffle(evaluated)
    if quick:
        evaluated = evaluated[:300]
    half = len(evaluated) // 2
    groups = {"tune": evaluated[:half], "report": evaluated[half:]}
    u_idx = events["listener_id"].map(user_row).to_numpy()
    i_idx = events["track_id"].map(row_of).to_numpy()
    hist = sp.csr_matrix(
        (events["weight"].to_numpy(dtype=np.float32), (u_idx, i_idx)), shape=(len(users), n)
    )

    def user_parts(us: list[Any]) -> dict[str, np.ndarray]:
        rows = [user_row[str(u)] for u in us]
        h = hist[rows]
        h = sp.diags(1.0 / np.maximum(h.sum(axis=1).A1, 1e-9)) @ h
        return {"text": np.asarray(h @ text_r), "audio": np.asarray(h @ audio), "collab": uf[rows]}

    def lists(us: list[Any]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        tr = [np.array([row_of[t] for t in train_by_user[u]]) for u in us]
        te = [np.array([row_of[t] for t in test_by_user[u]]) for u in us]
        return tr, te

    def fused_recall(us: list[Any], w: dict[str, float]) -> float:
        parts = user_parts(us)
        item_parts = {"text": text_r, "audio": audio, "collab": collab}
        return recall_at_k(fuse(parts, w) @ fuse(item_parts, w).T, *lists(us))

    tune = groups["tune"]
    best_w, best_r = None, -1.0
    for wt, wa in itertools.product(GRID, GRID):
        wc = 1.0 - wt - wa
        if wc < 0:
            continue
        w = {"text": wt, "audio": wa, "collab": wc}
        r = fused_recall(tune, w)
        if r > best_r:
            best_w, best_r = w, r
    assert best_w is not None
    rep = groups["report"]
    parts = user_parts(rep)
    tr, te = lists(rep)
    single = {
        "text": recall_at_k(normalise_rows(parts["text"]) @ normalise_rows(text_r).T, tr, te),
        "audio": recall_at_k(normalise_rows(parts["audio"]) @ audio.T, tr, te),
        "collab_als": recall_at_k(uf[[user_row[str(u)] for u in rep]] @ collab_als.T, tr, te),
    }
    default_w = FusionConfig()
    dw = {"text": default_w.text_weight, "audio": default_w.audio_weight,
          "collab": default_w.collab_weight}  # fmt: skip
    fusion = {
        "tuned_weights": best_w,
        "recall_at_100_tuned": round(fused_recall(rep, best_w), 4),
        "recall_at_100_default_weights": round(fused_recall(rep, dw), 4),
    }
    return {
        "items": n,
        "listeners_evaluated": len(rep),
        "items_with_audio": int(has_audio.sum()),
        "warm_items": int(warm.sum()),
        "recall_at_100": {k: round(v, 4) for k, v in single.items()},
        "fusion": fusion,
        "cold_start": cold_start(inter, items, row_of, content, als_cfg, rng, quick),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def cold_start(
    inter: pd.DataFrame,
    items: pd.DataFrame,
    row_of: dict[str, int],
    content: np.ndarray,
    als_cfg: AlsConfig,
    rng: np.random.Generator,
    quick: bool,
) -> dict[str, Any]:
    """Projection vs random at retrieving held-out items' true co-listening neighbours."""
    n = len(items)
    users = {u: i for i, u in enumerate(inter["user_id"].astype(str).unique())}
    u_idx = inter["user_id"].astype(str).map(users).to_numpy()
    i_idx = inter["item_id"].map(row_of).to_numpy()
    m = sp.csr_matrix(
        (np.ones(len(inter), dtype=np.float32), (u_idx, i_idx)), shape=(len(users), n)
    )
    m.data[:] = 1.0
    per_item = np.asarray(m.sum(axis=0)).ravel()
    eligible = np.flatnonzero(per_item >= 3)
    held = rng.choice(eligible, max(1, len(eligible) // 10), replace=False)
    if quick:
        held = held[:300]
    held_set = set(held.tolist())
    keep = ~inter["item_id"].map(row_of).isin(held_set)
    kept = inter[keep]
    events = pd.DataFrame(
        {"listener_id": kept["user_id"].astype(str), "track_id": kept["item_id"],
         "event_type": "play", "weight": kept["weight"].astype(float)}
    )  # fmt: skip
    _, _, its, itf = fit_als(events, als_cfg, seed=SEED)
    als = np.zeros((n, als_cfg.factors), dtype=np.float32)
    als[[row_of[t] for t in its]] = itf
    warm = np.any(als, axis=1)
    proj = ContentProjection.fit(content[warm], normalise_rows(als[warm]))
    predicted = normalise_rows(proj.predict(content[held]))
    cand = np.flatnonzero(warm)
    col = m.tocsc()
    norms = np.sqrt(np.asarray(col.multiply(col).sum(axis=0)).ravel()) + 1e-9
    k = 20
    hits_proj = hits_rand = hits_text_knn = 0.0
    space = normalise_rows(als)[cand]
    for j, item in enumerate(held):
        co = (col[:, [item]].T @ col[:, cand]).toarray().ravel() / (norms[cand] * norms[item])
        truth = set(cand[np.argsort(-co)[:k]].tolist()) if co.max() > 0 else set()
        if not truth:
            continue
        top = cand[np.argsort(-(space @ predicted[j]))[:k]]
        hits_proj += len(truth & set(top.tolist())) / k
        knn = cand[
            np.argsort(-(normalise_rows(content[cand]) @ normalise_rows(content[[item]])[0]))[:k]
        ]
        hits_text_knn += len(truth & set(knn.tolist())) / k
        hits_rand += k / len(cand) * len(truth) / k
    return {
        "held_out_items": len(held),
        "neighbours": k,
        "precision_projection": round(hits_proj / len(held), 4),
        "precision_content_knn": round(hits_text_knn / len(held), 4),
        "precision_random": round(hits_rand / len(held), 5),
        "projection_vs_random": round(hits_proj / max(hits_rand, 1e-12), 1),
    }


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--data-root", type=Path, default=Path("../shared/datasets"))
    args = p.parse_args()
    results = {
        name: run_dataset(name, args.data_root, args.quick)
        for name in ("hetrec-lastfm-2k", "tidytuesday-spotify")
    }
    fusion_beats_all = {
        name: r["fusion"]["recall_at_100_tuned"] > max(r["recall_at_100"].values())
        for name, r in results.items()
    }
    write_result(
        "modalities",
        {
            "k": K,
            "quick": args.quick,
            "datasets": results,
            "fusion_beats_every_modality": fusion_beats_all,
        },
    )


if __name__ == "__main__":
    main()
