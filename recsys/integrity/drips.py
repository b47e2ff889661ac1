"""Slow drips: filler uploaded to one account or one payee below the burst limits, judged on
the service's own receipt clock.

A drip stays under every hourly and daily limit and spreads over days or weeks; the volume
over a long window still gives it away, and so does how it arrives. For every uploader account
and every payee (the rights holder of the credited artists), this screen counts the uploads
the service **received** (``Track.received_at``; a claimed ``uploaded_at`` never counts) within
a sliding long window, leaving out the store's first load (a catalog the service started from
arrived at once, which says nothing about its rate). A group is a drip when:

- its count is above the **hard limit** (:attr:`DripConfig.max_uploads`, times
  ``trusted_factor`` for accounts and payees with verified rights), whatever else is true; or
- its count is above the **soft limit** and at least one corroborating signal holds. The soft
  limit is the catalog's own baseline: ``baseline_factor`` times a high quantile of what the
  accounts and payees of protected artists (verified, agreement or established listeners)
  upload in such a window, never below :attr:`DripConfig.min_uploads` (an album); with too
  few such groups, the floor alone. The signals:

  - **new accounts**: a payee paid by several accounts whose first upload arrived inside the
    window (a farm spreads its uploads over fresh accounts);
  - **scheduled gaps**: the receipt gaps between uploads are alike (a scheduler, not a
    person), over enough gaps that are not one batch;
  - **undeclared**: most of the uploads declare nothing about AI (``UNDISCLOSED``), which a
    content farm does and an honest act, who mostly declares, rarely does for a whole run;
  - **machine-made**: most of the uploads have a machine-made recording chain, measured on the
    audio (:func:`recsys.integrity.disputes.machine_chain`: no noise floor, unlike every
    clean reference), whatever they declare.

Protected groups are judged by the hard limit only. Every upload of a flagged group in the
window is flagged, with the count, the limits and the signals as evidence.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from recsys.domain import AiInvolvement, Track
from recsys.integrity.protected import ProtectedArtists
from recsys.integrity.screening import (
    DripConfig,
    Flag,
    ScreenContext,
    ScreeningConfig,
    flag_strongest,
)


@dataclass(frozen=True, kw_only=True)
class _Group:
    kind: str
    who: str
    uploads: tuple[tuple[datetime, Track], ...]


def _signals(
    group: _Group,
    window: Sequence[tuple[datetime, Track]],
    first_seen: dict[str, datetime],
    config: DripConfig,
    machine_like: Collection[str] = frozenset(),
) -> list[str]:
    """The corroborating signals of one window position, in words."""
    found = []
    start = window[0][0]
    if group.kind == "payee":
        accounts = {t.uploader_id for _, t in window if t.uploader_id}
        new = sorted(a for a in accounts if first_seen.get(a, start) >= start)
        if len(new) >= config.min_new_accounts:
            found.append(f"{len(new)} accounts new in the window ({', '.join(new[:5])})")
    times = np.array([at.timestamp() for at, _ in window])
    gaps = np.diff(times)
    gaps = gaps[gaps > config.batch_gap_s]
    if gaps.size >= config.min_gaps:
        cv = float(gaps.std() / gaps.mean())
        if cv < config.max_gap_cv:
            found.append(
                f"{gaps.size} receipt gaps alike (mean {gaps.mean() / 3600:.1f} h, CV {cv:.2f})"
            )
    undeclared = sum(
        t.provenance.ai_involvement is AiInvolvement.UNDISCLOSED for _, t in window
    ) / len(window)
    if undeclared >= config.undeclared_share:
        found.append(f"{undeclared:.0%} of the uploads declare nothing about AI")
    machine = sum(t.track_id in machine_like for _, t in window) / len(window)
    if machine >= config.undeclared_share:
        found.append(f"{machine:.0%} of the uploads have a machine-made recording chain")
    return found


def _order(upload: tuple[datetime, Track]) -> tuple[datetime, str]:
    return upload[0], upload[1].track_id


class SlowDripScreen:
    """Flags the uploads of accounts and payees that drip filler into the catalog (see the
    module docstring).

    Args:
        config: limits and signals.
        trusted_artist_ids: artists with verified rights or established listeners; accounts
            crediting only them, and payees of one of them, are protected groups.
        history_until: uploads received at or before this (the store's first load) are left
            out.
        machine_like: tracks whose recording chain the audio analysis found machine-made.
    """

    reason = "slow_drip"

    def __init__(
        self,
        config: DripConfig | None = None,
        *,
        trusted_artist_ids: Collection[str] = frozenset(),
        history_until: datetime | None = None,
        machine_like: Collection[str] = frozenset(),
    ) -> None:
        self.config = config or DripConfig()
        self.machine_like = frozenset(machine_like)
        self.trusted = frozenset(trusted_artist_ids)
        self.history_until = history_until

    def _groups(self, context: ScreenContext) -> tuple[list[_Group], set[tuple[str, str]]]:
        members: dict[tuple[str, str], list[tuple[datetime, Track]]] = defaultdict(list)
        untrusted_accounts: set[str] = set()
        trusted: set[tuple[str, str]] = set()
        for t in context.tracks:
            at = t.received_at
            if at is None or (self.history_until is not None and at <= self.history_until):
                continue
            if t.uploader_id:
                members[("account", t.uploader_id)].append((at, t))
                if not t.artist_ids or any(a not in self.trusted for a in t.artist_ids):
                    untrusted_accounts.add(t.uploader_id)
            for aid in t.artist_ids:
                if (artist := context.artists.get(aid)) is not None:
                    members[("payee", artist.rights_holder_id)].append((at, t))
        for aid in self.trusted:
            if (artist := context.artists.get(aid)) is not None:
                trusted.add(("payee", artist.rights_holder_id))
        trusted |= {k for k in members if k[0] == "account" and k[1] not in untrusted_accounts}
        groups = [
            _Group(kind=k, who=w, uploads=tuple(sorted(unique.values(), key=_order)))
            for (k, w), v in members.items()
            if (unique := {t.track_id: (at, t) for at, t in v})
        ]
        return groups, trusted

    def _peak(self, uploads: Sequence[tuple[datetime, Track]]) -> tuple[int, int]:
        """(count, end index) of the fullest window position."""
        span = timedelta(days=self.config.window_days)
        best, best_end, start = 0, 0, 0
        for end, (at, _) in enumerate(uploads):
            while uploads[start][0] <= at - span:
                start += 1
            if end - start + 1 > best:
                best, best_end = end - start + 1, end
        return best, best_end

    def soft_limit(self, groups: Sequence[_Group], trusted: set[tuple[str, str]]) -> int:
        """The soft limit: the protected groups' baseline times the factor, with the floor."""
        cfg = self.config
        counts = [self._peak(g.uploads)[0] for g in groups if (g.kind, g.who) in trusted]
        if len(counts) < cfg.baseline_min_groups:
            return cfg.min_uploads
        base = float(np.quantile(counts, cfg.baseline_quantile))
        return max(cfg.min_uploads, math.ceil(cfg.baseline_factor * base))

    def screen(self, context: ScreenContext) -> list[Flag]:
        cfg = self.config
        groups, trusted = self._groups(context)
        soft = self.soft_limit(groups, trusted)
        first_seen: dict[str, datetime] = {}
        for t in context.tracks:
            if t.uploader_id and t.received_at is not None:
                seen = first_seen.get(t.uploader_id)
                first_seen[t.uploader_id] = min(seen or t.received_at, t.received_at)
        span = timedelta(days=cfg.window_days)
        flagged: dict[str, Flag] = {}
        for g in groups:
            is_trusted = (g.kind, g.who) in trusted
            hard = int(cfg.max_uploads * (cfg.trusted_factor if is_trusted else 1.0))
            start = 0
            for end, (at, _) in enumerate(g.uploads):
                while g.uploads[start][0] <= at - span:
                    start += 1
                count = end - start + 1
                if count <= soft or (is_trusted and count <= hard):
                    continue
                window = g.uploads[start : end + 1]
                if count > hard:
                    why = f"above the limit of {hard}"
                else:
                    signals = _signals(g, window, first_seen, cfg, self.machine_like)
                    if not signals:
                        continue
                    why = f"above the catalog's baseline of {soft}, and " + "; ".join(signals)
                subject = f"account {g.who}" if g.kind == "account" else f"payee {g.who}"
                evidence = (
                    f"{count} uploads received for {subject} within {cfg.window_days:g} d "
                    f"({window[0][0]:%Y-%m-%d %H:%M} to {at:%Y-%m-%d %H:%M}, receipt clock): "
                    f"{why}"
                )
                flag_strongest(
                    flagged, (m for _, m in window), context,
                    reason=self.reason, evidence=evidence, score=float(count),
                )  # fmt: skip
        return list(flagged.values())


def drip_screen(
    config: ScreeningConfig | None = None,
    protected: ProtectedArtists | None = None,
    machine_like: Collection[str] = frozenset(),
) -> SlowDripScreen:
    """The slow-drip screen with the configured limits; ``protected`` (see
    :func:`recsys.integrity.protected.protected_artists`) gives the protected groups and the
    end of the store's first load, ``machine_like`` the tracks with a machine-made chain."""
    cfg = config or ScreeningConfig()
    return SlowDripScreen(
        cfg.drip,
        trusted_artist_ids=protected.exempt if protected is not None else frozenset(),
        history_until=protected.first_load_until if protected is not None else None,
        machine_like=machine_like,
    )


__all__ = ["SlowDripScreen", "drip_screen"]
