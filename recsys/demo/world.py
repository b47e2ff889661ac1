"""The organic demo catalog: artists, rights holders, uploaders and their tracks.

Who makes what:

* human artists (most of them), some on labels that hold rights for several artists, some
  emerging (recent, few tracks, little popularity); a few use AI assistance, mostly declared;
* AI personas from AI studios, declaring their tracks ``GENERATED``; some of those tracks
  reference a known human artist's style or voice (:mod:`recsys.demo.ledger` decides whom);
* content farms: accounts of unknown (or self-described human) artists that upload AI tracks
  quickly and declare nothing, so items say ``UNDISCLOSED`` while the truth says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from recsys.demo import names
from recsys.demo.audio import ClipSpec

DAY = 86_400.0
EPOCH_2019 = 1_546_300_800.0  # 2019-01-01
AI_ERA = 1_748_736_000.0  # 2025-06-01
WINDOW_START = 1_767_225_600.0  # 2026-01-01: listening events run from here ...
WINDOW_END = 1_782_864_000.0  # ... to 2026-07-01

_DURATION_MEAN_S = {"classical": 380, "ambient": 300, "metal": 280, "jazz": 320, "rock": 240}


@dataclass(kw_only=True)
class ArtistDraft:
    """An artist while the world is built (mutable; written out as an ``artists`` row)."""

    artist_id: str
    name: str
    kind: str  # human | ai_persona | unknown
    nature: str  # human | persona | farm: what the artist really is
    verified: bool
    rights_holder_id: str
    uploader_id: str
    created_at: float
    genres: tuple[int, ...]
    popularity: float
    emerging: bool = False
    tempo_scale: float = 1.0
    brightness_scale: float = 1.0
    key_shift: int = 0


@dataclass(kw_only=True)
class TrackDraft:
    """A track while the world is built."""

    item_id: str
    artist: int
    genre: int
    mood: int
    title: str
    tags: list[str]
    description: str
    duration_ms: int
    release_at: float
    uploaded_at: float
    uploader_id: str
    true_ai: str
    ai_parts: list[str]
    declared_ai: str
    machine: bool
    popularity: float
    credits: list[tuple[int, str, str]] = field(default_factory=list)  # (artist, role, share)
    references: list[int] = field(default_factory=list)
    imitation_scopes: list[str] = field(default_factory=list)
    clip_seed: int = 0


@dataclass(kw_only=True)
class WorldDraft:
    """Artists and tracks of the organic catalog, with the latent facts tastes are built on."""

    artists: list[ArtistDraft]
    tracks: list[TrackDraft]
    labels: list[str]


def _artist_counts(rng: np.random.Generator, n_tracks: int, n_artists: int) -> np.ndarray:
    weights = rng.lognormal(0.0, 0.9, size=n_artists)
    counts = 1 + rng.multinomial(max(n_tracks - n_artists, 0), weights / weights.sum())
    return np.asarray(counts)


def build_world(rng: np.random.Generator, n_tracks: int) -> WorldDraft:
    """Draw the organic catalog of ``n_tracks`` tracks (at least about 40)."""
    n_persona_tracks = max(6, round(0.08 * n_tracks))
    n_farm_tracks = max(8, round(0.10 * n_tracks))
    n_human_tracks = n_tracks - n_persona_tracks - n_farm_tracks
    artists: list[ArtistDraft] = []
    n_genres = len(names.GENRES)

    n_humans = max(8, n_human_tracks // 7)
    n_labels = max(2, n_humans // 25)
    labels = [f"rh_label_{i:02d}" for i in range(1, n_labels + 1)]
    book = names.NameBook()
    for _ in range(n_humans):
        emerging = rng.random() < 0.2
        genre = int(rng.integers(n_genres))
        genres = (genre,) if rng.random() < 0.85 else (genre, int(rng.integers(n_genres)))
        on_label = not emerging and rng.random() < 0.6
        aid = f"a_{len(artists) + 1:04d}"
        holder = labels[int(rng.integers(n_labels))] if on_label else aid
        if on_label:
            uploader = "up_" + holder.removeprefix("rh_")
        elif rng.random() < 0.2:
            uploader = f"up_distro_{int(rng.integers(1, 4))}"
        else:
            uploader = "up_" + aid
        created = (
            rng.uniform(WINDOW_START - 300 * DAY, WINDOW_END - 60 * DAY)
            if emerging
            else rng.uniform(EPOCH_2019 - 400 * DAY, WINDOW_START - 200 * DAY)
        )
        artists.append(
            ArtistDraft(
                artist_id=aid, name=book.distinct(rng, names.human_artist_name), kind="human",
                nature="human",
                verified=bool(rng.random() < (0.1 if emerging else 0.65)),
                rights_holder_id=holder, uploader_id=uploader, created_at=created,
                genres=genres, emerging=emerging,
                popularity=float(rng.lognormal(0, 1.1) * (0.15 if emerging else 1.0)),
                tempo_scale=float(rng.normal(1, 0.03)),
                brightness_scale=float(rng.lognormal(0, 0.15)),
                key_shift=int(rng.choice([0, 0, 0, 2, -2, 5])),
            )
        )  # fmt: skip
    first_ai = len(artists)
    n_personas = max(2, n_persona_tracks // 14)
    for i in range(n_personas):
        aid = f"a_{len(artists) + 1:04d}"
        studio = f"aistudio_{i % 3 + 1:02d}"
        artists.append(
            ArtistDraft(
                artist_id=aid, name=book.distinct(rng, names.ai_persona_name), kind="ai_persona",
                nature="persona", verified=bool(rng.random() < 0.5),
                rights_holder_id="rh_" + studio, uploader_id="up_" + studio,
                created_at=rng.uniform(AI_ERA, WINDOW_START + 30 * DAY),
                genres=(int(rng.integers(n_genres)),), popularity=float(rng.lognormal(-0.6, 0.8)),
            )
        )  # fmt: skip
    first_farm = len(artists)
    n_farms = max(2, n_farm_tracks // 12)
    for i in range(n_farms):
        aid = f"a_{len(artists) + 1:04d}"
        farm = f"farm_{i % max(1, n_farms // 3) + 1:02d}"
        claims_human = rng.random() < 0.25
        artists.append(
            ArtistDraft(
                artist_id=aid,
                name=book.distinct(
                    rng, names.human_artist_name if claims_human else names.account_handle
                ),
                kind="human" if claims_human else "unknown", nature="farm", verified=False,
                rights_holder_id="rh_" + farm, uploader_id="up_" + farm,
                created_at=rng.uniform(AI_ERA, WINDOW_START + 60 * DAY),
                genres=(int(rng.integers(n_genres)),), popularity=float(rng.lognormal(-1.4, 0.7)),
            )
        )  # fmt: skip

    tracks: list[TrackDraft] = []
    plan = [
        (range(0, first_ai), n_human_tracks),
        (range(first_ai, first_farm), n_persona_tracks),
        (range(first_farm, len(artists)), n_farm_tracks),
    ]
    for idx, total in plan:
        counts = _artist_counts(rng, total, len(idx))
        young = np.array([artists[a].emerging for a in idx])
        if young.any() and not young.all():
            # Emerging artists have at most three tracks; established ones take the rest.
            excess = int(np.clip(counts[young] - 3, 0, None).sum())
            counts[young] = np.minimum(counts[young], 3)
            settled = np.flatnonzero(~young)
            counts[settled] += rng.multinomial(excess, np.full(len(settled), 1 / len(settled)))
        for a, count in zip(idx, counts, strict=True):
            times = _upload_times(rng, artists[a], int(count))
            for t in times:
                tracks.append(_track(rng, artists, a, float(t), len(tracks)))
    _add_credits(rng, artists, tracks)
    return WorldDraft(artists=artists, tracks=tracks, labels=labels)


def _upload_times(rng: np.random.Generator, artist: ArtistDraft, count: int) -> np.ndarray:
    if artist.nature == "farm":
        # Farms upload in a steady stream, a track every few hours.
        start = rng.uniform(max(artist.created_at, AI_ERA), WINDOW_END - 40 * DAY)
        return start + np.cumsum(rng.exponential(3 * 3600, size=count))
    low = max(artist.created_at, EPOCH_2019)
    return np.sort(rng.uniform(low, WINDOW_END - 5 * DAY, size=count))


def _track(
    rng: np.random.Generator, artists: list[ArtistDraft], a: int, uploaded: float, n: int
) -> TrackDraft:
    artist = artists[a]
    genre = artist.genres[0] if rng.random() < 0.85 else artist.genres[-1]
    gname = names.GENRES[genre]
    weights = np.array(names.GENRE_MOODS[gname], dtype=float)
    mood = int(rng.choice(len(weights), p=weights / weights.sum()))
    mname = names.MOODS[mood]
    parts: list[str] = []
    if artist.nature == "human":
        assisted = rng.random() < 0.07
        true_ai = "ASSISTED" if assisted else "NONE"
        if assisted:
            parts = sorted(set(rng.choice(["production", "instrumentation", "lyrics"], size=2)))
            declared = "ASSISTED" if rng.random() < 0.7 else "UNDISCLOSED"
        else:
            declared = "NONE" if rng.random() < 0.85 else "UNDISCLOSED"
        machine_p = 0.15 if gname == "electronic" else 0.03
        machine = rng.random() < (0.5 if assisted else machine_p)
    else:
        true_ai = "GENERATED" if artist.nature == "persona" or rng.random() < 0.85 else "ASSISTED"
        parts = ["composition", "instrumentation", "production"]
        if true_ai == "ASSISTED":
            parts = ["instrumentation", "production"]
        elif rng.random() < 0.5:
            parts.append("lyrics")
        declared = true_ai if artist.nature == "persona" else "UNDISCLOSED"
        machine = rng.random() < 0.88
    ai_style = artist.nature != "human" and rng.random() < 0.8
    n_tags = int(rng.integers(5, 9) if ai_style else rng.integers(2, 6))
    tags = [names.pick(rng, names.STYLES[gname]), mname]
    tags += [names.pick(rng, names.ACTIVITIES[mname]), names.pick(rng, names.MOODS)]
    tags += [names.pick(rng, names.STYLES[gname]), gname, "instrumental", "vibes"]
    tags = list(dict.fromkeys(tags))[:n_tags]
    if ai_style:
        description = (
            f"{mname.capitalize()} {gname} for {names.pick(rng, names.ACTIVITIES[mname])}."
        )
    elif rng.random() < 0.5:
        description = f"From the record {names.track_title(rng, mname, ai_style=False)}."
    else:
        description = ""
    seconds = rng.normal(_DURATION_MEAN_S.get(gname, 210), 40)
    if artist.nature == "human":
        duration_ms = int(max(seconds, 45) * 1000 + rng.integers(1000))
    else:
        duration_ms = int(rng.choice([120, 135, 150, 165, 180, 195])) * 1000
        if rng.random() < 0.3:
            duration_ms += int(rng.integers(1, 60_000))
    back_catalog = artist.nature == "human" and not artist.emerging and rng.random() < 0.5
    release = uploaded - (rng.uniform(0, 9 * 365) if back_catalog else rng.uniform(0, 3)) * DAY
    return TrackDraft(
        item_id=f"t_{n + 1:06d}", artist=a, genre=genre, mood=mood,
        title=names.track_title(rng, mname, ai_style=ai_style), tags=tags,
        description=description, duration_ms=duration_ms, release_at=release,
        uploaded_at=uploaded, uploader_id=artist.uploader_id, true_ai=true_ai, ai_parts=parts,
        declared_ai=declared, machine=bool(machine),
        popularity=float(artist.popularity * rng.lognormal(0, 0.7)),
        clip_seed=int(rng.integers(2**31)),
    )  # fmt: skip


def _add_credits(
    rng: np.random.Generator, artists: list[ArtistDraft], tracks: list[TrackDraft]
) -> None:
    humans = [i for i, a in enumerate(artists) if a.nature == "human"]
    for track in tracks:
        if artists[track.artist].nature != "human" or rng.random() < 0.6:
            track.credits = [(track.artist, "primary", "1")]
            continue
        other = [h for h in rng.choice(humans, size=2, replace=False) if h != track.artist]
        if rng.random() < 0.5:
            track.credits = [(track.artist, "primary", "0.7"), (int(other[0]), "featured", "0.3")]
        else:
            role = names.pick(rng, ("producer", "composer", "lyricist"))
            track.credits = [(track.artist, "primary", "0.8"), (int(other[0]), role, "0.2")]


def clip_spec(artist: ArtistDraft, track: TrackDraft) -> ClipSpec:
    """The audio of a track: its genre's sound, its artist's habits, its own melody."""
    return ClipSpec(
        genre=names.GENRES[track.genre],
        seed=track.clip_seed,
        tempo_scale=artist.tempo_scale,
        brightness_scale=artist.brightness_scale,
        key_shift=artist.key_shift,
        machine=track.machine,
    )


__all__ = [
    "WINDOW_END",
    "WINDOW_START",
    "ArtistDraft",
    "TrackDraft",
    "WorldDraft",
    "build_world",
    "clip_spec",
]
