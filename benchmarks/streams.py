"""Artificial-streaming detection: precision and recall of flagged plays, the share of planted
farms' plays that still reach payouts, and genuine plays wrongly excluded.

The detector is first calibrated (thresholds only raised) on listening known to be genuine:
the organic listeners of a demo world (seed 7) and the real Last.fm HetRec 2K play counts read
in place from ``../shared/datasets`` (skipped when absent). It is then scored on logs it was
not calibrated on: a demo world of another seed (23) and HetRec, each with farms planted by
seeds the detector was never tuned on (101, 202), of two sets of kinds:

- ``dev``: :data:`~recsys.integrity.streams.farms.FARM_KINDS`, the shapes used while building;
- ``held_out``: farms of other loop lengths, account ages, rates and camouflage, written for
  this benchmark and not looked at while the detector was developed.

HetRec carries play counts, not plays: its farms are planted the same way (one row per
account and track, ``weight`` = plays, no time, no ``ms_played``), so only co-ordination can
show them. Figures are play-weighted. ``farm_paid`` is the share of farm plays (camouflage
included) that are not flagged and so would be paid; ``genuine_excluded`` the share of
genuine plays flagged; ``farm_pool_share_*`` the pro-rata and user-centric pool share taken by
the farms' own plays (camouflage aside) before and after exclusion; ``genuine_payout_l1`` the
total change of genuine payees' pro-rata payouts against removing exactly the planted plays
(as a share of the pool: 0 means genuine payees are paid as if the farms never existed).

Example:
    python -m benchmarks.streams --quick
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.report import parser, write_result
from offline_eval.streams import StreamsHost, evaluate_farms, folder_host
from recsys.demo.generator import DemoConfig, generate_demo
from recsys.demo.writer import write_folder
from recsys.integrity.streams import score_streams
from recsys.integrity.streams.calibration import calibrate, excluded_share
from recsys.integrity.streams.farms import FARM_KINDS, FarmSpec
from recsys.integrity.streams.plays import PlayLog

HETREC = Path(__file__).resolve().parents[2] / "shared/datasets/hetrec2011-lastfm-2k"
EVAL_SEEDS = (101, 202)

HELD_OUT: dict[str, FarmSpec] = {
    "slow_swarm": FarmSpec(name="slowswarm", accounts=200, days=10, plays_per_day=12, payees=2,
                           tracks_per_payee=10, tracks_per_account=20, camouflage=0.4,
                           created_spread_hours=72, claimed_age_days=300, active_hours=6),
    "aged_cohort": FarmSpec(name="aged", accounts=60, payees=1, tracks_per_payee=150,
                            tracks_per_account=40, shared_tracks=False, shared_order=False,
                            plays_per_day=25, days=8, camouflage=0.5, claimed_age_days=900,
                            created_spread_hours=48),
    "night_looper": FarmSpec(name="night", accounts=6, payees=1, tracks_per_payee=8,
                             tracks_per_account=8, active_hours=24, plays_per_day=350, days=3,
                             ms_mode="fixed"),
    "hug_swarm": FarmSpec(name="hugswarm", accounts=80, payees=4, tracks_per_payee=25,
                          tracks_per_account=30, shared_tracks=False, shared_order=False,
                          plays_per_day=40, days=4, ms_mode="hug", camouflage=0.25,
                          created_spread_hours=240),
    "existing_boost": FarmSpec(name="boost", accounts=50, target_existing=True, payees=1,
                               tracks_per_payee=15, tracks_per_account=15, plays_per_day=30,
                               days=5, camouflage=0.1, start_offset_days=20,
                               created_spread_hours=500),
}  # fmt: skip


def demo_host(seed: int, quick: bool) -> StreamsHost:
    """A demo world's organic events (no abuse, no audio) in store columns."""
    size = {"tracks": 1000, "listeners": 300} if quick else {}
    tables = generate_demo(DemoConfig(seed=seed, audio=False, abuse=False, **size))
    with tempfile.TemporaryDirectory() as tmp:
        write_folder(tables, Path(tmp), render_audio=False)
        return folder_host(Path(tmp))


def hetrec_host() -> StreamsHost | None:
    """HetRec's user-artist play counts as aggregated rows (items are artists = payees),
    without the tag times the adapter dates pairs with (they are not listening times)."""
    path = HETREC / "user_artists.dat"
    if not path.exists():
        return None
    ua = pd.read_csv(path, sep="\t")
    events = pd.DataFrame(
        {
            "event_id": [f"h{i}" for i in range(len(ua))],
            "listener_id": ua["userID"].astype(str),
            "track_id": ua["artistID"].astype(str),
            "event_type": "play",
            "at": pd.Series(pd.NaT, index=ua.index, dtype="datetime64[us, UTC]"),
            "ms_played": pd.array([pd.NA] * len(ua), dtype="Int64"),
            "weight": ua["weight"].astype(float),
        }
    )
    ids = events["track_id"].unique()
    return StreamsHost(
        events=events, payees=pd.Series(ids, index=ids), durations=pd.Series(dtype=float)
    )


def main() -> None:
    args = parser(__doc__ or "").parse_args()
    logging.basicConfig(level=logging.WARNING)
    references: dict[str, PlayLog] = {}
    references["demo_seed7"] = demo_host(7, args.quick).log()
    hetrec = hetrec_host()
    if hetrec is not None:
        references["hetrec"] = hetrec.log()
    calibration = calibrate(references)
    config = calibration.config
    demo = demo_host(23, args.quick)
    organic = demo.log()
    figures: dict[str, Any] = {
        "calibration": {
            "references": {k: round(v, 5) for k, v in calibration.excluded.items()},
            "raised": calibration.raised,
        },
        "demo_seed23_no_farms_genuine_excluded": round(
            excluded_share(organic, score_streams(organic, config).flagged_ids()), 5
        ),
    }
    sets = {"dev": list(FARM_KINDS.values()), "held_out": list(HELD_OUT.values())}
    seeds = EVAL_SEEDS[:1] if args.quick else EVAL_SEEDS
    for name, specs in sets.items():
        for seed in seeds:
            figures[f"demo_{name}_seed{seed}"] = evaluate_farms(demo, specs, seed, config)
            if hetrec is not None:
                figures[f"hetrec_{name}_seed{seed}"] = evaluate_farms(hetrec, specs, seed, config)
    figures["quick"] = bool(args.quick)
    write_result("streams", figures)


if __name__ == "__main__":
    main()
