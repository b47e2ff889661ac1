"""Assemble the demo world: catalog, consent ledger, listeners, events, abuse and ground truth."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from recsys.demo import names
from recsys.demo.abuse import AbuseConfig, inject_abuse
from recsys.demo.audio import clip_bpm
from recsys.demo.ledger import build_ledger, final_grants
from recsys.demo.tables import (
    ARTIST_COLUMNS,
    CONSENT_COLUMNS,
    CREDIT_COLUMNS,
    INTERACTION_COLUMNS,
    ITEM_COLUMNS,
    LISTENER_COLUMNS,
    TRUTH_COLUMNS,
    AudioJob,
    CatalogTables,
    frame,
    iso,
    iso_date,
)
from recsys.demo.taste import build_listeners
from recsys.demo.world import WorldDraft, build_world, clip_spec

logger = logging.getLogger(__name__)


class DemoConfig(BaseModel):
    """Size and switches of the demo world."""

    tracks: int = Field(default=3000, ge=60)
    """Tracks in the catalog, abusive uploads included."""
    listeners: int = Field(default=600, ge=5)
    """Listeners (each with latent tastes and listening events)."""
    seed: int = 7
    """Seed: the same seed gives byte-identical tables."""
    abuse: bool = True
    """Inject spam and impersonation uploads (see :mod:`recsys.demo.abuse`)."""
    audio: bool = True
    """Reference an audio clip per track (``items.audio_path``)."""
    abuse_config: AbuseConfig = Field(default_factory=AbuseConfig)
    """How much of each kind of abuse."""


def generate_demo(config: DemoConfig) -> CatalogTables:
    """Build the demo world's tables (audio clips are still jobs; the writer renders them).

    Example:
        >>> tables = generate_demo(DemoConfig(tracks=200, listeners=50, audio=False))
        >>> sorted(tables.items.columns)[:3]
        ['ai_involvement', 'ai_parts', 'artist_ids']
    """
    return _generate(config, None)[0]


def demo_play_probabilities(config: DemoConfig) -> tuple[CatalogTables, pd.DataFrame]:
    """The demo world of ``config`` and each listener's true chance of playing each organic
    track when it is shown to them (rows: listener ids; columns: item ids; injected abusive
    uploads have no column). The world is the one :func:`generate_demo` writes.

    Example:
        >>> tables, play = demo_play_probabilities(DemoConfig(tracks=100, listeners=5,
        ...                                                   audio=False, abuse=False))
        >>> play.shape
        (5, 100)
    """
    truth: dict[str, np.ndarray] = {}
    tables, organic_ids = _generate(config, truth)
    return tables, pd.DataFrame.from_dict(truth, orient="index", columns=organic_ids)


def _generate(
    config: DemoConfig, truth: dict[str, np.ndarray] | None
) -> tuple[CatalogTables, list[str]]:
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(4)]
    n_abuse = sum(config.abuse_config.counts(config.tracks).values()) if config.abuse else 0
    world = build_world(streams[0], config.tracks - n_abuse)
    consent = build_ledger(streams[1], world)
    listeners, events = build_listeners(streams[2], world, config.listeners, truth)
    tables = _tables(world, consent, listeners, events, audio=config.audio)
    if config.abuse:
        tables = inject_abuse(tables, streams[3], config.abuse_config, n_items=config.tracks)
    item_map: dict[str, str] = {}
    tables = _shuffle_ids(tables, np.random.default_rng([config.seed, 77]), item_map)
    organic_ids = [item_map[t.item_id] for t in world.tracks]
    logger.info(
        "demo world: %d tracks, %d artists, %d listeners, %d events, %d consent entries",
        len(tables.items), len(tables.artists) if tables.artists is not None else 0,
        len(listeners), len(tables.interactions), len(consent),
    )  # fmt: skip
    return tables, organic_ids


def _tables(
    world: WorldDraft,
    consent: list[dict[str, str]],
    listeners: list[dict[str, str]],
    events: list[dict[str, str]],
    *,
    audio: bool,
) -> CatalogTables:
    artists = world.artists
    grants = final_grants(consent)
    items, credits, truth, jobs = [], [], [], []
    for t in world.tracks:
        ids = [artists[a].artist_id for a, _, _ in t.credits]
        refs = [artists[a].artist_id for a in t.references]
        declared = t.declared_ai
        item = {
            "item_id": t.item_id, "title": t.title, "artist_ids": "|".join(ids),
            "artist_names": "|".join(artists[a].name for a, _, _ in t.credits),
            "genre": names.GENRES[t.genre], "tags": "|".join(t.tags),
            "description": t.description, "duration_ms": str(t.duration_ms),
            "release_date": iso_date(t.release_at), "uploader_id": t.uploader_id,
            "uploaded_at": iso(t.uploaded_at), "ai_involvement": declared,
            "ai_parts": "|".join(t.ai_parts) if declared in ("ASSISTED", "GENERATED") else "",
            "label_source": "DECLARED", "label_confidence": "1",
            "references_artist_ids": "|".join(refs) if declared == "GENERATED" else "",
        }  # fmt: skip
        if audio:
            item["audio_path"] = f"audio/{t.item_id}.flac"
            sound_of = artists[t.references[0]] if t.references else artists[t.artist]
            spec = clip_spec(sound_of, t)
            jobs.append(AudioJob(path=item["audio_path"], spec=spec))
            # The tempo the clip is rendered at, declared as a dataset would (a claim: the
            # build's measured tempo replaces it where the clip's own pulse is clear; 1.5 s
            # clips rarely show a slow one).
            item["audio_tempo"] = f"{clip_bpm(spec):.1f}"
        items.append(item)
        credits += [
            {"item_id": t.item_id, "artist_id": artists[a].artist_id, "role": role, "share": share}
            for a, role, share in t.credits
        ]
        holders = [artists[a].rights_holder_id for a in t.references]
        consented = all((h, s) in grants for h in holders for s in t.imitation_scopes)
        truth.append({
            "item_id": t.item_id, "organic": "true", "true_genre": names.GENRES[t.genre],
            "true_ai_involvement": t.true_ai, "true_ai_parts": "|".join(t.ai_parts),
            "declared_ai_involvement": declared,
            "undeclared_ai": str(declared == "UNDISCLOSED" and t.true_ai != "NONE").lower(),
            "machine_audio": str(t.machine).lower(), "abuse_kinds": "", "duplicate_of": "",
            "imitated_artist_ids": "|".join(refs), "imitation_scopes": "|".join(t.imitation_scopes),
            "imitation_consented": str(consented).lower() if refs else "",
        })  # fmt: skip
    artist_rows = [
        {"artist_id": a.artist_id, "name": a.name, "kind": a.kind,
         "verified": str(a.verified).lower(), "rights_holder_id": a.rights_holder_id,
         "created_at": iso(a.created_at)}
        for a in artists
    ]  # fmt: skip
    columns = (
        (*ITEM_COLUMNS, "audio_tempo")
        if audio
        else tuple(c for c in ITEM_COLUMNS if c != "audio_path")
    )
    return CatalogTables(
        items=frame(items, columns),
        interactions=frame(events, INTERACTION_COLUMNS),
        artists=frame(artist_rows, ARTIST_COLUMNS),
        credits=frame(credits, CREDIT_COLUMNS),
        listeners=frame(listeners, LISTENER_COLUMNS),
        consent=frame(consent, CONSENT_COLUMNS),
        truth=frame(truth, TRUTH_COLUMNS),
        audio_jobs=tuple(jobs),
    )


def _shuffle_ids(
    tables: CatalogTables, rng: np.random.Generator, item_map: dict[str, str]
) -> CatalogTables:
    """Renumber items and artists in a random order, so ids say nothing about how a row was
    made (organic or injected, human or AI), and sort every table by its new ids; the item
    renumbering is written into ``item_map``."""
    assert tables.artists is not None and tables.credits is not None and tables.truth is not None
    item_map.update(_renumber(tables.items["item_id"], "t_", rng))
    artist_map = _renumber(tables.artists["artist_id"], "a_", rng)
    # Organisations (labels, studios, farms) and accounts get neutral ids too.
    orgs = sorted(set(tables.artists["rights_holder_id"]) - set(artist_map))
    artist_map |= _renumber(pd.Series(orgs, dtype=object), "rh_", rng)
    uploader_map = _renumber(pd.Series(sorted(set(tables.items["uploader_id"]))), "up_", rng)

    def ids(col: pd.Series, mapping: dict[str, str]) -> pd.Series:
        return col.map(lambda v: "|".join(mapping.get(x, x) for x in v.split("|")) if v else v)

    items = tables.items.assign(
        item_id=ids(tables.items["item_id"], item_map),
        artist_ids=ids(tables.items["artist_ids"], artist_map),
        references_artist_ids=ids(tables.items["references_artist_ids"], artist_map),
        uploader_id=ids(tables.items["uploader_id"], uploader_map),
    )
    jobs: tuple[AudioJob, ...] = ()
    if "audio_path" in items.columns:
        items["audio_path"] = [
            f"audio/{i}.flac" if p else "" for i, p in zip(items["item_id"], items["audio_path"],
                                                           strict=True)
        ]  # fmt: skip
        path_map = dict(zip(tables.items["audio_path"], items["audio_path"], strict=True))
        jobs = tuple(
            AudioJob(path=path_map[j.path], spec=j.spec, source=path_map.get(j.source, j.source),
                     seed=j.seed)
            for j in tables.audio_jobs
        )  # fmt: skip
    artists = tables.artists.assign(artist_id=ids(tables.artists["artist_id"], artist_map))
    artists["rights_holder_id"] = ids(artists["rights_holder_id"], artist_map)
    credits = tables.credits.assign(
        item_id=ids(tables.credits["item_id"], item_map),
        artist_id=ids(tables.credits["artist_id"], artist_map),
    )
    truth = tables.truth.assign(
        item_id=ids(tables.truth["item_id"], item_map),
        duplicate_of=ids(tables.truth["duplicate_of"], item_map),
        imitated_artist_ids=ids(tables.truth["imitated_artist_ids"], artist_map),
    )
    assert tables.listeners is not None and tables.consent is not None
    listeners = tables.listeners.assign(
        blocked_artist_ids=ids(tables.listeners["blocked_artist_ids"], artist_map)
    )
    consent = tables.consent.assign(
        rights_holder_id=ids(tables.consent["rights_holder_id"], artist_map),
        actor=tables.consent["actor"].map(
            lambda a: a.split(":")[0] + ":" + artist_map.get(a.split(":")[1], a.split(":")[1])
        ),
    )
    interactions = tables.interactions.assign(item_id=ids(tables.interactions["item_id"], item_map))

    def by(df: pd.DataFrame, *keys: str) -> pd.DataFrame:
        return df.sort_values(list(keys), kind="stable").reset_index(drop=True)

    return tables.with_changes(
        items=by(items, "item_id"), artists=by(artists, "artist_id"),
        credits=by(credits, "item_id", "role"), truth=by(truth, "item_id"),
        listeners=listeners, consent=consent, interactions=interactions, audio_jobs=jobs,
    )  # fmt: skip


def _renumber(old: pd.Series, prefix: str, rng: np.random.Generator) -> dict[str, str]:
    perm = rng.permutation(len(old))
    return {o: f"{prefix}{int(p) + 1:06d}" for o, p in zip(old, perm, strict=True)}


__all__ = ["DemoConfig", "demo_play_probabilities", "generate_demo"]
