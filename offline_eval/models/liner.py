"""The served pipeline as the harness model ``liner`` (and ``liner:<variant>``).

What is scored is what ``liner build`` / ``liner serve`` serve: the training split is loaded
into a temporary store (one ingest batch, every upload marked screened, every rights holder
granting ``ai_training``: research data carries no consent ledger), the registered build steps
(:func:`recsys.build.default_steps`: embeddings, fused space, FAISS indexes, the reranker
trained from the event log) write a temporary artifact directory, and slates come from
:func:`recsys.pipeline.load_recommender`'s :class:`~recsys.pipeline.PipelineRecommender`,
request by request, as the service asks for them. Nothing is fitted here that the build does
not fit.

The harness requires slates of unseen items. The service already excludes a listener's
``recent_play_exclusion`` most recent plays, so a request asks for exactly ``k`` (the slate a
listener gets, with its emerging-artist slot and caps inside the ``k``) unless the listener has
more training items than that; only then is it widened by the excess and the rest dropped.
(Asking for ``k`` plus every training item, as before, pushed the emerging slot out of the
scored top ``k`` and measured a slate nobody is served.)

Options (``--model-option``): ``text_model`` (a sentence-transformers directory, default the
settings' model; ``hash`` for a fast hashed bag of words, as the tests use), ``keep`` (a
folder to keep the store and artifacts in, for inspection), ``text_cache`` (a folder where
text vectors are cached between fits, keyed by model and text: default
``~/.cache/liner/eval-text``; ``none`` to embed every time).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from offline_eval.models.base import ModelSpec, Slates, register_model

if TYPE_CHECKING:
    from offline_eval.datasets import EvalDataset
    from offline_eval.splits import Split
    from recsys.pipeline import PipelineRecommender
    from recsys.store import SqliteStore

logger = logging.getLogger(__name__)

_MAX_EXTRA = 500
_EPOCH = pd.Timestamp("2000-01-01", tz="UTC")


class HashTextModel:
    """A deterministic stand-in for sentence-transformers: hashed bag of words (32 dims)."""

    name = "hash-bow"

    def encode(self, sentences: list[str], **kwargs: Any) -> np.ndarray:
        out = np.zeros((len(sentences), 32), dtype=np.float32)
        for i, s in enumerate(sentences):
            for w in s.lower().split():
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % 32] += 1.0
        return out + 1e-3


def event_frame(interactions: pd.DataFrame) -> pd.DataFrame:
    """Harness interactions as the store's ``events`` frame (play events; undated pairs get
    a fixed time before every dated one; when most pairs are undated the build's reranker
    holds out each listener's latest pairs instead of splitting by time)."""
    ts = pd.to_datetime(interactions["timestamp"], unit="s", utc=True, errors="coerce")
    at = ts.fillna(_EPOCH)  # the reranker then holds out per listener (recsys.pipeline.training)
    n = len(interactions)
    return pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "listener_id": interactions["user_id"].astype(str).to_numpy(),
            "track_id": interactions["item_id"].astype(str).to_numpy(),
            "event_type": "play",
            "at": at.to_numpy(),
            "ms_played": 0,
            "weight": interactions["weight"].astype(float).to_numpy(),
            "request_id": "",
            "position": -1,
        }
    )


def training_store(train: EvalDataset, path: Path) -> SqliteStore:
    """A store holding the training split: catalog, listeners, plays, consent to train."""
    from recsys.domain import ConsentAction, ConsentEntry, ConsentScope, Listener
    from recsys.pipeline.eval_world import tracks_from_items
    from recsys.store import SqliteStore
    from recsys.store.base import IngestBatch

    tracks, artists = tracks_from_items(train.items)
    users = sorted(train.interactions["user_id"].astype(str).unique())
    consent = [
        ConsentEntry(
            entry_id=f"eval-{a.rights_holder_id}",
            rights_holder_id=a.rights_holder_id,
            scope=ConsentScope.AI_TRAINING,
            action=ConsentAction.GRANT,
            actor="offline-eval",
            reason="research dataset: every rights holder treated as consenting to training",
            at=_EPOCH.to_pydatetime(),
        )
        for a in artists
    ]
    store = SqliteStore(path)
    store.ingest(
        IngestBatch(
            artists=artists,
            tracks=list(tracks.values()),
            listeners=[Listener(listener_id=u) for u in users],
            consent=consent,
            event_frame=event_frame(train.interactions),
        )
    )
    # Research catalogs are not uploads: nothing to screen, nothing held.
    store.finish_screening(screened=store.unscreened_marks())
    return store


