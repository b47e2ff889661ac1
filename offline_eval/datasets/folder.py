"""Read any folder in the data folder format (docs/data-format.md) into an EvalDataset.

Only ``items`` (``item_id``, ``title``) and ``interactions`` (``user_id``, ``item_id``) are
required; every other file and column falls back to the format's documented default, so an
unseen dataset in the format runs with no code change.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from offline_eval.datasets.base import EvalDataset, finalize_interactions, finalize_items
from offline_eval.datasets.playlists import playlist_membership
from offline_eval.datasets.provenance import ProvenanceSimulation, simulate_provenance
from offline_eval.errors import DatasetError

logger = logging.getLogger(__name__)

#: Item columns that, when present and truthy, mark an item as integrity-flagged.
_FLAG_COLUMNS = ("integrity_flag", "quarantined", "is_spam", "spam", "is_imitation")
#: Item columns whose non-empty value (other than clean/ok/none) marks an item as flagged.
_LABEL_COLUMNS = ("integrity_label", "abuse_type", "spam_type")
_CLEAN = {"", "clean", "ok", "none", "nan", "false", "0", "legit", "legitimate"}


def read_table(folder: Path, name: str, *, required: bool = False) -> pd.DataFrame | None:
    """Read ``name.parquet`` or ``name.csv`` from ``folder`` (Parquet wins).

    Raises:
        DatasetError: when ``required`` and neither file exists, or the file cannot be parsed.
    """
    for suffix in (".parquet", ".csv"):
        path = folder / f"{name}{suffix}"
        if not path.exists():
            continue
        try:
            if suffix == ".parquet":
                return pd.read_parquet(path)
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        except Exception as exc:  # pandas/pyarrow raise many types; name the file instead
            raise DatasetError(f"cannot read {path}: {exc}. Fix: check the file's format") from exc
    if required:
        raise DatasetError(
            f"{folder} has no {name}.csv or {name}.parquet. Fix: point --data at a folder in "
            "the data folder format (docs/data-format.md)"
        )
    return None


def _require(frame: pd.DataFrame, file: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DatasetError(
            f"{file} lacks required column(s) {missing}. Fix: add them (docs/data-format.md)"
        )


def _truthy(values: pd.Series) -> pd.Series:
    return values.astype(str).str.strip().str.lower().isin({"1", "true", "yes", "y", "t"})


def integrity_truth(items: pd.DataFrame, consent: pd.DataFrame | None) -> pd.Series | None:
    """The dataset's own integrity truth per item, or None when it carries none.

    An item is flagged when a flag column is truthy, a label column names a problem, or it is
    AI-generated and references an artist whose rights holder never granted
    ``ai_style_reference`` (an imitation the rules forbid recommending).
    """
    flags = pd.Series(False, index=items.index)
    found = False
    for col in _FLAG_COLUMNS:
        if col in items.columns:
            flags |= _truthy(items[col].fillna("false"))
            found = True
    for col in _LABEL_COLUMNS:
        if col in items.columns:
            flags |= ~items[col].fillna("").astype(str).str.strip().str.lower().isin(_CLEAN)
            found = True
    if "references_artist_ids" in items.columns and "ai_involvement" in items.columns:
        granted: set[str] = set()
        if consent is not None and {"rights_holder_id", "scope", "action"} <= set(consent):
            ledger = consent.sort_values("timestamp") if "timestamp" in consent else consent
            state: dict[str, bool] = {}
            for row in ledger.itertuples(index=False):
                if row.scope == "ai_style_reference":
                    state[str(row.rights_holder_id)] = str(row.action) == "grant"
            granted = {k for k, v in state.items() if v}
        refs = items["references_artist_ids"].fillna("").astype(str)
        generated = items["ai_involvement"].fillna("").astype(str).str.upper().eq("GENERATED")
        unconsented = refs.map(lambda s: any(a and a not in granted for a in s.split("|")))
        flags |= generated & unconsented
        found = found or bool(refs.ne("").any())
    return flags if found else None


def truth_flags(folder: Path, items: pd.DataFrame) -> pd.Series | None:
    """Integrity truth from ``truth.csv`` (evaluation-only; docs/data-format.md), or None.

    An item is flagged when it has any ``abuse_kinds`` or imitates artists without every
    needed scope granted (``imitated_artist_ids`` set and ``imitation_consented`` false).
    """
    truth = read_table(folder, "truth")
    if truth is None or "item_id" not in truth.columns:
        return None
    truth = truth.drop_duplicates("item_id").set_index(truth["item_id"].astype(str))
    flagged = pd.Series(False, index=truth.index)
    if "abuse_kinds" in truth.columns:
        flagged |= truth["abuse_kinds"].fillna("").astype(str).str.strip().ne("")
    if {"imitated_artist_ids", "imitation_consented"} <= set(truth.columns):
        imitates = truth["imitated_artist_ids"].fillna("").astype(str).str.strip().ne("")
        flagged |= imitates & ~_truthy(truth["imitation_consented"].fillna("false"))
    mapped = items["item_id"].astype(str).map(flagged)
    return mapped.fillna(False).astype(bool)


def load_folder(
    path: str | Path,
    *,
    name: str | None = None,
    simulation: ProvenanceSimulation | None = None,
) -> EvalDataset:
    """Load a data folder.

    Args:
        path: the folder.
        name: dataset name for reports (default: the folder name).
        simulation: provenance simulation to apply when the items declare no AI involvement
            (default: :class:`ProvenanceSimulation` defaults). Labels present in the data are
            never overwritten.

    Returns:
        The dataset, with ``provenance_simulated`` set when labels were simulated.

    Raises:
        DatasetError: when the folder or a required file or column is missing.

    Example:
        >>> ds = load_folder("demo")  # doctest: +SKIP
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DatasetError(f"{folder} is not a directory. Fix: pass an existing data folder")
    items = read_table(folder, "items", required=True)
    interactions = read_table(folder, "interactions", required=True)
    assert items is not None and interactions is not None
    _require(items, "items", ("item_id", "title"))
    _require(interactions, "interactions", ("user_id", "item_id"))
    artists = read_table(folder, "artists")
    credits = read_table(folder, "credits")
    consent = read_table(folder, "consent")
    listeners = read_table(folder, "listeners")
    playlists = playlist_membership(read_table(folder, "playlists"), interactions)
    if credits is not None and {"item_id", "artist_id"} <= set(credits.columns):
        primary = credits
        if "role" in credits.columns:
            order = credits["role"].fillna("primary").ne("primary")
            primary = credits.assign(_o=order).sort_values("_o", kind="stable")
        first = primary.drop_duplicates("item_id").set_index("item_id")["artist_id"]
        mapped = items["item_id"].astype(str).map(first.astype(str))
        if "artist_ids" in items.columns:
            fallback = items["artist_ids"].fillna("").astype(str).str.split("|").str[0]
            mapped = mapped.fillna(fallback)
        items = items.assign(artist_id=mapped.fillna(items["item_id"].astype(str)))
    truth = integrity_truth(items, consent)
    truth_file = truth_flags(folder, items)
    if truth_file is not None:
        truth = truth_file if truth is None else (truth | truth_file)
    items = items.assign(integrity_flag=truth if truth is not None else False)
    for col in items.columns:
        if col.startswith("audio_") and col != "audio_path":
            items[col] = pd.to_numeric(items[col], errors="coerce")
    items = items.drop(columns=["audio_path"], errors="ignore")
    declared = "ai_involvement" in items.columns and bool(
        items["ai_involvement"]
        .fillna("UNDISCLOSED")
        .astype(str)
        .str.upper()
        .ne("UNDISCLOSED")
        .any()
    )
    kinds_declared = (
        artists is not None
        and "kind" in artists.columns
        and bool(artists["kind"].fillna("unknown").ne("unknown").any())
    )
    items = finalize_items(items, artists)
    inter = finalize_interactions(interactions)
    unknown = ~inter["item_id"].isin(set(items["item_id"]))
    if unknown.any():
        logger.warning("dropping %d interactions with unknown item ids", int(unknown.sum()))
        inter = inter[~unknown]
    if playlists is not None:
        playlists = playlists[playlists["item_id"].isin(set(items["item_id"]))]
    ds = EvalDataset(
        name=name or folder.name,
        items=items,
        interactions=inter,
        artists=artists,
        credits=credits,
        listeners=listeners,
        consent=consent,
        playlists=playlists,
        has_integrity_truth=truth is not None,
        source=str(folder.resolve()),
    )
    if declared or kinds_declared:
        return ds
    return simulate_provenance(ds, simulation or ProvenanceSimulation())


__all__ = ["integrity_truth", "load_folder", "read_table", "truth_flags"]
