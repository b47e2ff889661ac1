"""``liner eval --task query``: does the served pipeline answer what the listener asked?

Requests come from held-out listening (:mod:`offline_eval.query_requests`): a query names a
genre or tag of an item the listener went on to play, seeds are earlier plays sharing a term
with one; the relevant items are the held-out plays matching the request. The served pipeline
is built once from the training split (:class:`~offline_eval.models.liner.ServedLinerModel`:
the same build steps and ``PipelineRecommender`` as ``liner serve``) and asked every request
several ways; the baselines answer the same requests:

query requests
    ``liner`` (the request as served), ``liner-no-boost`` (``query_weight`` and
    ``seed_weight`` 0: the query gate and the learned reranker only), ``liner-no-query`` (the
    same listener asking without words), ``bm25`` (over the items' title, tags and genre),
    ``text-embedding`` (exact cosine search of the build's text space: the same catalog texts,
    model and query vectors as the service), ``term-popularity``
    (the most played items carrying every term of the query: popularity within the genre).
seed requests
    ``liner``, ``liner-no-boost``, ``liner-no-seeds``, ``seed-text-neighbours`` (items whose
    text vector is closest to the seeds' mean), ``term-popularity`` (the most played items
    carrying the seeds' most shared term).

Every answer leaves out the listener's training items and the seeds. The figures go through
the harness's metrics, bootstrap and paired tests; the control is the best baseline, and
``liner`` is also compared with itself without the query (or seeds). Query requests go to
``OUT/metrics.json`` and ``OUT/report.html``, seed requests to ``OUT/seeds/``.

Example:
    liner eval --task query --dataset hetrec-lastfm-2k --data-root ../shared/datasets \
        --out eval-query
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from offline_eval.datasets import DEFAULT_DATA_ROOT, EvalDataset, load_dataset, load_folder
from offline_eval.datasets.tidytuesday import load_tidytuesday
from offline_eval.errors import EvalError
from offline_eval.metrics import MetricContext, Scorecard, score_slates
from offline_eval.models.base import ModelSpec, Slates
from offline_eval.models.liner import ServedLinerModel
from offline_eval.query_requests import EvalRequest, ItemTerms, make_requests
from offline_eval.report import estimate_rows, json_safe, write_report
from offline_eval.runner import (
    json_number,
    model_estimates,
    omitted_metrics,
    simulated_metrics,
)
from offline_eval.slices import activity_slices, popularity_slices
from offline_eval.splits import Split, make_split
from offline_eval.stats import bootstrap, compare
from offline_eval.tag_query import TagCorpus
from offline_eval.text_search import top_k
from recsys.params import PolicyParams

logger = logging.getLogger(__name__)

KINDS = ("query", "seed", "playlist")
BASELINES = {
    "query": ("bm25", "text-embedding", "term-popularity"),
    "seed": ("seed-text-neighbours", "term-popularity"),
    "playlist": ("bm25", "text-embedding", "term-popularity"),
}
WITHOUT = {"query": "liner-no-query", "seed": "liner-no-seeds", "playlist": "liner-no-query"}
TARGETS = {"query": (1.2, 2.0), "seed": (1.0, 1.0), "playlist": (1.2, 2.0)}
QUERY_ADAPTERS: dict[str, Callable[[Path], EvalDataset]] = {
    "tidytuesday-spotify": partial(load_tidytuesday, with_artist_genres=True),
}
"""Named datasets the query task reads with more catalog words than the recommend task: a
TidyTuesday track carries its artist's Spotify genres, so a title has terms to name."""
OUT_DIRS = {"query": ".", "seed": "seeds", "playlist": "playlists"}
"""Where each kind's metrics.json and report.html go, under ``--out``."""
"""(× the best baseline, × liner without the request) that ``liner`` is meant to reach."""


