"""The adversarial catalog: inject every kind of upload abuse into any data folder's tables.

Kinds (the names used in ``truth.csv``'s ``abuse_kinds``):

* ``near_duplicate``: a popular track re-uploaded under a new artist and account, its audio
  re-encoded with another gain, a slight pitch change and noise (``duplicate_of`` names it);
* ``upload_burst``: one new account uploading dozens of tracks within minutes;
* ``ultra_short``: tracks shorter than 30 seconds;
* ``keyword_stuffing``: titles that are a run of search terms;
* ``imitated_name``: a new artist whose name is a look-alike of a known (much played) artist
  (``imitated_artist_ids`` names the victim).

Injected uploads get no listening events: they are exactly what should never reach listeners.
Only ``items`` and ``interactions`` are needed; the other tables are extended when present.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from recsys.demo import names
from recsys.demo.audio import ClipSpec, clip_bpm
from recsys.demo.tables import TRUTH_COLUMNS, AudioJob, CatalogTables, frame, iso, unix

logger = logging.getLogger(__name__)

ABUSE_KINDS: tuple[str, ...] = (
    "imitated_name",
    "keyword_stuffing",
    "near_duplicate",
    "ultra_short",
    "upload_burst",
)
DAY = 86_400.0


class AbuseConfig(BaseModel):
    """How much abuse to inject, relative to the size of the catalog."""

    near_duplicate_rate: float = Field(default=0.02, ge=0, le=1)
    """Near-duplicates per catalog item (at least 2)."""
    burst_size: int = Field(default=30, ge=2)
    """Tracks per upload burst (fewer in tiny catalogs)."""
    items_per_burst: int = Field(default=1500, ge=1)
    """One burst per this many catalog items (at least one burst)."""
    ultra_short_rate: float = Field(default=0.01, ge=0, le=1)
    """Ultra-short uploads per catalog item (at least 2)."""
    stuffing_rate: float = Field(default=0.01, ge=0, le=1)
    """Keyword-stuffed uploads per catalog item (at least 2)."""
    imitation_rate: float = Field(default=0.01, ge=0, le=1)
    """Uploads under look-alike names per catalog item (at least 2)."""

    def counts(self, n_items: int) -> dict[str, int]:
        """Uploads of each kind for a catalog of ``n_items`` (bursts count their tracks)."""
        size = min(self.burst_size, max(8, n_items // 10))
        return {
            "near_duplicate": max(2, round(self.near_duplicate_rate * n_items)),
            "upload_burst": max(1, round(n_items / self.items_per_burst)) * size,
            "ultra_short": max(2, round(self.ultra_short_rate * n_items)),
            "keyword_stuffing": max(2, round(self.stuffing_rate * n_items)),
            "imitated_name": max(2, round(self.imitation_rate * n_items)),
        }


def inject_abuse(
    tables: CatalogTables,
    rng: np.random.Generator,
    config: AbuseConfig | None = None,
    *,
    n_items: int | None = None,
) -> CatalogTables:
    """Add abusive uploads to ``tables`` and record each one in ``truth``.

    Args:
        tables: any catalog (only ``items`` and ``interactions`` are required).
        rng: the random generator (the same state gives the same injection).
        config: how much of each kind; defaults to :class:`AbuseConfig`.
        n_items: size the counts for this many items instead of ``len(tables.items)``.

    Returns:
        The tables with new items (and artists, credits) appended, ``truth`` covering every
        item, and audio jobs for the new items' clips when items carry ``audio_path``.
    """
    config = config or AbuseConfig()
    counts = config.counts(n_items if n_items is not None else len(tables.items))
    return _Injector(tables, rng).run(counts, config.burst_size)


class _Injector:
    def __init__(self, tables: CatalogTables, rng: np.random.Generator) -> None:
        self.t, self.rng = tables, rng
        self.items = tables.items
        self.cols = set(self.items.columns)
        self.new_items: list[dict[str, str]] = []
        self.new_artists: list[dict[str, str]] = []
        self.new_credits: list[dict[str, str]] = []
        self.truth: list[dict[str, str]] = []
        self.jobs: list[AudioJob] = []
        self.accounts: list[str] = []
        self.ids = set(self.items["item_id"])
        self.artist_ids: set[str] = set()
        if tables.artists is not None:
            self.artist_ids = set(tables.artists["artist_id"])
        self.now = self._reference_time()
        plays = tables.interactions["item_id"].value_counts()
        self.plays = plays.reindex(self.items["item_id"]).fillna(0).to_numpy(dtype=float)
        self.genres = [g for g in self.items.get("genre", pd.Series(dtype=object)) if g]
        # Spam artists get names unlike the catalog's, so only the imitations imitate.
        self.book = names.NameBook()
        existing = (
            tables.artists["name"]
            if tables.artists is not None
            else self.items.get("artist_names", pd.Series(dtype=object)).str.split("|").explode()
        )
        for name in existing.dropna():
            self.book.add(str(name))

    def _reference_time(self) -> float:
        times = [
            unix(v)
            for col, df in (("uploaded_at", self.items), ("timestamp", self.t.interactions))
            if col in df.columns
            for v in df[col]
            if v
        ]
        return max(times) if times else 1_782_864_000.0

    def _new_id(self, prefix: str, taken: set[str]) -> str:
        while True:
            candidate = f"{prefix}{int(self.rng.integers(10**6, 10**7))}"
            if candidate not in taken:
                taken.add(candidate)
                return candidate

    def _artist(self, name: str, kind: str, created: float, account: str) -> str:
        aid = self._new_id("a_", self.artist_ids)
        self.new_artists.append(
            {"artist_id": aid, "name": name, "kind": kind, "verified": "false",
             "rights_holder_id": "rh_" + account, "created_at": iso(created)}
        )  # fmt: skip
        return aid

    def _add(self, row: dict[str, str], kinds: list[str], truth: dict[str, str]) -> str:
        iid = self._new_id("t_", self.ids)
        row = {**row, "item_id": iid}
        defaults = {"ai_involvement": "UNDISCLOSED", "label_source": "DECLARED",
                    "label_confidence": "1"}  # fmt: skip
        for column, value in defaults.items():
            if column in self.cols:
                row.setdefault(column, value)
        self.new_items.append(row)
        aid = row.get("artist_ids", "")
        if aid:
            self.new_credits.append(
                {"item_id": iid, "artist_id": aid, "role": "primary", "share": "1"}
            )
        declared = row.get("ai_involvement", "")
        hidden = truth.get("true_ai_involvement") in ("ASSISTED", "GENERATED")
        self.truth.append({**truth, "item_id": iid, "organic": "false",
                           "declared_ai_involvement": declared,
                           "undeclared_ai": str(hidden and declared in ("", "UNDISCLOSED")).lower(),
                           "abuse_kinds": "|".join(sorted(kinds))})  # fmt: skip
        return iid

    def _upload(
        self, name: str, kind: str, at: float, genre: str, account: str = ""
    ) -> dict[str, str]:
        """A new artist's upload; spam accounts run a handful of artists each."""
        if not account:
            if not self.accounts or self.rng.random() < 0.15:
                self.accounts.append(names.account_handle(self.rng))
            account = self.accounts[int(self.rng.integers(len(self.accounts)))]
        aid = self._artist(name, kind, at - self.rng.uniform(600, 3 * DAY), account)
        return {"title": "", "artist_ids": aid, "artist_names": name, "genre": genre,
                "uploaded_at": iso(at), "release_date": iso(at)[:10],
                "uploader_id": "up_" + account}  # fmt: skip

    def _genre(self) -> str:
        return names.pick(self.rng, tuple(self.genres)) if self.genres else ""

    def _synth(self, iid: str, genre: str, machine: bool) -> None:
        # Draw first, so switching audio off changes nothing else.
        spec = ClipSpec(genre=genre, seed=int(self.rng.integers(2**31)), machine=machine,
                        tempo_scale=float(self.rng.normal(1, 0.03)))  # fmt: skip
        if "audio_path" not in self.cols:
            return
        path = f"audio/{iid}.flac"
        self.jobs.append(AudioJob(path=path, spec=spec))
        self.new_items[-1]["audio_path"] = path
        if "audio_tempo" in self.cols:
            self.new_items[-1]["audio_tempo"] = f"{clip_bpm(spec):.1f}"

    def run(self, counts: dict[str, int], burst_size: int) -> CatalogTables:
        self._near_duplicates(counts["near_duplicate"])
        size = min(burst_size, counts["upload_burst"])
        for _ in range(max(1, counts["upload_burst"] // max(size, 1))):
            self._burst(size)
        self._singles(counts)
        return self._tables()

    def _near_duplicates(self, count: int) -> None:
        weights = self.plays + 0.1
        sources = self.rng.choice(len(self.items), size=min(count, len(self.items)),
                                  replace=False, p=weights / weights.sum())  # fmt: skip
        for s in sources:
            src = {k: str(v) for k, v in self.items.iloc[int(s)].items()}
            at = self.now - self.rng.uniform(1, 90) * DAY
            name = self.book.distinct(self.rng, names.account_handle if self.rng.random() < 0.5
                                      else names.human_artist_name)  # fmt: skip
            row = {**src, **self._upload(name, "unknown", at, src.get("genre", ""))}
            variant = int(self.rng.integers(4))
            row["title"] = [src["title"], src["title"].lower(), src["title"] + " (Remastered)",
                            src["title"] + " - Sped Up"][variant]  # fmt: skip
            if src.get("duration_ms"):
                row["duration_ms"] = str(int(int(float(src["duration_ms"])) * 0.98))
            for col in ("ai_involvement", "ai_parts", "label_source", "label_confidence",
                        "references_artist_ids", "audio_path"):  # fmt: skip
                row.pop(col, None)
            truth_src = self._source_truth(src["item_id"])
            iid = self._add(row, ["near_duplicate"], {**truth_src, "duplicate_of": src["item_id"]})
            seed = int(self.rng.integers(2**31))
            if src.get("audio_path") and "audio_path" in self.cols:
                path = f"audio/{iid}.flac"
                self.jobs.append(AudioJob(path=path, source=src["audio_path"], seed=seed))
                self.new_items[-1]["audio_path"] = path

    def _source_truth(self, item_id: str) -> dict[str, str]:
        keep = ("true_genre", "true_ai_involvement", "true_ai_parts", "machine_audio")
        if self.t.truth is not None:
            match = self.t.truth[self.t.truth["item_id"] == item_id]
            if len(match):
                return {k: str(match.iloc[0][k]) for k in keep if k in match.columns}
        return {}

    def _burst(self, size: int) -> None:
        account = names.account_handle(self.rng)
        artists = [
            self.book.distinct(self.rng, names.account_handle)
            for _ in range(int(self.rng.integers(1, 4)))
        ]
        at = self.now - self.rng.uniform(1, 60) * DAY
        genre = self._genre()
        for _ in range(size):
            at += self.rng.uniform(5, 40)
            mood = names.pick(self.rng, names.MOODS)
            artist = names.pick(self.rng, tuple(artists))
            row = self._upload(artist, "unknown", at, genre, account)
            kinds = ["upload_burst"]
            if self.rng.random() < 0.3:
                row["title"] = names.stuffed_title(self.rng, genre or "music")
                kinds.append("keyword_stuffing")
            else:
                row["title"] = names.track_title(self.rng, mood, ai_style=True)
            row |= {"tags": f"{mood}|{genre}|vibes".strip("|"),
                    "duration_ms": str(int(self.rng.choice([120, 150, 180])) * 1000)}  # fmt: skip
            iid = self._add(row, kinds, {"true_genre": genre, "true_ai_involvement": "GENERATED",
                                         "true_ai_parts": "composition|instrumentation|production",
                                         "machine_audio": "true"})  # fmt: skip
            self._synth(iid, genre, machine=True)

    def _known_artists(self) -> list[tuple[str, str, str]]:
        """(artist id, name, genre) of the most played artists."""
        if "artist_ids" in self.cols:
            primary = self.items["artist_ids"].str.split("|").str[0]
        else:
            primary = self.items.get("artist_names", pd.Series([""] * len(self.items)))
            primary = primary.str.split("|").str[0]
        names_by_id: dict[str, str] = {}
        if self.t.artists is not None:
            names_by_id = dict(zip(self.t.artists["artist_id"], self.t.artists["name"],
                                   strict=True))  # fmt: skip
        elif "artist_names" in self.cols:
            pairs = zip(primary, self.items["artist_names"].str.split("|").str[0], strict=True)
            names_by_id = dict(pairs)
        genre = self.items.get("genre", pd.Series([""] * len(self.items)))
        df = pd.DataFrame({"a": primary.to_numpy(), "plays": self.plays, "g": genre.to_numpy()})
        df = df[df["a"].astype(bool) & df["a"].map(lambda a: bool(names_by_id.get(a)))]
        top = df.groupby("a", sort=True).agg(plays=("plays", "sum"), g=("g", "first"))
        top = top.sort_values("plays", ascending=False, kind="stable").head(10)
        return [(a, names_by_id[a], str(g)) for a, g in zip(top.index, top["g"], strict=True)]

    def _singles(self, counts: dict[str, int]) -> None:
        known = self._known_artists()
        if not known:
            logger.warning("no artist names in the catalog: skipping imitated_name abuse")
        plan = ["ultra_short"] * counts["ultra_short"]
        plan += ["keyword_stuffing"] * counts["keyword_stuffing"]
        plan += ["imitated_name"] * (counts["imitated_name"] if known else 0)
        for kind in plan:
            at = self.now - self.rng.uniform(1, 90) * DAY
            genre, mood = self._genre(), names.pick(self.rng, names.MOODS)
            truth = {"true_genre": genre, "true_ai_involvement": "NONE", "machine_audio": "false"}
            if kind == "imitated_name":
                victim, victim_name, genre = known[int(self.rng.integers(len(known)))]
                row = self._upload(names.imitate_name(self.rng, victim_name), "human", at, genre)
                truth |= {"true_genre": genre, "imitated_artist_ids": victim}
            else:
                name = self.book.distinct(self.rng, names.human_artist_name)
                row = self._upload(name, "unknown", at, genre)
            row["title"] = names.track_title(self.rng, mood, ai_style=False)
            seconds = self.rng.uniform(150, 260)
            if kind == "ultra_short":
                seconds = self.rng.uniform(4, 29)
            elif kind == "keyword_stuffing":
                row["title"] = names.stuffed_title(self.rng, genre or "music")
            machine = bool(self.rng.random() < 0.6)
            if machine:
                truth |= {"true_ai_involvement": "GENERATED", "machine_audio": "true",
                          "true_ai_parts": "composition|instrumentation|production"}  # fmt: skip
            row["duration_ms"] = str(int(seconds * 1000))
            row["tags"] = f"{mood}|{genre}".strip("|")
            iid = self._add(row, [kind], truth)
            self._synth(iid, genre, machine=machine)

    def _tables(self) -> CatalogTables:
        t = self.t
        new_cols = [c for c in ("artist_names", "duration_ms", "uploader_id", "uploaded_at")
                    if c not in self.cols]  # fmt: skip
        columns = list(self.items.columns) + new_cols
        added = pd.DataFrame(self.new_items, dtype=object).reindex(columns=columns)
        items = pd.concat([self.items.reindex(columns=columns), added], ignore_index=True)
        changes: dict[str, object] = {"items": items.fillna("").astype(object)}
        if t.artists is not None:
            extra = frame(self.new_artists, tuple(t.artists.columns))
            changes["artists"] = pd.concat([t.artists, extra], ignore_index=True)
        if t.credits is not None:
            extra = frame(self.new_credits, tuple(t.credits.columns))
            changes["credits"] = pd.concat([t.credits, extra], ignore_index=True)
        truth = t.truth if t.truth is not None else self._default_truth()
        added_truth = frame(self.truth, tuple(truth.columns))
        changes["truth"] = pd.concat([truth, added_truth], ignore_index=True)
        changes["audio_jobs"] = (*t.audio_jobs, *self.jobs)
        return t.with_changes(**changes)

    def _default_truth(self) -> pd.DataFrame:
        declared = self.items.get("ai_involvement", pd.Series([""] * len(self.items)))
        rows = [
            {"item_id": iid, "organic": "true", "true_genre": str(g),
             "true_ai_involvement": d if d in ("NONE", "ASSISTED", "GENERATED") else "",
             "declared_ai_involvement": d}
            for iid, d, g in zip(self.items["item_id"], declared,
                                 self.items.get("genre", declared.map(lambda _: "")), strict=True)
        ]  # fmt: skip
        return frame(rows, TRUTH_COLUMNS)


__all__ = ["ABUSE_KINDS", "AbuseConfig", "inject_abuse"]
