"""The consent ledger of the demo world, and which AI tracks imitate which known artists.

Rights holders grant and revoke ``ai_training`` (about 55% end up granting),
``ai_style_reference`` (about 30%) and ``voice_likeness`` (about 12%) over time, with an actor
and a reason on every entry. AI tracks then reference known human artists, half of them chosen
among holders who granted the matching scopes and half among those who did not, so the serving
rule "never recommend an imitation without consent" has both cases to act on.
"""

from __future__ import annotations

import numpy as np

from recsys.demo.tables import iso
from recsys.demo.world import DAY, WINDOW_END, WINDOW_START, WorldDraft

CONSENT_LAUNCH = WINDOW_START - 120 * DAY
STYLE = "ai_style_reference"
VOICE = "voice_likeness"
TRAINING = "ai_training"

_GRANT_REASONS = (
    "opted in via artist portal",
    "label-wide AI policy",
    "licensing deal signed",
    "wants to be discoverable by AI tools",
)
_REVOKE_REASONS = (
    "changed mind after hearing AI imitations",
    "contract renegotiation",
    "estate request",
    "opted out via artist portal",
)

Entry = tuple[float, str, str, str, str, str]  # time, holder, scope, action, actor, reason


def _actor(rng: np.random.Generator, holder: str) -> str:
    if rng.random() < 0.1:
        return f"support:agent-{int(rng.integers(1, 12)):02d}"
    if holder.startswith("rh_label"):
        return "label-admin:" + holder
    if holder.startswith("rh_"):
        return "admin:" + holder
    return "artist:" + holder


def _history(rng: np.random.Generator, holder: str, scope: str, granted: bool) -> list[Entry]:
    t = rng.uniform(CONSENT_LAUNCH, WINDOW_END - 30 * DAY)
    grant_reason, revoke_reason = rng.choice(_GRANT_REASONS), rng.choice(_REVOKE_REASONS)
    grant = (t, holder, scope, "grant", _actor(rng, holder), str(grant_reason))
    later = t + rng.uniform(1, 25) * DAY
    revoke = (later, holder, scope, "revoke", _actor(rng, holder), str(revoke_reason))
    u = rng.random()
    if granted:
        if u < 0.08:  # revoked once, then granted again
            regrant = (later + rng.uniform(1, 10) * DAY, *grant[1:])
            return [grant, revoke, regrant]
        return [grant]
    if u < 0.15:
        return [grant, revoke]
    if u < 0.25:
        return [(t, holder, scope, "revoke", _actor(rng, holder), "opted out via artist portal")]
    return []


def _final(entries: list[Entry]) -> set[tuple[str, str]]:
    state: dict[tuple[str, str], str] = {}
    for e in sorted(entries):
        state[(e[1], e[2])] = e[3]
    return {k for k, v in state.items() if v == "grant"}


def build_ledger(rng: np.random.Generator, world: WorldDraft) -> list[dict[str, str]]:
    """Draw consent histories, assign imitation references, and return the ledger rows.

    Sets ``references``, ``imitation_scopes`` and (for voice imitations) the ``vocals`` AI part
    on the imitating tracks of ``world``.
    """
    holders = list(dict.fromkeys(a.rights_holder_id for a in world.artists))
    entries: list[Entry] = []
    for holder in holders:
        train = bool(rng.random() < 0.55)
        style = bool(rng.random() < (0.5 if train else 0.08))
        voice = bool(rng.random() < (0.35 if style else 0.02))
        for scope, granted in ((TRAINING, train), (STYLE, style), (VOICE, voice)):
            entries.extend(_history(rng, holder, scope, granted))

    known = [i for i, a in enumerate(world.artists) if a.nature == "human" and not a.emerging] or [
        i for i, a in enumerate(world.artists) if a.nature == "human"
    ]
    known = sorted(known, key=lambda i: -world.artists[i].popularity)[: max(6, len(known) // 7)]
    holder_of = {i: world.artists[i].rights_holder_id for i in known}
    # Both kinds of imitation must exist: one known artist granting style and voice, one not
    # granting either (granted once, then revoked).
    final = _final(entries)
    top, last = known[0], known[-1]
    if not any((holder_of[i], VOICE) in final and (holder_of[i], STYLE) in final for i in known):
        for scope in (STYLE, VOICE):
            entries.append((CONSENT_LAUNCH + DAY, holder_of[top], scope, "grant",
                            "artist:" + holder_of[top], "licensing deal signed"))  # fmt: skip
    final = _final(entries)
    if (holder_of[last], STYLE) in final or holder_of[last] == holder_of[top]:
        last = next((i for i in known if (holder_of[i], STYLE) not in final), last)
    if (holder_of[last], STYLE) in final:
        reason = "changed mind after hearing AI imitations"
        actor = "artist:" + holder_of[last]
        entries.append((WINDOW_START + 60 * DAY, holder_of[last], STYLE, "revoke", actor, reason))
    final = _final(entries)

    forced = 0
    for track in world.tracks:
        nature = world.artists[track.artist].nature
        must = nature == "persona" and forced < 2
        if not must and (
            nature == "human" or rng.random() >= (0.3 if nature == "persona" else 0.12)
        ):
            continue
        voice = bool(rng.random() < 0.4)
        scopes = [STYLE, VOICE] if voice else [STYLE]
        ok = [i for i in known if all((holder_of[i], s) in final for s in scopes)]
        bad = [i for i in known if not all((holder_of[i], s) in final for s in scopes)]
        want_ok = rng.random() < 0.5
        if nature == "persona" and forced < 2:
            want_ok, forced = forced == 0, forced + 1
            if want_ok and not ok:
                voice, scopes = True, [STYLE, VOICE]
                ok = [top]
        pool = (ok if want_ok else bad) or ok or bad
        same_genre = [i for i in pool if world.artists[i].genres[0] == track.genre]
        target = int(rng.choice(same_genre or pool))
        track.genre = world.artists[target].genres[0]
        track.references = [target]
        track.imitation_scopes = scopes
        if voice and "vocals" not in track.ai_parts:
            track.ai_parts = sorted([*track.ai_parts, "vocals"])

    rows = []
    for n, e in enumerate(sorted(entries), start=1):
        rows.append(
            {"entry_id": f"c_{n:06d}", "rights_holder_id": e[1], "scope": e[2], "action": e[3],
             "actor": e[4], "reason": e[5], "timestamp": iso(e[0])}
        )  # fmt: skip
    return rows


def final_grants(rows: list[dict[str, str]]) -> set[tuple[str, str]]:
    """The (rights holder, scope) pairs granted after replaying ``rows`` in order."""
    state: dict[tuple[str, str], str] = {}
    for row in sorted(rows, key=lambda r: (r["timestamp"], r["entry_id"])):
        state[(row["rights_holder_id"], row["scope"])] = row["action"]
    return {k for k, v in state.items() if v == "grant"}


__all__ = ["CONSENT_LAUNCH", "build_ledger", "final_grants"]
