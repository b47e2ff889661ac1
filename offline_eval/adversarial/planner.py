"""Draw a whole suite from a seed: the established catalog, genuine newcomers and attacks.

Each ``_add_*`` method adds one family of rows; :func:`plan_suite` runs them in a fixed order
so a seed always yields the same suite. Attack rows carry their kind in ``attack``
(``family/detail``) and what a correct service does in ``expected``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np

from offline_eval.adversarial.config import SuiteConfig
from offline_eval.adversarial.confusables import confusable, decorate
from offline_eval.adversarial.edits import (
    HANDMADE_COPIES,
    Edit,
    draw_combined,
    draw_edit,
    wants_mp3,
)
from offline_eval.adversarial.machine import BARE_LABELS, MACHINE_TAGS, MACHINE_TEXTS
from offline_eval.adversarial.names import NameDrawer
from offline_eval.adversarial.plan import (
    ANCHOR,
    CATALOG,
    UPLOADS,
    ArtistPlan,
    Copy,
    Excerpt,
    Ids,
    ListenerPlan,
    Machine,
    PiecePool,
    PlayPlan,
    SuitePlan,
    TrackPlan,
    days,
)
from offline_eval.adversarial.sources import SourcePiece
from offline_eval.errors import DatasetError

_YEAR = 365.0
_MOODS = ("calm", "epic", "dark", "bright", "melancholic", "driving", "dreamy", "tense")
_INNOCENT_AI_TEXT = (
    "Recorded live in one take, no AI used.",
    "100% human made - no AI, no samples.",
    "Played by hand on an old upright; not AI.",
    "Written with my friend Aiden on a rainy weekend.",
)
_MILD_EDITS = ("exact", "gain_-6db", "mp3_128k", "trim_0.2", "eq_high_shelf", "offset_2s")


class _Planner:
    def __init__(self, seed: int, config: SuiteConfig, pieces: Sequence[SourcePiece]) -> None:
        self.rng = np.random.default_rng(seed)
        self.cfg = config
        self.ids = Ids(self.rng)
        self.names = NameDrawer(self.rng)
        self.pool = PiecePool(pieces, self.rng)
        self.plan = SuitePlan(seed=seed, config=config)
        self.originals: list[TrackPlan] = []
        self.established: list[ArtistPlan] = []
        self._ring: list[Excerpt] = []
        self._ring_all: list[Excerpt] = []
        self._ring_holder = ""
        self._ring_turn = 0
        self._reuse_ring = False
        self._may_reuse_ring = False

    # -- helpers ---------------------------------------------------------------------------
    def _length(self) -> float:
        return round(float(self.rng.uniform(self.cfg.min_track_s, self.cfg.max_track_s)), 2)

    def _filler_length(self) -> float:
        low, high = self.cfg.filler_track_s
        return round(float(self.rng.uniform(low, high)), 2)

    def _format(self) -> str:
        return "ogg" if self.rng.random() < self.cfg.ogg_share else "flac"

    def _artist(
        self,
        batch: str,
        name: str,
        created_at: datetime | None,
        *,
        verified: bool = False,
        holder: str = "",
        kind: str = "unknown",
    ) -> ArtistPlan:
        artist = ArtistPlan(
            artist_id=self.ids("a"),
            name=name,
            batch=batch,
            verified=verified,
            rights_holder_id=holder or self.ids("rh"),
            created_at=created_at,
            kind=kind,
        )
        self.plan.artists.append(artist)
        return artist

    def _tags(self, genre: str) -> tuple[str, ...]:
        k = int(self.rng.integers(1, 3))
        return (genre, *(str(m) for m in self.rng.choice(_MOODS, size=k, replace=False)))

    def _pick(self, items: Sequence[TrackPlan] | Sequence[ArtistPlan]) -> int:
        return int(self.rng.integers(len(items)))

    def _newcomer(self, low_days: float = 1, high_days: float = 20) -> ArtistPlan:
        return self._artist(
            UPLOADS, self.names.artist(), ANCHOR - days(self.rng, low_days, high_days)
        )

    def _add(self, track: TrackPlan) -> TrackPlan:
        self.plan.tracks.append(track)
        return track

    # -- the established catalog -----------------------------------------------------------
    def add_catalog(self) -> None:
        cfg = self.cfg
        n = cfg.established_artists
        verified = set(self.rng.permutation(n)[: round(cfg.verified_share * n)].tolist())
        for i in range(n):
            created = ANCHOR - days(self.rng, 3 * _YEAR, 6 * _YEAR)
            artist = self._artist(
                CATALOG, self.names.artist(), created, verified=i in verified, kind="human"
            )
            self.established.append(artist)
            uploader = self.ids("up")
            lengths = [self._length() for _ in range(cfg.originals_per_artist)]
            for excerpt in self.pool.excerpts(lengths):
                at = created + days(self.rng, 30, 2 * _YEAR)
                self.originals.append(
                    self._add(
                        TrackPlan(
                            item_id=self.ids("t"),
                            batch=CATALOG,
                            title=self.names.title(),
                            artist_id=artist.artist_id,
                            audio=excerpt,
                            audio_format=self._format(),
                            genre=excerpt.piece.genre,
                            uploader_id=uploader,
                            uploaded_at=at,
                            declared="NONE",
                            tags=self._tags(excerpt.piece.genre),
                        )
                    )
                )
        listeners = [
            ListenerPlan(
                listener_id=self.ids("u"),
                batch=CATALOG,
                created_at=ANCHOR - days(self.rng, 2 * _YEAR, 5 * _YEAR),
            )
            for _ in range(cfg.established_listeners)
        ]
        self.plan.listeners.extend(listeners)
        low, high = cfg.plays_per_original
        for track in self.originals:
            assert track.uploaded_at is not None
            span = (ANCHOR - timedelta(days=1) - track.uploaded_at).total_seconds()
            for _ in range(int(self.rng.integers(low, high + 1))):
                listener = listeners[int(self.rng.integers(len(listeners)))]
                at = track.uploaded_at + timedelta(seconds=int(self.rng.uniform(60, span)))
                self.plan.plays.append(
                    PlayPlan(listener_id=listener.listener_id, item_id=track.item_id, at=at,
                             batch=CATALOG)
                )  # fmt: skip

    # -- genuine newcomers -----------------------------------------------------------------
    def add_genuine(self) -> None:
        cfg = self.cfg
        for _ in range(cfg.genuine_artists):
            if self.established and self.rng.random() < cfg.similar_name_share:
                name = self.names.similar_innocent(
                    self.established[self._pick(self.established)].name
                )
            else:
                name = self.names.artist()
            artist = self._artist(UPLOADS, name, ANCHOR - days(self.rng, 2, 25), kind="human")
            uploader = self.ids("up")
            lengths = [self._length() for _ in range(cfg.genuine_tracks_per_artist)]
            for excerpt in self.pool.excerpts(lengths):
                assert artist.created_at is not None
                innocent = self.rng.random() < cfg.anti_ai_text_share
                text = (
                    _INNOCENT_AI_TEXT[self._pick_text(len(_INNOCENT_AI_TEXT))] if innocent else ""
                )
                self._add(
                    TrackPlan(
                        item_id=self.ids("t"),
                        batch=UPLOADS,
                        title=self.names.title(),
                        artist_id=artist.artist_id,
                        audio=excerpt,
                        audio_format=self._format(),
                        genre=excerpt.piece.genre,
                        uploader_id=uploader,
                        uploaded_at=artist.created_at + days(self.rng, 0.05, 2),
                        declared="NONE" if self.rng.random() < 0.7 else "",
                        description=text,
                        tags=self._tags(excerpt.piece.genre),
                    )
                )

    def _pick_text(self, n: int) -> int:
        return int(self.rng.integers(n))

    # -- audio copies ----------------------------------------------------------------------
    def _copy(
        self,
        attack: str,
        original: TrackPlan,
        edits: Sequence[Edit],
        *,
        artist: ArtistPlan | None = None,
        uploaded_at: datetime | str | None = "after",
        cluster: str = "",
    ) -> TrackPlan:
        artist = artist or self._newcomer()
        if uploaded_at == "after":
            assert artist.created_at is not None
            uploaded_at = artist.created_at + days(self.rng, 0.05, 1)
        assert not isinstance(uploaded_at, str)
        keep_title = self.rng.random() < 0.5
        return self._add(
            TrackPlan(
                item_id=self.ids("t"),
                batch=UPLOADS,
                title=original.title if keep_title else self.names.title(),
                artist_id=artist.artist_id,
                audio=Copy(
                    of=original.item_id, edits=tuple(edits), seed=int(self.rng.integers(2**31))
                ),
                audio_format=(
                    "mp3"
                    if wants_mp3(edits)
                    else original.audio_format  # an unedited copy is a byte copy
                    if all(e.kind == "exact" for e in edits)
                    else self._format()
                ),
                genre=original.genre,
                uploader_id=self.ids("up"),
                uploaded_at=uploaded_at,
                declared=original.declared if self.rng.random() < 0.5 else "",
                tags=original.tags,
                attack=attack,
                expected="quarantine",
                abuse_kinds=("near_duplicate",),
                duplicate_of=original.item_id,
                cluster_id=cluster,
            )
        )

    def _original(self) -> TrackPlan:
        return self.originals[self._pick(self.originals)]

    def add_copies(self) -> None:
        cfg = self.cfg
        for kind in cfg.copy_edits:
            for _ in range(cfg.copies_per_edit):
                self._copy(f"copy/{kind}", self._original(), [draw_edit(kind, self.rng)])
        for _ in range(cfg.combined_copies):
            self._copy("copy/combined", self._original(), draw_combined(self.rng))
        for c in range(cfg.cross_uploader_clusters):
            original = self._original()
            low, high = cfg.cluster_size
            cluster = f"cluster_{c}"
            for _ in range(int(self.rng.integers(low, high + 1))):
                edit = draw_edit(_MILD_EDITS[self._pick_text(len(_MILD_EDITS))], self.rng)
                self._copy("cross_uploader", original, [edit], cluster=cluster)
        for _ in range(cfg.backdated_copies):
            original = self._original()
            assert original.uploaded_at is not None
            claimed = original.uploaded_at - days(self.rng, _YEAR, 4 * _YEAR)
            artist = self._artist(UPLOADS, self.names.artist(), claimed - days(self.rng, 30, _YEAR))
            edit = draw_edit(_MILD_EDITS[self._pick_text(len(_MILD_EDITS))], self.rng)
            self._copy("backdated/copy", original, [edit], artist=artist, uploaded_at=claimed)
        for _ in range(cfg.undated_copies):
            edit = draw_edit(_MILD_EDITS[self._pick_text(len(_MILD_EDITS))], self.rng)
            self._copy("undated/copy", self._original(), [edit], uploaded_at=None)

    # -- name attacks ----------------------------------------------------------------------
    def _ring_excerpt(self) -> tuple[Excerpt, str]:
        """Audio of an impersonator: one operator's profiles share its recordings."""
        if self._reuse_ring:  # the recordings ran out: the last operator's, in turn
            excerpt = self._ring_all[self._ring_turn % len(self._ring_all)]
            self._ring_turn += 1
            return excerpt, self._ring_holder
        if not self._ring:
            try:
                ring = self.pool.excerpts([self._length() for _ in range(self.cfg.ring_size)])
            except DatasetError:
                if not (self._may_reuse_ring and self._ring_all):
                    raise
                self._reuse_ring = True
                return self._ring_excerpt()
            self._ring, self._ring_all = ring, list(ring)
            self._ring_holder = self.ids("rh")
        return self._ring.pop(0), self._ring_holder

    def _impersonator(
        self, attack: str, victim: ArtistPlan, name: str, created_at: datetime, tracks: int = 1
    ) -> list[TrackPlan]:
        excerpt, holder = self._ring_excerpt()
        artist = self._artist(UPLOADS, name, created_at, holder=holder)
        uploader = self.ids("up")
        out: list[TrackPlan] = []
        for k in range(tracks):
            audio = excerpt if k == 0 else self._ring_excerpt()[0]
            out.append(
                self._add(
                    TrackPlan(
                        item_id=self.ids("t"),
                        batch=UPLOADS,
                        title=self.names.title(),
                        artist_id=artist.artist_id,
                        audio=audio,
                        audio_format=self._format(),
                        genre=audio.piece.genre,
                        uploader_id=uploader,
                        uploaded_at=ANCHOR - days(self.rng, 0.2, 4),
                        declared="NONE" if self.rng.random() < 0.5 else "",
                        tags=self._tags(audio.piece.genre),
                        attack=attack,
                        expected="quarantine",
                        abuse_kinds=("imitated_name",),
                        imitated_artist_ids=(victim.artist_id,),
                    )
                )
            )
        return out

    def _victim(self) -> ArtistPlan:
        return self.established[self._pick(self.established)]

    def _spoof(self, name: str) -> str:
        kinds = self.cfg.confusable_kinds or ("zero_width",)
        return confusable(name, kinds[self._pick_text(len(kinds))], self.rng)

    def _decorate(self, name: str) -> str:
        kinds = self.cfg.decoration_kinds or ("official",)
        guest = self.established[self._pick(self.established)].name
        return decorate(name, kinds[self._pick_text(len(kinds))], guest)

    def add_name_attacks(self) -> None:
        cfg = self.cfg
        fresh = lambda: ANCHOR - days(self.rng, 1, 15)  # noqa: E731
        for kind in cfg.confusable_kinds:
            for _ in range(cfg.confusables_per_kind):
                victim = self._victim()
                name = confusable(victim.name, kind, self.rng)
                self._impersonator(f"name/{kind}", victim, name, fresh())
        for kind in cfg.decoration_kinds:
            for _ in range(cfg.decorations_per_kind):
                victim = self._victim()
                guest = self.established[self._pick(self.established)].name
                name = decorate(victim.name, kind, guest)
                self._impersonator(f"name/decoration_{kind}", victim, name, fresh())
        for _ in range(cfg.decorated_confusables):
            victim = self._victim()
            name = self._decorate(self._spoof(victim.name))
            self._impersonator("name/decorated_confusable", victim, name, fresh())
        for _ in range(cfg.backdated_artists):
            victim = self._victim()
            assert victim.created_at is not None
            claimed = victim.created_at - days(self.rng, _YEAR, 5 * _YEAR)
            name = (
                self._spoof(victim.name) if self.rng.random() < 0.5 else self._decorate(victim.name)
            )
            self._impersonator("backdated/artist", victim, name, claimed)
        for _ in range(cfg.bot_impersonators):
            self._add_bot_impersonator()

    def _add_bot_impersonator(self) -> None:
        cfg = self.cfg
        victim = self._victim()
        name = self._spoof(victim.name) if self.rng.random() < 0.5 else self._decorate(victim.name)
        tracks = self._impersonator(
            "impersonator/bot_plays", victim, name, ANCHOR - days(self.rng, 2, 6), tracks=2
        )
        bots = []
        for _ in range(cfg.bot_listeners):
            draw = self.rng.random()
            # Created-at is the bots' own claim: fresh, missing or backdated.
            created: datetime | None = (
                ANCHOR - days(self.rng, 0, 3)
                if draw < 0.6
                else None
                if draw < 0.8
                else ANCHOR - days(self.rng, 2 * _YEAR, 4 * _YEAR)
            )
            bots.append(ListenerPlan(listener_id=self.ids("u"), batch=UPLOADS, created_at=created))
        self.plan.listeners.extend(bots)
        for _ in range(cfg.bot_plays):
            track = tracks[self._pick(tracks)]
            assert track.uploaded_at is not None
            at = track.uploaded_at + timedelta(seconds=int(self.rng.uniform(60, 3 * 86_400)))
            bot = bots[int(self.rng.integers(len(bots)))]
            self.plan.plays.append(
                PlayPlan(listener_id=bot.listener_id, item_id=track.item_id, at=min(at, ANCHOR),
                         batch=UPLOADS)
            )  # fmt: skip

    # -- rates and machine-made declared-human tracks ----------------------------------------
    def _filler(self, attack: str, kind: str, artist: ArtistPlan, uploader: str,
                at: datetime | None) -> None:  # fmt: skip
        genre = "ambient" if self.rng.random() < 0.5 else "lofi"
        self._add(
            TrackPlan(
                item_id=self.ids("t"),
                batch=UPLOADS,
                title=self.names.title(),
                artist_id=artist.artist_id,
                audio=Machine(seed=int(self.rng.integers(2**31)), seconds=self._filler_length()),
                audio_format=self._format(),
                genre=genre,
                uploader_id=uploader,
                uploaded_at=at,
                tags=(genre,),
                attack=attack,
                expected="quarantine",
                abuse_kinds=(kind,),
                true_ai="GENERATED",
                machine_audio=True,
            )
        )

    def _drip_times(self, n: int, per_hour: float) -> list[datetime]:
        """``n`` claimed upload times at about ``per_hour``, only in waking hours, over days."""
        t = ANCHOR - days(self.rng, 8, 12)
        t = t.replace(hour=9, minute=0, second=0)
        out: list[datetime] = []
        while len(out) < n:
            t += timedelta(seconds=float(self.rng.uniform(0.6, 1.4)) * 3600 / per_hour)
            if t.hour >= 9 + int(self.rng.integers(6, 11)) or t.hour < 9:
                t = (t + timedelta(days=1)).replace(hour=9, minute=int(self.rng.integers(60)))
            out.append(t)
        return out

    def add_rates(self) -> None:
        cfg = self.cfg
        low, high = cfg.drip_per_hour
        if cfg.drip_uploads:
            artist, uploader = self._newcomer(15, 20), self.ids("up")
            rate = float(self.rng.uniform(low, high))
            for at in self._drip_times(cfg.drip_uploads, rate):
                self._filler("slow_drip/account", "slow_drip", artist, uploader, at)
        if cfg.payee_drip_uploads and cfg.payee_drip_accounts:
            holder = self.ids("rh")
            accounts = [
                (self._artist(UPLOADS, self.names.artist(), ANCHOR - days(self.rng, 15, 20),
                              holder=holder), self.ids("up"))
                for _ in range(cfg.payee_drip_accounts)
            ]  # fmt: skip
            rate = float(self.rng.uniform(low, high))
            for k, at in enumerate(self._drip_times(cfg.payee_drip_uploads, rate)):
                artist, uploader = accounts[k % len(accounts)]
                self._filler("slow_drip/payee", "slow_drip", artist, uploader, at)
        if cfg.undated_burst_uploads:
            artist, uploader = self._newcomer(), self.ids("up")
            for _ in range(cfg.undated_burst_uploads):
                self._filler("undated/burst", "upload_burst", artist, uploader, None)

    def add_handmade(self) -> None:
        """The kinds added after the first suite, planned last (see the configuration)."""
        cfg = self.cfg
        for kind in cfg.handmade_copies:
            chains = HANDMADE_COPIES[kind]
            for _ in range(cfg.handmade_per_kind):
                original = self._original()
                if kind == "split_upload":  # both halves, one account's two uploads
                    artist = self._newcomer()
                    for chain in chains:
                        edits = [draw_edit(k, self.rng) for k in chain]
                        self._copy(f"copy/{kind}", original, edits, artist=artist)
                    continue
                chain = chains[self._pick_text(len(chains))]
                self._copy(f"copy/{kind}", original, [draw_edit(k, self.rng) for k in chain])
        fresh = lambda: ANCHOR - days(self.rng, 1, 15)  # noqa: E731
        # When the real recordings run out, the last operator runs these profiles too.
        self._may_reuse_ring = True
        for kind in cfg.handmade_confusables:
            for _ in range(cfg.handmade_per_kind):
                victim = self._victim()
                self._impersonator(f"name/{kind}", victim, confusable(victim.name, kind, self.rng),
                                   fresh())  # fmt: skip
        for kind in cfg.handmade_decorations:
            for _ in range(cfg.handmade_per_kind):
                victim = self._victim()
                guest = self.established[self._pick(self.established)].name
                self._impersonator(f"name/decoration_{kind}", victim,
                                   decorate(victim.name, kind, guest), fresh())  # fmt: skip
        for _ in range(cfg.bare_name_machine_tracks):
            field, label = BARE_LABELS[self._pick_text(len(BARE_LABELS))]
            self._machine_track("label/bare_generator_name", field, label)
        for _ in range(cfg.silent_machine_tracks):
            self._machine_track("label/silent_machine", "", "")
        for _ in range(cfg.disguised_machine_tracks):
            self._machine_track("label/disguised_machine", "", "", disguised=True)

    def _machine_track(self, attack: str, field: str, text: str, disguised: bool = False) -> None:
        """A machine-made track declared human, its AI text (if any) in ``field``; a
        ``disguised`` one is dressed as a recording, and written as MP3 half the time."""
        artist, uploader = self._newcomer(), self.ids("up")
        assert artist.created_at is not None
        genre = ("pop", "electronic", "cinematic")[self._pick_text(3)]
        title = self.names.title()
        self._add(
            TrackPlan(
                item_id=self.ids("t"),
                batch=UPLOADS,
                title=f"{title} {text}" if field == "title" else title,
                artist_id=artist.artist_id,
                audio=Machine(
                    seed=int(self.rng.integers(2**31)), seconds=self._length(), disguise=disguised
                ),
                audio_format="mp3" if disguised and self.rng.random() < 0.5 else self._format(),
                genre=genre,
                uploader_id=uploader,
                uploaded_at=artist.created_at + days(self.rng, 0.05, 1),
                declared="NONE",
                description=text if field == "description" else "",
                tags=(genre, text) if field == "tags" else (genre,),
                attack=attack,
                expected="dispute",
                abuse_kinds=("mislabelled_ai",),
                true_ai="GENERATED",
                machine_audio=True,
            )
        )

    def add_machine(self) -> None:
        cfg = self.cfg
        artist, uploader = None, ""
        for k in range(cfg.machine_tracks):
            if k % 3 == 0:
                artist, uploader = self._newcomer(), self.ids("up")
            assert artist is not None and artist.created_at is not None
            text = MACHINE_TEXTS[self._pick_text(len(MACHINE_TEXTS))]
            in_tags = self.rng.random() < 0.4
            genre = ("pop", "electronic", "cinematic")[self._pick_text(3)]
            tags = (
                (genre, MACHINE_TAGS[self._pick_text(len(MACHINE_TAGS))]) if in_tags else (genre,)
            )
            self._add(
                TrackPlan(
                    item_id=self.ids("t"),
                    batch=UPLOADS,
                    title=self.names.title(),
                    artist_id=artist.artist_id,
                    audio=Machine(seed=int(self.rng.integers(2**31)), seconds=self._length()),
                    audio_format=self._format(),
                    genre=genre,
                    uploader_id=uploader,
                    uploaded_at=artist.created_at + days(self.rng, 0.05, 1),
                    declared="NONE",
                    description="" if in_tags else text,
                    tags=tags,
                    attack="label/declared_human_machine",
                    expected="dispute",
                    abuse_kinds=("mislabelled_ai",),
                    true_ai="GENERATED",
                    machine_audio=True,
                )
            )


def plan_suite(seed: int, config: SuiteConfig, pieces: Sequence[SourcePiece]) -> SuitePlan:
    """The suite a seed draws: same seed and pieces, same plan.

    Raises:
        DatasetError: too few recordings for the counts asked.
    """
    planner = _Planner(seed, config, pieces)
    planner.add_catalog()
    planner.add_genuine()
    planner.add_copies()
    planner.add_name_attacks()
    planner.add_rates()
    planner.add_machine()
    planner.add_handmade()
    plan = planner.plan
    uploads = [t for t in plan.tracks if t.batch == UPLOADS]
    order = planner.rng.permutation(len(uploads))
    plan.tracks = [t for t in plan.tracks if t.batch == CATALOG] + [uploads[int(i)] for i in order]
    return plan


__all__ = ["plan_suite"]
