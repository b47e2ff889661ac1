"""Candidate Recall@100 of each modality and of the fusion on real data, plus cold start.

Datasets (read in place from ../shared/datasets through offline_eval's adapters):
HetRec Last.fm 2K (artists as items, Spotify artist audio features joined by name) and the
TidyTuesday Spotify songs (playlists as listeners).

Protocol: each listener with ≥ 5 items holds out 20% (seeded). Models (ALS, PCA, projection)
fit on the training interactions with the same functions `liner build` uses. Each modality
scores every item for every listener (text / audio: mean of the listener's training items;
collab: ALS listener factors · item factors; fusion: the build's fused listener and item
vectors, :func:`~recsys.embeddings.fusion.fuse_tracks`, cold items through the content
projection); training items are excluded and Recall@100 is taken over the held-out items.
Fusion weights are tuned on 150 validation listeners (grid below) and reported on 150 other
listeners; every figure in the result is on that reporting set. ``joint_weights`` is the
single grid point best on both datasets' validation listeners (the `FusionConfig` defaults).
``collab_als_cosine`` (ALS compared by cosine) shows what dropping the ALS item norms costs.

Not tuned: play-count-dependent content weights ("confidence-aware" fusion). Here the catalog
is the set of items in the interactions, so an item with no training play is almost surely a
held-out one (81% of TidyTuesday's held-out items, 13% of HetRec's; ``test_items_cold``):
shrinking content weight with plays scores 0.57 on TidyTuesday by learning that artefact.
``recall_at_100_warm_test_items`` counts only held-out items with a training play, which no
cold-item boost can inflate.

Track → track: for 300 items with ≥ 3 training listeners, precision of the fused, ALS-cosine
and text neighbours at the item's 20 true co-listening neighbours (item-item cosine on the
full data).

Cold start: 10% of items with ≥ 3 listeners are removed from the collaborative model; the
content projection places them, and we measure how many of their 20 true co-listening
neighbours the projected vector retrieves (cosine in ALS space), against random and against
plain content kNN, on half of the held-out items: ``projection`` is the mapping (kNN with k in
{5, 10, 20, 50}, ridge with alpha in {0.1, 1, 10, 100}) that did best on the other half,
``projection_auto`` the one the build itself picks without seeing held-out items
(:func:`~recsys.embeddings.projection.select_projection`).

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
from recsys.embeddings.config import AlsConfig, FusionConfig, ProjectionConfig
from recsys.embeddings.fusion import (
    PcaReducer,
    collab_scale,
    fuse_listeners,
    fuse_tracks,
    normalise_rows,
)
from recsys.embeddings.projection import fit_projection
from recsys.embeddings.steps import content_matrix
from recsys.embeddings.text import VectorCache, embed_with_cache, load_text_model
from recsys.settings import default_text_model

K = 100
SEED = 0
GRID = [0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7]
MAPPINGS = [ProjectionConfig(method="knn", neighbours=k) for k in (5, 10, 20, 50)] + [
    ProjectionConfig(method="ridge", ridge_alpha=a) for a in (0.1, 1.0, 10.0, 100.0)
]
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
    total, counted = 0.0, 0
    for s, tr, te in zip(scores, train, test, strict=True):
        if not len(te):
            continue
        counted += 1
        s = s.copy()
        s[tr] = -np.inf
        top = np.argpartition(-s, K)[:K]
        total += len(np.intersect1d(top, te)) / len(te)
    return total / max(counted, 1)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` best scores per query row (unordered)."""
    return np.argpartition(-scores, k, axis=1)[:, :k]


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
    # the build's collab_raw: ALS factors for warm tracks, the content projection for the rest
    collab = np.where(warm[:, None], collab_als, 0.0).astype(np.float32)
    collab[~warm] = fit_projection(content[warm], collab_als[warm], ProjectionConfig()).predict(
        content[~warm]
    )
    scale = collab_scale(collab)

    user_row = {u: i for i, u in enumerate(users.tolist())}
    test_by_user = test.groupby("user_id")["item_id"].apply(list)
    train_by_user = train.groupby("user_id")["item_id"].apply(list)
    evaluated = [u for u in test_by_user.index if str(u) in user_row]
    rng.shuffle(evaluated)
    if quick:
        evaluated = evaluated[:300]
    half = len(evaluated) // 2
    tune, rep = evaluated[:half], evaluated[half:]
    u_idx = events["listener_id"].map(user_row).to_numpy()
    i_idx = events["track_id"].map(row_of).to_numpy()
    hist = sp.csr_matrix(
        (events["weight"].to_numpy(dtype=np.float32), (u_idx, i_idx)), shape=(len(users), n)
    )

    def user_parts(us: list[Any]) -> dict[str, np.ndarray]:
        h = hist[[user_row[str(u)] for u in us]]
        return {"text": np.asarray(h @ text_r), "audio": np.asarray(h @ audio)}

    def lists(us: list[Any]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        tr = [np.array([row_of[t] for t in train_by_user[u]]) for u in us]
        te = [np.array([row_of[t] for t in test_by_user[u]]) for u in us]
        return tr, te

    def fused_scores(us: list[Any], w: dict[str, float]) -> np.ndarray:
        listeners = fuse_listeners(user_parts(us), uf[[user_row[str(u)] for u in us]], w)
        return listeners @ fuse_tracks({"text": text_r, "audio": audio}, collab, w, scale=scale).T

    def fused_recall(us: list[Any], w: dict[str, float]) -> float:
        return recall_at_k(fused_scores(us, w), *lists(us))

    best_w, best_r, grid = None, -1.0, []
    for wt, wa in itertools.product(GRID, GRID):
        if wt + wa <= 1.0:
            w = {"text": wt, "audio": wa, "collab": round(1.0 - wt - wa, 2)}
            r = fused_recall(tune, w)
            grid.append({**w, "validation": round(r, 4), "report": round(fused_recall(rep, w), 4)})
            if r > best_r:
                best_w, best_r = w, r
    assert best_w is not None

    def singles(us: list[Any], warm_only: bool = False) -> dict[str, float]:
        parts, (tr, te) = user_parts(us), lists(us)
        if warm_only:  # count only held-out items with a training play: no cold artefact
            te = [t[counts[t] > 0] for t in te]
        ufr = uf[[user_row[str(u)] for u in us]]
        return {
            "text": recall_at_k(normalise_rows(parts["text"]) @ text_r.T, tr, te),
            "audio": recall_at_k(normalise_rows(parts["audio"]) @ audio.T, tr, te),
            "collab_als": recall_at_k(ufr @ collab_als.T, tr, te),
            "collab_als_cosine": recall_at_k(
                normalise_rows(ufr) @ normalise_rows(collab_als).T, tr, te
            ),
        }

    single = singles(rep)
    cosine_als = single.pop("collab_als_cosine")
    tr, te = lists(rep)
    warm_only = singles(rep, warm_only=True)
    del warm_only["collab_als_cosine"]
    warm_only["fusion_tuned"] = recall_at_k(
        fused_scores(rep, best_w), tr, [t[counts[t] > 0] for t in te]
    )
    on_tune = singles(tune)
    del on_tune["collab_als_cosine"]
    d = FusionConfig()
    dw = {"text": d.text_weight, "audio": d.audio_weight, "collab": d.collab_weight}
    fused_tracks = fuse_tracks({"text": text_r, "audio": audio}, collab, best_w, scale=scale)
    t2t = {"fused": fused_tracks, "collab_als_cosine": normalise_rows(collab_als), "text": text_r}
    return {
        "items": n,
        "listeners_evaluated": len(rep),
        "items_with_audio": int(has_audio.sum()),
        "warm_items": int(warm.sum()),
        "test_items_cold": round(float(np.mean(counts[np.concatenate(te)] == 0)), 3),
        "recall_at_100": {k: round(v, 4) for k, v in single.items()},
        "collab_als_cosine": round(cosine_als, 4),
        "recall_at_100_warm_test_items": {k: round(v, 4) for k, v in warm_only.items()},
        "fusion": {
            "tuned_weights": best_w,
            "recall_at_100_validation": round(best_r, 4),
            "best_single_validation": round(max(on_tune.values()), 4),
            "recall_at_100_tuned": round(fused_recall(rep, best_w), 4),
            "recall_at_100_default_weights": round(fused_recall(rep, dw), 4),
            "grid": grid,
        },
        "track_to_track": track_to_track(inter, row_of, counts, t2t, rng, quick),
        "cold_start": cold_start(inter, row_of, content, als_cfg, rng, quick),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def co_listening(inter: pd.DataFrame, row_of: dict[str, int]) -> sp.csc_matrix:
    """Binary listener × item matrix (columns = items) of the full data."""
    users = {u: i for i, u in enumerate(inter["user_id"].astype(str).unique())}
    u_idx = inter["user_id"].astype(str).map(users).to_numpy()
    i_idx = inter["item_id"].map(row_of).to_numpy()
    m = sp.csr_matrix(
        (np.ones(len(inter), dtype=np.float32), (u_idx, i_idx)), shape=(len(users), len(row_of))
    )
    m.data[:] = 1.0
    return m.tocsc()


def true_neighbours(col: sp.csc_matrix, items: np.ndarray, cand: np.ndarray, k: int) -> list:
    """Each item's ``k`` best candidates by co-listening cosine (empty when it has none)."""
    norms = np.sqrt(np.asarray(col.multiply(col).sum(axis=0)).ravel()) + 1e-9
    out = []
    for item in items:
        co = (col[:, [item]].T @ col[:, cand]).toarray().ravel() / (norms[cand] * norms[item])
        co[cand == item] = 0.0
        out.append(set(cand[np.argsort(-co)[:k]].tolist()) if co.max() > 0 else set())
    return out


def precision(found: np.ndarray, truth: list, k: int) -> float:
    pairs = [(f, t) for f, t in zip(found, truth, strict=True) if t]
    return sum(len(t & set(f.tolist())) / k for f, t in pairs) / max(len(pairs), 1)


def track_to_track(
    inter: pd.DataFrame,
    row_of: dict[str, int],
    counts: np.ndarray,
    spaces: dict[str, np.ndarray],
    rng: np.random.Generator,
    quick: bool,
) -> dict[str, Any]:
    """Precision@20 of each space's item neighbours at the true co-listening neighbours."""
    k = 20
    col = co_listening(inter, row_of)
    pool = np.flatnonzero(counts >= 3)
    items = rng.choice(pool, min(len(pool), 300 if quick else 1000), replace=False)
    truth = true_neighbours(col, items, np.arange(len(row_of)), k)
    out: dict[str, Any] = {"items": len(items), "neighbours": k}
    for name, x in spaces.items():
        s = x[items] @ x.T
        s[np.arange(len(items)), items] = -np.inf
        out[f"precision_{name}"] = round(precision(top_k(s, k), truth, k), 4)
    return out


def cold_start(
    inter: pd.DataFrame,
    row_of: dict[str, int],
    content: np.ndarray,
    als_cfg: AlsConfig,
    rng: np.random.Generator,
    quick: bool,
) -> dict[str, Any]:
    """Projection vs random and content kNN at retrieving held-out items' true neighbours."""
    n, k = len(row_of), 20
    col = co_listening(inter, row_of)
    per_item = np.asarray(col.sum(axis=0)).ravel()
    eligible = np.flatnonzero(per_item >= 3)
    held = rng.choice(eligible, max(1, len(eligible) // 10), replace=False)
    if quick:
        held = held[:300]
    kept = inter[~inter["item_id"].map(row_of).isin(set(held.tolist()))]
    events = pd.DataFrame(
        {"listener_id": kept["user_id"].astype(str), "track_id": kept["item_id"],
         "event_type": "play", "weight": kept["weight"].astype(float)}
    )  # fmt: skip
    _, _, its, itf = fit_als(events, als_cfg, seed=SEED)
    als = np.zeros((n, als_cfg.factors), dtype=np.float32)
    als[[row_of[t] for t in its]] = itf
    warm = np.any(als, axis=1)
    cand = np.flatnonzero(warm)
    truth = true_neighbours(col, held, cand, k)
    space = normalise_rows(als[cand])
    val, rep = slice(0, len(held) // 2), slice(len(held) // 2, None)

    def scored(pred: np.ndarray, part: slice) -> float:
        return precision(cand[top_k(normalise_rows(pred) @ space.T, k)], truth[part], k)

    preds, on_val = {}, {}
    for cfg in MAPPINGS:
        label = f"knn_k{cfg.neighbours}" if cfg.method == "knn" else f"ridge_a{cfg.ridge_alpha}"
        preds[label] = fit_projection(content[warm], als[warm], cfg).predict(content[held])
        on_val[label] = round(scored(preds[label][val], val), 4)
    chosen = max(on_val, key=lambda m: on_val[m])
    auto = fit_projection(content[warm], als[warm], ProjectionConfig(), seed=SEED)
    p_auto = scored(auto.predict(content[held[rep]]), rep)
    knn = top_k(normalise_rows(content[held[rep]]) @ normalise_rows(content[cand]).T, k)
    p_proj = scored(preds[chosen][rep], rep)
    p_rand = k / len(cand)
    return {
        "held_out_items": len(held),
        "reported_on": len(held) - len(held) // 2,
        "neighbours": k,
        "validation_precision": on_val,
        "chosen_mapping": chosen,
        "precision_projection": round(p_proj, 4),
        "precision_projection_auto": round(p_auto, 4),
        "auto_mapping": type(auto).__name__,
        "precision_content_knn": round(precision(cand[knn], truth[rep], k), 4),
        "precision_random": round(p_rand, 5),
        "projection_vs_random": round(p_proj / p_rand, 1),
        "projection_auto_vs_random": round(p_auto / p_rand, 1),
    }


def joint_weights(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One weight set for both datasets (the `FusionConfig` defaults): the grid point whose
    smallest lift over the best single modality, on each dataset's validation listeners, is
    largest; and its recall on the reporting listeners."""
    keyed = {
        name: {(g["text"], g["audio"]): g for g in r["fusion"]["grid"]}
        for name, r in results.items()
    }
    single = {name: r["fusion"]["best_single_validation"] for name, r in results.items()}
    points = set.intersection(*(set(grid) for grid in keyed.values()))

    def lift(point: tuple[float, float]) -> float:
        return min(keyed[n][point]["validation"] / max(single[n], 1e-9) for n in keyed)

    top = max(sorted(points), key=lift)
    return {
        "weights": {"text": top[0], "audio": top[1], "collab": round(1.0 - sum(top), 2)},
        "min_validation_lift_over_best_single": round(lift(top), 4),
        "report": {name: grid[top]["report"] for name, grid in keyed.items()},
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
    joint = joint_weights(results)
    joint_beats_all = {
        name: joint["report"][name] > max(r["recall_at_100"].values())
        for name, r in results.items()
    }
    write_result(
        "modalities",
        {
            "k": K,
            "quick": args.quick,
            "datasets": results,
            "fusion_beats_every_modality": fusion_beats_all,
            "joint_weights": joint,
            "joint_weights_beat_every_modality": joint_beats_all,
        },
    )


if __name__ == "__main__":
    main()