def _corpus(ds: EvalDataset, popularity: np.ndarray) -> TagCorpus:
    """Every model's view of the items: ``"<title>. Tags: …. Genre: …"``."""
    genres = (
        ds.items["genre"].fillna("").astype(str).tolist()
        if "genre" in ds.items.columns
        else [""] * len(ds.items)
    )
    tags = [tuple(t) for t in ds.item_tags()]
    artists = (
        ds.items["artist_names"].fillna("").astype(str).str.replace("|", ", ").tolist()
        if "artist_names" in ds.items.columns
        else [""] * len(ds.items)
    )
    texts = []
    for title, ts, g, a in zip(ds.items["title"].astype(str), tags, genres, artists, strict=True):
        parts = [f"{title} by {a}" if a else title]
        if ts:
            parts.append("Tags: " + ", ".join(ts))
        if g:
            parts.append("Genre: " + g)
        texts.append(". ".join(parts))
    return TagCorpus(
        items=ds.items.reset_index(drop=True),
        tags=tuple(tags),
        genres=tuple((g,) if g else () for g in genres),
        texts=tuple(texts),
        popularity=popularity,
    )


class QueryEvaluation:
    """Answers query and seed requests with the served pipeline and the baselines."""

    def __init__(
        self,
        ds: EvalDataset,
        split: Split,
        *,
        k: int,
        seed: int,
        options: Mapping[str, Any],
        progress: bool,
    ) -> None:
        self.ds, self.split, self.k, self.seed = ds, split, k, seed
        self.options = dict(options)
        self.progress = progress
        items = ds.items["item_id"].astype(str)
        counts = split.train.groupby(split.train["item_id"].astype(str))["user_id"].nunique()
        self.popularity = items.map(counts).fillna(0).to_numpy(dtype=np.float64)
        self.corpus = _corpus(ds, self.popularity)
        self.item_ids = items.tolist()
        pairs = split.train[["user_id", "item_id"]].astype(str)
        self.seen = {u: set(g) for u, g in pairs.groupby("user_id")["item_id"]}
        self.liner: ServedLinerModel | None = None
        self._vectors: np.ndarray | None = None

    # -- the served pipeline ---------------------------------------------------------------
    def fit_liner(self) -> ServedLinerModel:
        if self.liner is None:
            spec = ModelSpec(name="liner", base="liner", seed=self.seed, options=self.options)
            model = ServedLinerModel(spec)
            model.fit(self.ds.with_interactions(self.split.train), self.split)
            self.liner = model
        return self.liner

    def ask_liner(
        self, requests: Sequence[EvalRequest], *, words: bool, params: PolicyParams
    ) -> Slates:
        from recsys.pipeline import RecommendRequest

        rec = self.fit_liner().recommender
        assert rec is not None
        logging.getLogger("recsys.pipeline.recommender").setLevel(logging.WARNING)
        out: Slates = {}
        for r in tqdm(requests, desc="liner", unit="request", disable=not self.progress):
            drop = self.seen.get(r.user, set()) | set(r.seeds)
            # the service leaves out recent plays and seeds itself; ask for the rest on top
            extra = max(len(drop) - params.recent_play_exclusion, 0) + 5
            req = RecommendRequest(
                listener_id=r.user,
                k=self.k + min(extra, 500),
                query=r.query if words else "",
                context_track_ids=r.seeds if words else (),
                surface="search" if words and r.query else "home",
                params=params,
            )
            items = rec.recommend(req).items
            picks = [(i.track.track_id, float(i.score)) for i in items]
            out[r.qid] = [p for p in picks if p[0] not in drop][: self.k]
        return out

    def ask_full_strength(self, requests: Sequence[EvalRequest], *, params: PolicyParams) -> Slates:
        """``liner`` with every request at full strength (no specificity scaling, always
        gated): the query stage as it was before requests were graded."""
        rec = self.fit_liner().recommender
        assert rec is not None
        stage = rec.query_stage
        served = stage.config
        stage.config = served.model_copy(
            update={"specificity_power": 0.0, "history_redundancy": 0.0, "gate_strength": 0.0}
        )
        try:
            return self.ask_liner(requests, words=True, params=params)
        finally:
            stage.config = served

    def ask_without_focus(self, requests: Sequence[EvalRequest], *, params: PolicyParams) -> Slates:
        """``liner`` with the query stage's focus on the history off (``focus_weight`` 0):
        the words' gate, boost and candidates only."""
        rec = self.fit_liner().recommender
        assert rec is not None
        stage = rec.query_stage
        served = stage.config
        stage.config = served.model_copy(update={"focus_weight": 0.0})
        try:
            return self.ask_liner(requests, words=True, params=params)
        finally:
            stage.config = served

    def oracle_pool(
        self, requests: Sequence[EvalRequest], *, params: PolicyParams, depth: int = 100
    ) -> Slates:
        """Not a model: ``liner`` without the request, its top ``depth`` answers reordered with
        the relevant ones first (they are known here). The most any reordering of what the
        pipeline finds without the words can reach: a ceiling, reported beside the models."""
        k = self.k
        self.k = depth
        try:
            pool = self.ask_liner(requests, words=False, params=params)
        finally:
            self.k = k
        out: Slates = {}
        for r in requests:
            found = pool.get(r.qid, [])
            hits = [p for p in found if p[0] in r.relevant]
            rest = [p for p in found if p[0] not in r.relevant]
            out[r.qid] = [(i, float(depth - n)) for n, (i, _) in enumerate(hits + rest)][:k]
        return out

    # -- baselines -------------------------------------------------------------------------
    def _item_vectors(self) -> np.ndarray:
        """The served build's text space in item order: the catalog texts and the model the
        build embedded them with (items the build lacks are zero rows)."""
        if self._vectors is None:
            rec = self.fit_liner().recommender
            assert rec is not None
            text = np.asarray(rec.spaces.vectors["text"], dtype=np.float32)
            get = rec.catalog.row_of.get
            rows = np.asarray([get(i, -1) for i in self.item_ids], dtype=np.int64)
            vectors = np.zeros((len(self.item_ids), text.shape[1]), np.float32)
            vectors[rows >= 0] = text[rows[rows >= 0]]
            self._vectors = vectors
        return self._vectors

    def _query_vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Queries embedded as the service embeds them."""
        rec = self.fit_liner().recommender
        assert rec is not None
        return np.stack([np.asarray(rec.spaces.query_vector(t), np.float32) for t in texts])

    def _answer(self, r: EvalRequest, scores: np.ndarray) -> list[tuple[str, float]]:
        drop = self.seen.get(r.user, set()) | set(r.seeds)
        found = top_k(scores, self.item_ids, self.k + min(len(drop), 500))
        return [p for p in found if p[0] not in drop and np.isfinite(p[1])][: self.k]

    def bm25(self, requests: Sequence[EvalRequest]) -> Slates:
        from offline_eval.text_search import Bm25Search

        search = Bm25Search()
        search.index(self.corpus)
        assert search._bm25 is not None
        from offline_eval.text_search import tokenize

        out: Slates = {}
        for r in requests:
            scores = np.asarray(search._bm25.get_scores(tokenize(r.query)), dtype=np.float64)
            out[r.qid] = [p for p in self._answer(r, scores) if p[1] > 0]
        return out

    def text_embedding(self, requests: Sequence[EvalRequest]) -> Slates:
        vecs = self._item_vectors()
        q = self._query_vectors([r.query for r in requests])
        return {r.qid: self._answer(r, vecs @ q[i]) for i, r in enumerate(requests)}

    def seed_text_neighbours(self, requests: Sequence[EvalRequest]) -> Slates:
        vecs = self._item_vectors()
        pos = {i: n for n, i in enumerate(self.item_ids)}
        out: Slates = {}
        for r in requests:
            centre = vecs[[pos[s] for s in r.seeds]].mean(axis=0)
            out[r.qid] = self._answer(r, vecs @ centre)
        return out

    def term_popularity(
        self, requests: Sequence[EvalRequest], table: ItemTerms, *, partial: bool = False
    ) -> Slates:
        """The most played items carrying every term (``partial``: the most of the terms;
        plain popularity when the request names none, as for most playlist titles)."""
        out: Slates = {}
        pos = table.position
        for r in requests:
            if partial:
                carried = np.asarray([len(set(r.terms) & ts) for ts in table.terms], np.float64)
                top = self.popularity.max() + 1.0
                scores = np.where(carried > 0, carried * top + self.popularity, self.popularity)
                if r.terms and carried.max() > 0:
                    scores = np.where(carried > 0, scores, -np.inf)
                out[r.qid] = self._answer(r, scores)
                continue
            terms: Sequence[str] = r.terms
            if r.seeds:  # the seeds' most shared usable term
                shared = Counter(
                    t for s in r.seeds for t in table.terms[pos[s]] if t in table.usable
                )
                ranked = sorted(shared.items(), key=lambda kv: (-kv[1], kv[0]))  # no hash order
                terms = [ranked[0][0]] if ranked else []
            hit = np.asarray([bool(terms) and set(terms) <= ts for ts in table.terms])
            scores = np.where(hit, self.popularity, -np.inf)
            out[r.qid] = self._answer(r, scores)
        return out

    def answers(
        self, kind: str, requests: Sequence[EvalRequest], table: ItemTerms, models: Sequence[str]
    ) -> tuple[dict[str, Slates], dict[str, dict[str, float]], dict[str, str]]:
        """Slates per model, timings and failures."""
        served = PolicyParams()
        no_boost = PolicyParams(query_weight=0.0, seed_weight=0.0)
        makers: dict[str, Callable[[], Slates]] = {
            "liner": lambda: self.ask_liner(requests, words=True, params=served),
            "liner-no-boost": lambda: self.ask_liner(requests, words=True, params=no_boost),
            "liner-light-boost": lambda: self.ask_liner(
                requests, words=True, params=PolicyParams(query_weight=1.0)
            ),
            "liner-full-strength": lambda: self.ask_full_strength(requests, params=served),
            "liner-no-focus": lambda: self.ask_without_focus(requests, params=served),
            "oracle-no-query-top100": lambda: self.oracle_pool(requests, params=served),
            WITHOUT[kind]: lambda: self.ask_liner(requests, words=False, params=served),
            "bm25": lambda: self.bm25(requests),
            "text-embedding": lambda: self.text_embedding(requests),
            "seed-text-neighbours": lambda: self.seed_text_neighbours(requests),
            "term-popularity": lambda: self.term_popularity(
                requests, table, partial=kind == "playlist"
            ),
        }
        slates: dict[str, Slates] = {}
        timings: dict[str, dict[str, float]] = {}
        failures: dict[str, str] = {}
        for name in models:
            if name not in makers:
                raise EvalError(f"unknown model {name!r} for {kind} requests. Fix: {list(makers)}")
            t0 = time.perf_counter()
            try:
                slates[name] = makers[name]()
            except Exception as exc:  # one failing model must not lose the others' results
                logger.exception("model %s failed", name)
                failures[name] = f"{type(exc).__name__}: {exc}"
                continue
            timings[name] = {"recommend_s": round(time.perf_counter() - t0, 2)}
        return slates, timings, failures

    def close(self) -> None:
        if self.liner is not None:
            self.liner.close()
            self.liner = None


def default_models(kind: str) -> list[str]:
    """``liner`` asked several ways (with words: also ``liner-full-strength``, every request
    at full strength and gated, as before requests were graded, and ``liner-no-focus``,
    without the query's focus on the history; for playlist titles also
    ``liner-light-boost``, ``query_weight`` 1) and the kind's baselines. The ceiling
    ``oracle-no-query-top100`` is asked for by name only."""
    light = ["liner-light-boost"] if kind == "playlist" else []
    full = ["liner-full-strength", "liner-no-focus"] if kind != "seed" else []
    return ["liner", "liner-no-boost", *full, *light, WITHOUT[kind], *BASELINES[kind]]


ORACLES = ("oracle-no-query-top100",)
"""Ceilings, not models: asked for by name only, never a control or a baseline."""


def _document(
    *,
    ds: EvalDataset,
    split: Split,
    kind: str,
    requests: Sequence[EvalRequest],
    table: ItemTerms,
    cards: dict[str, Scorecard],
    ctx: MetricContext,
    k: int,
    n_boot: int,
    seed: int,
    progress: bool,
    timings: dict[str, dict[str, float]],
    failures: dict[str, str],
) -> dict[str, Any]:
    boot = bootstrap(cards, n_boot=n_boot, seed=seed, progress=progress)
    key = f"ndcg@{k}"
    pool = [m for m in BASELINES[kind] if m in boot.estimates] or list(boot.estimates)
    control = max(pool, key=lambda m: boot.estimates[m][key].value)
    omitted = omitted_metrics(ctx, boot.estimates)

    def compared(model: str, against: str) -> dict[str, Any]:
        return {
            c.metric: {
                "diff": json_number(c.diff),
                "ci": [json_number(c.ci[0]), json_number(c.ci[1])],
                "p_value": json_number(c.p_value),
                "test": c.test,
                "significant": c.significant,
            }
            for c in compare(boot, cards, model, against)
            if c.metric not in omitted
        }

    without = WITHOUT[kind]
    targets: dict[str, Any] = {}
    if "liner" in boot.estimates:
        ours = boot.estimates["liner"][key].value
        for label, other, goal in (
            ("vs_best_baseline", control, TARGETS[kind][0]),
            (f"vs_{without}", without, TARGETS[kind][1]),
        ):
            if other in boot.estimates and other != "liner":
                theirs = boot.estimates[other][key].value
                ratio = ours / theirs if theirs > 0 else float("inf")
                sig = compared("liner", other).get(key, {}).get("significant")
                targets[label] = {
                    "against": other,
                    "ratio": json_number(ratio) if np.isfinite(ratio) else None,
                    "target": goal,
                    "met": bool(ratio >= goal and sig),
                }
    n_terms = Counter(len(r.terms) for r in requests)
    if kind == "playlist":
        named = sum(1 for r in requests if r.terms)
        description = (
            f"playlist requests: {len(requests)} from "
            f"{len({r.user for r in requests})} test listeners, one per playlist of theirs "
            f"holding held-out items, up to 5 each (query = its title, as written; {named} titles "
            "name a usable catalog term); relevant = that playlist's held-out tracks; "
            f"{len(table.usable):,} usable terms; answers exclude training items"
        )
    else:
        description = (
            f"{kind} requests from held-out listening: {len(requests)} test listeners, one "
            + (
                "each (query = genre/tag words of one of their held-out items; "
                f"{n_terms.get(2, 0)} name two terms); "
                if kind == "query"
                else "each (seeds = up to 3 training items sharing a genre/tag with a "
                "held-out item); "
            )
            + "relevant = their held-out items carrying the request's terms; "
            + f"{len(table.usable):,} usable terms; answers exclude training items and seeds"
        )
    return {
        "dataset": ds.name,
        "split": split.kind,
        "split_description": split.description,
        "task": description,
        "k": k,
        "n_listeners": len(ctx.users),
        "n_bootstrap": n_boot,
        "seed": seed,
        "models": model_estimates(boot.estimates, omitted),
        "control": control,
        "comparisons": {m: compared(m, control) for m in cards if m != control},
        "paired_without_request": (
            {"liner": compared("liner", without)} if "liner" in cards and without in cards else {}
        ),
        "paired_vs_full_strength": (
            {"liner": compared("liner", "liner-full-strength")}
            if "liner" in cards and "liner-full-strength" in cards
            else {}
        ),
        "paired_vs_no_focus": (
            {"liner": compared("liner", "liner-no-focus")}
            if "liner" in cards and "liner-no-focus" in cards
            else {}
        ),
        "paired_vs_baselines": {
            b: compared("liner", b) for b in BASELINES[kind] if b in cards and "liner" in cards
        },
        "targets": targets,
        "examples": [
            {"user": r.user, "query": r.query, "seeds": list(r.seeds), "relevant": len(r.relevant)}
            for r in list(requests)[:10]
        ],
        "slices": {
            m: {
                "listener_activity": activity_slices(ctx, c),
                "item_popularity": popularity_slices(ctx, c),
            }
            for m, c in cards.items()
        },
        "omitted_metrics": omitted,
        "simulated_metrics": simulated_metrics(boot.estimates) if ds.provenance_simulated else [],
        "provenance_simulated": ds.provenance_simulated,
        "provenance_note": ds.provenance_description,
        "integrity_truth": ds.has_integrity_truth,
        "dataset_notes": list(ds.notes),
        "timings": timings,
        "failed_models": failures,
    }


def run_query_evaluation(
    *,
    dataset: str | None = None,
    data: str | Path | None = None,
    eval_dataset: EvalDataset | None = None,
    data_root: str | Path = DEFAULT_DATA_ROOT,
    out: str | Path | None = None,
    kinds: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    split: str | None = None,
    k: int = 10,
    seed: int = 0,
    n_boot: int = 1000,
    max_requests: int = 500,
    options: Mapping[str, Any] | None = None,
    progress: bool = True,
) -> dict[str, dict[str, Any]]:
    """Evaluate query, seed and playlist requests; one metrics document per kind (written
    under ``out``: query requests in ``out``, seed requests in ``out/seeds``, playlist-title
    requests in ``out/playlists``).

    ``kinds`` default: query and seed, plus playlist when the dataset names playlists; a
    default kind the data cannot make requests for (no usable genre or tag, say) is skipped
    and its reason kept in the returned ``skipped`` entry. Asked-for kinds must run.

    ``options`` are the served build's and the text baselines' (``text_model``: a
    sentence-transformers directory, or ``hash`` for the tests' hashed bag of words).
    """
    given = [x is not None for x in (dataset, data, eval_dataset)]
    if sum(given) != 1:
        raise EvalError("give exactly one of --dataset NAME or --data DIR")
    if eval_dataset is not None:
        ds = eval_dataset
    elif data is not None:
        ds = load_folder(data)
    elif dataset in QUERY_ADAPTERS:
        ds = QUERY_ADAPTERS[dataset](Path(data_root))
    else:
        assert dataset is not None
        ds = load_dataset(dataset, data_root)
    chosen = make_split(ds.interactions, split, seed=seed)
    logger.info("split: %s", chosen.description)
    # Requests, relevance and every model see the catalog as it stood for the split: HetRec's
    # listener tags without later tagging or the held-out pairs' own tags.
    ds = ds.tags_visible(chosen)
    evaluation = QueryEvaluation(
        ds, chosen, k=k, seed=seed, options=options or {}, progress=progress
    )
    docs: dict[str, dict[str, Any]] = {}
    asked = kinds is not None
    if kinds is None:
        kinds = [k for k in KINDS if k != "playlist" or ds.playlists is not None]
    skipped: dict[str, str] = {}
    try:
        for kind in kinds:
            started = time.perf_counter()
            try:
                requests, table = make_requests(
                    ds, chosen.train, chosen.test, kind=kind, max_requests=max_requests,
                    seed=seed,
                )  # fmt: skip
            except EvalError as exc:
                if asked:
                    raise
                logger.warning("no %s requests: %s", kind, exc)
                skipped[kind] = str(exc)
                continue
            wanted = models_for(kind, models)
            slates, timings, failures = evaluation.answers(kind, requests, table, wanted)
            if not slates:
                raise EvalError(f"every model failed on {kind} requests: {failures}")
            truth = pd.DataFrame(
                [(r.qid, i) for r in requests for i in sorted(r.relevant)],
                columns=["user_id", "item_id"],
            )
            ctx = MetricContext.build(ds, chosen.train, truth, k)
            ctx = _per_request_activity(ctx, requests, chosen.train)
            cards = {m: score_slates(ctx, s) for m, s in slates.items()}
            doc = _document(
                ds=ds, split=chosen, kind=kind, requests=requests, table=table, cards=cards,
                ctx=ctx, k=k, n_boot=n_boot, seed=seed, progress=progress, timings=timings,
                failures=failures,
            )  # fmt: skip
            doc["runtime_s"] = round(time.perf_counter() - started, 1)
            doc = json_safe(doc)
            if out is not None:
                where = Path(out) / OUT_DIRS[kind]
                write_report(doc, where)
                doc["written_to"] = str(where / "metrics.json")
            docs[kind] = doc
    finally:
        evaluation.close()
    if not docs:
        raise EvalError(f"no request kind could be made from {ds.name}: {skipped}")
    if skipped:
        docs["skipped"] = {"skipped": skipped}
    return docs


def _per_request_activity(
    ctx: MetricContext, requests: Sequence[EvalRequest], train: pd.DataFrame
) -> MetricContext:
    """The context with each request's activity its listener's (a listener asked once per
    playlist has request ids ``listener#playlist``, which the training split does not know)."""
    user_of = {r.qid: r.user for r in requests}
    if all(q == u for q, u in user_of.items()):
        return ctx
    sizes = train.groupby(train["user_id"].astype(str)).size()
    activity = np.asarray([float(sizes.get(user_of.get(q, q), 0)) for q in ctx.users])
    return dataclasses.replace(ctx, activity=activity)


def models_for(kind: str, asked: Sequence[str] | None) -> list[str]:
    """The asked models that answer ``kind`` requests (default: :func:`default_models`).

    Raises:
        EvalError: for a name no kind knows.
    """
    if not asked:
        return default_models(kind)
    known = {m for k in KINDS for m in default_models(k)} | set(ORACLES)
    unknown = sorted(set(asked) - known)
    if unknown:
        raise EvalError(f"unknown model(s) {unknown} for --task query. Fix: use {sorted(known)}")
    return [m for m in asked if m in default_models(kind) or (m in ORACLES and kind != "seed")]


def summary(docs: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Lines for the terminal: per kind, every model's ndcg@k and hit rate with intervals,
    the comparisons and the targets."""
    lines: list[str] = []
    for kind, doc in docs.items():
        if kind == "skipped":
            lines += [f"{name} requests skipped: {why}" for name, why in doc["skipped"].items()]
            continue
        k = doc["k"]
        keys = [f"ndcg@{k}", f"hit_rate@{k}"]
        lines.append(f"{kind} requests: {doc['task']}")
        lines += estimate_rows(doc["models"], keys)
        comps = dict(doc.get("comparisons") or {})
        for name, comp in (doc.get("paired_without_request") or {}).items():
            comps[f"{name} (vs {WITHOUT[kind]})"] = comp
        for name, comp in (doc.get("paired_vs_full_strength") or {}).items():
            comps[f"{name} (vs liner-full-strength)"] = comp
        for name, comp in (doc.get("paired_vs_no_focus") or {}).items():
            comps[f"{name} (vs liner-no-focus)"] = comp
        for name, comp in comps.items():
            c = comp.get(keys[0]) or {}
            if c.get("diff") is None:
                continue
            vs = "" if "(vs" in name else f" vs {doc['control']}"
            verdict = "significant" if c.get("significant") else "not significant"
            lines.append(
                f"  {name}{vs}: {keys[0]} {c['diff']:+.4f} [{c['ci'][0]:+.4f}, {c['ci'][1]:+.4f}]"
                f" ({verdict})"
            )
        for label, t in (doc.get("targets") or {}).items():
            lines.append(
                f"  target {label}: liner / {t['against']} = {t['ratio']} (goal ≥ {t['target']}"
                f", significant): {'met' if t['met'] else 'NOT met'}"
            )
        for name, why in (doc.get("failed_models") or {}).items():
            lines.append(f"  FAILED: {name}: {why}")
        if doc.get("written_to"):
            lines.append(f"  wrote {doc['written_to']}")
    return lines


__all__ = [
    "KINDS",
    "QueryEvaluation",
    "default_models",
    "models_for",
    "run_query_evaluation",
    "summary",
]
