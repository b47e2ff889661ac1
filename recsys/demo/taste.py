"""Listeners with latent tastes, and the listening events those tastes produce over time.

Each listener has a genre mixture and a mood mixture (sparse Dirichlet draws, so most love two
or three genres), a latent vector that meets the artists' latent vectors (shared structure that
collaborative models can learn beyond genre), a stance on AI music and a few blocked artists.
Exposure to a track is proportional to exp(taste score) times its popularity, among tracks
already uploaded at that moment; whether the exposure becomes a play, a skip, a like, a save or
a dislike depends on how well the track matches the listener.
"""

from __future__ import annotations

import numpy as np

from recsys.demo import names
from recsys.demo.tables import iso
from recsys.demo.world import DAY, EPOCH_2019, WINDOW_END, WINDOW_START, WorldDraft

_DIM = 8


def play_probability(match: np.ndarray) -> np.ndarray:
    """The chance that a listener plays (rather than skips) a track shown to them, from how
    well it matches their genre and mood mixtures (the rule the events are drawn with)."""
    return np.asarray(1.0 - np.clip(0.65 - 0.55 * match, 0.05, 0.9))


def build_listeners(
    rng: np.random.Generator,
    world: WorldDraft,
    n_listeners: int,
    truth: dict[str, np.ndarray] | None = None,
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Draw ``n_listeners`` listeners and their events; returns (listener rows, event rows).

    ``truth``, when given, receives each listener's true play probability of every track
    (in ``world.tracks`` order; 0 for blocked artists), for simulations with known answers.
    """
    tracks, artists = world.tracks, world.artists
    n_genres, n_moods = len(names.GENRES), len(names.MOODS)
    genre = np.array([t.genre for t in tracks])
    mood = np.array([t.mood for t in tracks])
    artist = np.array([t.artist for t in tracks])
    uploaded = np.array([t.uploaded_at for t in tracks])
    duration = np.array([t.duration_ms for t in tracks])
    ai_generated = np.array([t.true_ai == "GENERATED" for t in tracks])
    declared_ai = np.array([t.declared_ai in ("GENERATED", "ASSISTED") for t in tracks])
    log_pop = np.log(np.array([t.popularity for t in tracks]) + 1e-3)
    artist_vec = rng.normal(0, 1, size=(len(artists), _DIM)) / np.sqrt(_DIM)
    order = np.argsort(uploaded, kind="stable")
    uploaded_sorted = uploaded[order]

    listeners: list[dict[str, str]] = []
    events: list[tuple[float, str, str, str, str]] = []
    for u in range(n_listeners):
        uid = f"u_{u + 1:05d}"
        g = rng.dirichlet(np.full(n_genres, 0.25)) + 1e-3
        m = rng.dirichlet(np.full(n_moods, 0.6)) + 1e-3
        z = rng.normal(0, 1, size=_DIM)
        stance = rng.random()
        opt_out = stance < 0.2
        joined = (
            rng.uniform(WINDOW_START, WINDOW_START + 120 * DAY)
            if rng.random() < 0.2
            else rng.uniform(EPOCH_2019, WINDOW_START)
        )
        score = (
            2.0 * np.log(g[genre])
            + 0.8 * np.log(m[mood])
            + 1.2 * (artist_vec @ z)[artist]
            + 0.9 * log_pop
        )
        if opt_out:
            score = score - np.where(declared_ai, 6.0, 0.0) - np.where(ai_generated, 1.5, 0.0)
        elif stance > 0.9:
            score = score + np.where(ai_generated, 1.0, 0.0)
        else:
            score = score - np.where(ai_generated, 0.7, 0.0)
        blocked: list[str] = []
        if rng.random() < 0.12:
            liked = np.flatnonzero(genre == int(np.argmax(g)))
            picks = rng.choice(liked, size=min(len(liked), int(rng.integers(1, 4))), replace=False)
            blocked_idx = sorted({int(artist[i]) for i in picks})
            blocked = [artists[a].artist_id for a in blocked_idx]
            credited = [any(c[0] in blocked_idx for c in t.credits) for t in tracks]
            score = np.where(credited, -np.inf, score)
        if truth is not None:
            fit = 0.7 * g[genre] / g.max() + 0.3 * m[mood] / m.max()
            fit = np.where(opt_out & ai_generated, fit * 0.3, fit)
            truth[uid] = np.where(np.isfinite(score), play_probability(fit), 0.0)
        listeners.append(
            {"user_id": uid, "ai_preference": "opt_out" if opt_out else "allow",
             "blocked_artist_ids": "|".join(blocked), "created_at": iso(joined)}
        )  # fmt: skip

        weights = np.exp(score - score[np.isfinite(score)].max())[order]
        cum = np.cumsum(weights)
        n_events = int(np.clip(rng.lognormal(np.log(60), 0.8), 5, 600))
        n_sessions = max(1, n_events // 8)
        start = rng.uniform(max(joined, WINDOW_START), WINDOW_END - DAY, size=n_sessions)
        session = rng.integers(n_sessions, size=n_events)
        times = np.sort(start[session] + rng.uniform(0, 3600, size=n_events))
        available = np.searchsorted(uploaded_sorted, times, side="right")
        keep = (available > 0) & (cum[np.maximum(available - 1, 0)] > 0)
        times, available = times[keep], available[keep]
        picks = np.searchsorted(cum, rng.random(len(times)) * cum[available - 1], side="right")
        items = order[np.minimum(picks, available - 1)]
        match = 0.7 * g[genre[items]] / g.max() + 0.3 * m[mood[items]] / m.max()
        if opt_out:
            match = np.where(ai_generated[items], match * 0.3, match)
        # The same rule as play_probability, kept in this form so the draws stay identical.
        skipped = rng.random(len(items)) < np.clip(0.65 - 0.55 * match, 0.05, 0.9)
        r_like, r_save, r_dis = rng.random((3, len(items)))
        for j, i in enumerate(items):
            t, tid, dur = float(times[j]), tracks[i].item_id, int(duration[i])
            if skipped[j]:
                played = int(rng.uniform(1500, min(30_000, dur)))
                events.append((t, uid, tid, "skip", str(played)))
                if r_dis[j] < 0.08 * (1 - match[j]):
                    events.append((t + 2, uid, tid, "dislike", ""))
                continue
            events.append((t, uid, tid, "play", str(int(dur * rng.uniform(0.6, 1.0)))))
            if r_like[j] < 0.25 * match[j] ** 2:
                events.append((t + 3, uid, tid, "like", ""))
            if r_save[j] < 0.12 * match[j]:
                events.append((t + 4, uid, tid, "save", ""))
    events.sort()
    rows = [
        {"event_id": f"ev_{n:08d}", "user_id": e[1], "item_id": e[2], "timestamp": iso(e[0]),
         "event_type": e[3], "ms_played": e[4], "weight": "1"}
        for n, e in enumerate(events, start=1)
    ]  # fmt: skip
    return listeners, rows


__all__ = ["build_listeners", "play_probability"]
