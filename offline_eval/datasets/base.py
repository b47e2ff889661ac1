"""The in-memory dataset every split, model and metric of the harness works on."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from offline_eval.splits import Split

#: Provider groups used by the fairness metrics, in report order.
PROVIDER_GROUPS: tuple[str, ...] = ("human", "ai_assisted", "ai_generated", "undisclosed")

_GROUP_BY_INVOLVEMENT = {
    "NONE": "human",
    "ASSISTED": "ai_assisted",
    "GENERATED": "ai_generated",
    "UNDISCLOSED": "undisclosed",
}


@dataclass(frozen=True, kw_only=True)
class DatedTags:
    """Item tags that listeners assigned at known times, so a split can hide the future.

    Attributes:
        assignments: one row per tag assignment: ``user_id``, ``item_id`` (str), ``tag``
            (str) and ``timestamp`` (float Unix seconds, NaN when unknown).
        static: per ``item_id``, ``|``-joined tags that carry no time and come from no
            listener (e.g. a catalog's genres); always visible.
        per_item: an item keeps its ``per_item`` most assigned tags.
    """

    assignments: pd.DataFrame
    static: pd.Series
    per_item: int = 10


def tags_from_assignments(assignments: pd.DataFrame, per_item: int) -> pd.Series:
    """Each item's ``per_item`` most assigned tags, ``|``-joined, indexed by ``item_id``
    (ties broken by first assignment order)."""
    if assignments.empty:
        return pd.Series(dtype=object)
    counts = assignments.groupby(["item_id", "tag"], sort=False).size().rename("n").reset_index()
    counts = counts.sort_values(["item_id", "n"], ascending=[True, False], kind="stable")
    return counts.groupby("item_id").head(per_item).groupby("item_id")["tag"].agg("|".join)


def join_tags(first: pd.Series, second: pd.Series) -> pd.Series:
    """Element-wise ``first|second`` of two aligned str series, skipping empty sides."""
    a = first.fillna("").astype(str)
    b = pd.Series(second.fillna("").astype(str).to_numpy(), index=first.index)
    return a.where(b == "", b.where(a == "", a + "|" + b))


@dataclass(frozen=True, kw_only=True)
class EvalDataset:
    """A dataset as the harness sees it: a catalog of items and who interacted with what.

    Attributes:
        name: short name used in reports (``hetrec-lastfm-2k``, a folder name, ...).
        items: one row per item. Always has ``item_id`` (str), ``title``, ``artist_id`` (primary
            artist, str), ``tags`` (``|``-joined str, may be empty), ``ai_involvement``
            (``NONE``/``ASSISTED``/``GENERATED``/``UNDISCLOSED``), ``provider_group`` (one of
            :data:`PROVIDER_GROUPS`) and ``integrity_flag`` (bool: quarantined, spam or
            imitation per the dataset's own truth). May have ``audio_*`` floats, ``genre``,
            ``release_date`` and any other columns the source carried.
        interactions: one row per event: ``user_id``, ``item_id`` (str), ``weight`` (float) and
            ``timestamp`` (float Unix seconds, NaN when unknown).
        artists: optional artists frame (``artist_id``, ``name``, ``kind``, ...).
        credits: optional credits frame.
        listeners: optional listeners frame (``user_id``, ``ai_preference``, ...).
        consent: optional consent ledger.
        playlists: optional playlist membership, one row per (playlist, track): ``playlist_id``,
            ``name`` (the title as its author wrote it), ``user_id`` (who made it) and
            ``item_id`` (str). Splits do not touch it; the query task joins it with the held-out
            pairs (docs/data-format.md, ``playlists``).
        provenance_simulated: True when AI-involvement labels were assigned by a declared,
            seeded simulation rather than taken from the data.
        provenance_description: how provenance was obtained, quoted in every report.
        has_integrity_truth: whether ``integrity_flag`` comes from the data (False: all False).
        source: where the data was read from.
        notes: adapter notes the report repeats (e.g. how undated pairs were handled).
        dated_tags: when item tags come from dated listener tag assignments (HetRec), the
            assignments; :meth:`tags_visible` then rebuilds ``items["tags"]`` from those a
            model trained on a split may see. ``items["tags"]`` holds every assignment's tags.
    """

    name: str
    items: pd.DataFrame
    interactions: pd.DataFrame
    artists: pd.DataFrame | None = None
    credits: pd.DataFrame | None = None
    listeners: pd.DataFrame | None = None
    consent: pd.DataFrame | None = None
    playlists: pd.DataFrame | None = None
    provenance_simulated: bool = False
    provenance_description: str = "declared in the data"
    has_integrity_truth: bool = False
    source: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    dated_tags: DatedTags | None = None

    @property
    def has_timestamps(self) -> bool:
        """Whether any interaction carries a time."""
        return bool(self.interactions["timestamp"].notna().any())

    def with_interactions(self, interactions: pd.DataFrame) -> EvalDataset:
        """The same catalog with other interactions (used by splits for train and test)."""
        return replace(self, interactions=interactions.reset_index(drop=True))

    def tags_visible(self, split: Split) -> EvalDataset:
        """The catalog as a model trained on ``split`` may see it.

        Item tags are rebuilt from the tag assignments made before the split's temporal
        cut-off and not on a held-out (listener, item) pair: a test pair is often itself a
        tagging event, and an item tagged only later would otherwise tell content features
        that it is about to be played. Without :attr:`dated_tags` the dataset is returned as
        it is.
        """
        if self.dated_tags is None:
            return self
        a = self.dated_tags.assignments
        keep = np.ones(len(a), dtype=bool)
        if split.cutoff is not None:
            keep &= a["timestamp"].to_numpy(dtype=np.float64) < split.cutoff
        held = pd.MultiIndex.from_frame(split.test[["user_id", "item_id"]].astype(str))
        keep &= ~pd.MultiIndex.from_frame(a[["user_id", "item_id"]]).isin(held)
        ids = self.items["item_id"].astype(str)
        listener = ids.map(tags_from_assignments(a[keep], self.dated_tags.per_item))
        static = ids.map(self.dated_tags.static)
        items = self.items.copy()
        items["tags"] = join_tags(listener, static).to_numpy()
        before = int(ids.isin(set(a["item_id"])).sum())
        after = int(listener.notna().sum())
        why = (
            f"before the cut-off {pd.Timestamp(split.cutoff, unit='s', tz='UTC'):%Y-%m-%d}"
            if (split.cutoff is not None)
            else "outside the held-out pairs"
        )
        note = (
            f"Item tags rebuilt from the {int(keep.sum()):,} of {len(a):,} tag assignments made "
            f"{why}: {after:,} of the {before:,} listener-tagged items keep listener tags "
            "(content features never see later tagging)."
        )
        return replace(self, items=items, notes=(*self.notes, note))

    def item_tags(self) -> list[list[str]]:
        """Each item's tags as a list, in ``items`` row order."""
        return [[t for t in str(s).split("|") if t] for s in self.items["tags"].fillna("")]

    def audio_matrix(self) -> np.ndarray | None:
        """Standardised ``audio_*`` columns (NaN → 0), or None when there are none."""
        cols = [c for c in self.items.columns if c.startswith("audio_")]
        if not cols:
            return None
        x = self.items[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
        mean = np.nanmean(np.where(np.isnan(x), np.nan, x), axis=0)
        std = np.nanstd(x, axis=0)
        std = np.where((std > 0) & ~np.isnan(std), std, 1.0)
        z = (x - np.nan_to_num(mean)) / std
        return np.nan_to_num(z)


def finalize_items(items: pd.DataFrame, artists: pd.DataFrame | None = None) -> pd.DataFrame:
    """Fill the item columns every harness step relies on, with the documented defaults.

    Args:
        items: items with at least ``item_id`` and ``title``.
        artists: optional artists frame; an ``ai_persona`` artist makes an undisclosed track
            count as AI-generated for the provider groups.

    Returns:
        A copy with ``artist_id``, ``tags``, ``ai_involvement``, ``provider_group`` and
        ``integrity_flag`` present.
    """
    out = items.copy()
    out["item_id"] = out["item_id"].astype(str)
    out["title"] = out["title"].fillna("").astype(str)
    if "artist_id" not in out.columns:
        if "artist_ids" in out.columns:
            out["artist_id"] = out["artist_ids"].fillna("").astype(str).str.split("|").str[0]
            out.loc[out["artist_id"] == "", "artist_id"] = out["item_id"]
        else:
            out["artist_id"] = out["item_id"]
    out["artist_id"] = out["artist_id"].astype(str)
    if "tags" not in out.columns:
        out["tags"] = ""
    if "genre" in out.columns:
        genre = out["genre"].fillna("").astype(str)
        tags = out["tags"].fillna("").astype(str)
        out["tags"] = np.where(tags == "", genre, np.where(genre == "", tags, tags + "|" + genre))
    out["tags"] = out["tags"].fillna("").astype(str)
    if "ai_involvement" not in out.columns:
        out["ai_involvement"] = "UNDISCLOSED"
    inv = out["ai_involvement"].fillna("UNDISCLOSED").astype(str).str.upper()
    out["ai_involvement"] = inv.where(inv.isin(list(_GROUP_BY_INVOLVEMENT)), "UNDISCLOSED")
    group = out["ai_involvement"].map(_GROUP_BY_INVOLVEMENT)
    if artists is not None and "kind" in artists.columns:
        kinds = pd.Series(
            artists["kind"].astype(str).to_numpy(), index=artists["artist_id"].astype(str)
        )
        persona = out["artist_id"].map(kinds).eq("ai_persona")
        group = group.where(~(persona & group.eq("undisclosed")), "ai_generated")
    out["provider_group"] = group
    if "integrity_flag" not in out.columns:
        out["integrity_flag"] = False
    out["integrity_flag"] = out["integrity_flag"].fillna(False).astype(bool)
    return out.drop_duplicates("item_id").reset_index(drop=True)


def finalize_interactions(frame: pd.DataFrame) -> pd.DataFrame:
    """Normalise interaction columns: str ids, float weight (default 1), float Unix seconds."""
    out = pd.DataFrame(
        {"user_id": frame["user_id"].astype(str), "item_id": frame["item_id"].astype(str)}
    )
    if "weight" in frame.columns:
        out["weight"] = pd.to_numeric(frame["weight"], errors="coerce").fillna(1.0).to_numpy()
    else:
        out["weight"] = 1.0
    out["timestamp"] = (
        to_unix_seconds(frame["timestamp"]) if "timestamp" in frame.columns else np.nan
    )
    return out.reset_index(drop=True)


def to_unix_seconds(values: pd.Series) -> np.ndarray:
    """Parse ISO 8601 times or integer Unix seconds into float seconds (NaN when missing)."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().sum() >= values.notna().sum() and values.notna().any():
        return numeric.to_numpy(dtype=np.float64)
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    seconds = (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    return seconds.to_numpy(dtype=np.float64)


__all__ = [
    "PROVIDER_GROUPS",
    "DatedTags",
    "EvalDataset",
    "finalize_interactions",
    "finalize_items",
    "join_tags",
    "tags_from_assignments",
    "to_unix_seconds",
]