class ServedLinerModel:
    """The served artifacts as a harness :class:`~offline_eval.models.base.Recommender`."""

    def __init__(self, spec: ModelSpec) -> None:
        from recsys.params import PolicyParams

        self.spec = spec
        self.name = spec.name
        self.params = spec.params or PolicyParams()
        self.options = dict(spec.options)
        self.recommender: PipelineRecommender | None = None
        self.manifest_steps: dict[str, Any] = {}
        self._seen: dict[str, set[str]] = {}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._prepared: tuple[Path, SqliteStore, Any] | None = None

    def _text_model(self) -> Any:
        name = self.options.get("text_model")
        if name == "hash":
            return HashTextModel()
        if name:
            from recsys.embeddings.text import load_text_model

            return load_text_model(str(name))
        return None

    def _text_cache(self) -> Path | None:
        opt = str(self.options.get("text_cache", "~/.cache/liner/eval-text"))
        if opt.lower() == "none" or self.options.get("text_model") == "hash":
            return None  # the hashed bag of words costs nothing to recompute
        return Path(opt).expanduser()

    def _root(self) -> Path:
        keep = self.options.get("keep")
        if keep:
            root = Path(str(keep))
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True)
            return root
        self._tmp = tempfile.TemporaryDirectory(prefix="liner-eval-")
        return Path(self._tmp.name)

    def _prepare(self, train: EvalDataset) -> tuple[Path, SqliteStore, Any]:
        """The store holding ``train``, the settings, and the text cache copied in (once)."""
        if self._prepared is not None:
            return self._prepared
        from recsys.settings import LinerSettings

        root = self._root()
        logger.info("%s: loading the training split into a store in %s", self.name, root)
        store = training_store(train, root / "liner.db")
        settings = LinerSettings(db=str(root / "liner.db"), artifacts=root / "artifacts")
        settings = settings.model_copy(update={"seed": self.spec.seed})
        cache = self._text_cache()
        shared = root / "artifacts.cache"  # where build_artifacts caches vectors
        if cache is not None and cache.is_dir():
            shutil.copytree(cache, shared, dirs_exist_ok=True)
        self._prepared = (root, store, settings)
        return self._prepared

    def _build(self, train: EvalDataset, steps: Sequence[Any] | None = None) -> Any:
        """Run the build's steps (default all; those already built are carried over) and
        copy the text vectors back to the text cache."""
        from recsys.build import build_artifacts

        root, store, settings = self._prepare(train)
        manifest = build_artifacts(
            store, root / "artifacts", settings, steps=steps, text_model=self._text_model()
        )
        cache = self._text_cache()
        if cache is not None:
            cache.mkdir(parents=True, exist_ok=True)
            for f in (root / "artifacts.cache").glob("text-*"):  # part folders (and old files)
                if f.is_dir():
                    shutil.copytree(f, cache / f.name, dirs_exist_ok=True)
                elif f.suffix == ".npz":
                    shutil.copy2(f, cache / f.name)
        return manifest

    def share_text(self, train: EvalDataset) -> bool:
        """Embed the catalog's texts now (the build's ``catalog`` and ``text`` steps; the
        later :meth:`fit` carries them over) and leave the vectors in the text cache, where
        another build of the same catalog, in another process, finds them instead of
        embedding them again. False, doing nothing, when a named text model has no cache to
        share (``text_cache=none``); the hashed bag of words needs none."""
        if self.options.get("text_model") == "hash":
            return True
        if self._text_cache() is None:
            return False
        from recsys.build import default_steps

        self._build(train, [s for s in default_steps() if s.name in ("catalog", "text")])
        return True

    def fit(self, train: EvalDataset, split: Split) -> None:
        """Build the served artifacts from the training split and load them as served."""
        from recsys.pipeline import load_recommender

        root, store, settings = self._prepare(train)
        manifest = self._build(train)
        self.manifest_steps = {name: step.info for name, step in manifest.steps.items()}
        self.recommender = load_recommender(root / "artifacts", store, settings, log_slates=False)
        model = self._text_model()
        if model is not None:
            self.recommender.spaces._model = model  # type: ignore[attr-defined]
        pairs = train.interactions[["user_id", "item_id"]].astype(str)
        self._seen = {u: set(g) for u, g in pairs.groupby("user_id")["item_id"]}

    def recommend(self, user_ids: Sequence[str], k: int) -> Slates:
        """Top-``k`` unseen items per user, one served request each."""
        from recsys.pipeline import RecommendRequest

        rec = self.recommender
        if rec is None:
            raise RuntimeError(f"{self.name}: call fit() before recommend()")
        out: Slates = {}
        # one INFO line per served request is the service's access log, not the harness's
        logging.getLogger("recsys.pipeline.recommender").setLevel(logging.WARNING)
        for u in tqdm(user_ids, desc=f"{self.name} slates", unit="listener", mininterval=5):
            seen = self._seen.get(str(u), set())
            extra = max(len(seen) - self.params.recent_play_exclusion, 0)
            req = RecommendRequest(
                listener_id=str(u), k=k + min(extra, _MAX_EXTRA), params=self.params
            )
            slate = rec.recommend(req)
            picks = [
                (i.track.track_id, float(i.score))
                for i in slate.items
                if i.track.track_id not in seen
            ]
            out[str(u)] = picks[:k]
        return out

    def close(self) -> None:
        """Close the store and remove the temporary directory."""
        if self.recommender is not None:
            self.recommender.store.close()
            self.recommender = None
        elif self._prepared is not None:  # built nothing to serve (a failed build)
            self._prepared[1].close()
        self._prepared = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


register_model("liner", ServedLinerModel, replace=True)

__all__ = ["HashTextModel", "ServedLinerModel", "event_frame", "training_store"]
