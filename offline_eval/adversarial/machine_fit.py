"""Fit and measure the machine-audio bounds on a suite seed's recordings, without writing the
suite: every real excerpt and edited copy a seed plans (human recordings), and every
machine-made track it plans, rendered plain and dressed as a recording
(:func:`~offline_eval.adversarial.machine.disguise`), each written in its planned format
(FLAC, Ogg Vorbis or MP3) and analysed from the file as the service would.

``--fit`` (the tuning seed only) sets each cue's bound from the real recordings alone: beyond
the most machine-like real value (by :data:`CLEARANCE`) and beyond the normal fit's 0.25 %
tail, so by Markov's inequality at most (sum of the cues' tail rates) / 2 <= 0.375 % of such
recordings have two cues past their bounds (one hard cue alone must lie half a decade
further, rarer still). The machine tracks are only measured, never fitted. Without
``--fit`` it scores the bounds shipped in :data:`recsys.integrity.machine_evidence.
REFERENCE_BOUNDS` on the seed (the report seed is the held-out figure).

Example:
    python -m offline_eval.adversarial.machine_fit --seed 1 --fit
    python -m offline_eval.adversarial.machine_fit --seed 2
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf
from scipy.stats import norm

from offline_eval.adversarial.config import SuiteConfig
from offline_eval.adversarial.edits import apply_edits, encode_mp3
from offline_eval.adversarial.machine import disguise, machine_track
from offline_eval.adversarial.plan import Copy, Excerpt, Machine, SuitePlan, TrackPlan
from offline_eval.adversarial.planner import plan_suite
from offline_eval.adversarial.sources import find_sources, load_excerpt
from offline_eval.adversarial.suite import REPORT_SEED, TUNE_SEED
from recsys.integrity.machine_audio import CUE_NAMES, analyse_machine_cues
from recsys.integrity.machine_evidence import REFERENCE_BOUNDS, cue_margins, machine_score
from recsys.parallel import Failed, parallel_map

logger = logging.getLogger(__name__)

TAIL = 0.0025
"""One-sided share of real recordings a single cue's bound may pass (normal fit)."""
CLEARANCE = 0.1
"""How far beyond the most machine-like real recording a bound goes at least (a tenth of a
decade, or 1 dB for the floor)."""
VAR = Path(__file__).resolve().parents[2] / "var" / "machine_cues"


@dataclass(frozen=True, kw_only=True)
class _Job:
    item_id: str
    role: str
    attack: str
    track: TrackPlan
    source: TrackPlan | None
    sr: int
    out: Path


def _samples(job: _Job) -> np.ndarray:
    audio = job.track.audio
    if isinstance(audio, Machine):
        y = machine_track(audio.seconds, job.sr, np.random.default_rng(audio.seed))
        if job.role == "disguised":
            y = disguise(y, job.sr, np.random.default_rng(audio.seed + 1))
        return y
    if isinstance(audio, Copy):
        assert job.source is not None and isinstance(job.source.audio, Excerpt)
        src = job.source.audio
        original = load_excerpt(src.piece, src.start_s, src.seconds, job.sr)
        return apply_edits(original, job.sr, audio.edits, np.random.default_rng(audio.seed))
    assert isinstance(audio, Excerpt)
    return load_excerpt(audio.piece, audio.start_s, audio.seconds, job.sr)


def _cues(job: _Job) -> np.ndarray:
    y = _samples(job)
    fmt = job.track.audio_format
    if job.role == "disguised" and job.track.audio.seed % 2 == 0:  # type: ignore[union-attr]
        fmt = "mp3"
    path = job.out / f"{job.item_id}-{job.role}.{fmt}"
    if fmt == "mp3":
        encode_mp3(y, job.sr, path)
    else:
        subtype = "VORBIS" if fmt == "ogg" else "PCM_16"
        sf.write(str(path), y, job.sr, format=fmt.upper(), subtype=subtype)
    try:
        return analyse_machine_cues(path)
    finally:
        path.unlink(missing_ok=True)


def _jobs(plan: SuitePlan, out: Path, sr: int) -> list[_Job]:
    jobs: list[_Job] = []
    for t in plan.tracks:
        audio = t.audio
        if isinstance(audio, Excerpt):
            jobs.append(_Job(item_id=t.item_id, role="real", attack=t.attack, track=t,
                             source=None, sr=sr, out=out))  # fmt: skip
        elif isinstance(audio, Copy):
            source = plan.track(audio.of)
            if isinstance(source.audio, Excerpt):
                jobs.append(_Job(item_id=t.item_id, role="copy", attack=t.attack, track=t,
                                 source=source, sr=sr, out=out))  # fmt: skip
        else:
            for role in ("machine", "disguised"):
                jobs.append(_Job(item_id=t.item_id, role=role, attack=t.attack, track=t,
                                 source=None, sr=sr, out=out))  # fmt: skip
    return jobs


def cue_table(
    seed: int,
    cache: Path | None = None,
    limit: int | None = None,
    machine_limit: int | None = None,
) -> pd.DataFrame:
    """Cues of every human recording and machine track the seed's full suite plans (one row
    per item and role: ``real``, ``copy``, ``machine``, ``disguised``), cached as CSV.

    ``machine_limit`` keeps every human recording and every declared-human machine track
    (``label/*``) but only the first that many other machine tracks (filler), in plan order.
    """
    if cache is not None and cache.is_file():
        return pd.read_csv(cache, keep_default_na=False, na_values=[""])
    cfg = SuiteConfig()
    plan = plan_suite(seed, cfg, find_sources(min_seconds=cfg.min_track_s))
    with tempfile.TemporaryDirectory() as tmp:
        jobs = _jobs(plan, Path(tmp), cfg.sample_rate)
        if machine_limit is not None:
            filler = [
                j.item_id for j in jobs if j.role == "machine" and not j.attack.startswith("label/")
            ]
            kept = set(filler[:machine_limit])
            jobs = [
                j
                for j in jobs
                if j.role in ("real", "copy") or j.attack.startswith("label/") or j.item_id in kept
            ]
        if limit is not None:
            rng = np.random.default_rng(0)
            jobs = [jobs[int(i)] for i in sorted(rng.permutation(len(jobs))[:limit])]
        done = parallel_map(_cues, jobs, desc="machine cues", unit="clip", errors="return")
    rows = []
    for job, result in zip(jobs, done, strict=True):
        if isinstance(result, Failed):
            logger.warning("%s (%s): %s", job.item_id, job.role, result)
            continue
        rows.append({"item_id": job.item_id, "role": job.role, "attack": job.attack,
                     **dict(zip(CUE_NAMES, result.tolist(), strict=True))})  # fmt: skip
    table = pd.DataFrame(rows)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(cache, index=False)
    return table


def _scale(name: str, values: np.ndarray) -> np.ndarray:
    return values / 10 if not REFERENCE_BOUNDS[name].log else np.log10(np.maximum(values, 1e-6))


def fit_bounds(human: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Each cue's bound from human recordings only (see the module docstring)."""
    out: dict[str, dict[str, float]] = {}
    for name in CUE_NAMES:
        values = human[name].to_numpy(dtype=np.float64)
        values = values[np.isfinite(values)]
        z = _scale(name, values)
        sign = 1.0 if REFERENCE_BOUNDS[name].higher_is_machine else -1.0
        tail = z.mean() + sign * norm.ppf(1 - TAIL) * z.std(ddof=1)
        extreme = z.max() if sign > 0 else z.min()
        edge = max(tail, extreme + CLEARANCE) if sign > 0 else min(tail, extreme - CLEARANCE)
        raw = 10**edge if REFERENCE_BOUNDS[name].log else edge * 10
        out[name] = {
            "bound": float(f"{raw:.2g}"),
            "recordings": int(values.size),
            "most_machine_like": float(10**extreme if REFERENCE_BOUNDS[name].log else extreme * 10),
            "normal_tail_rate_at_bound": float(
                norm.sf(sign * (_scale(name, np.array([raw]))[0] - z.mean()) / z.std(ddof=1))
            ),
        }
    return out


def score_bounds(table: pd.DataFrame) -> dict[str, Any]:
    """Rule figures of the shipped bounds on a cue table."""
    cues = table[list(CUE_NAMES)].to_numpy(dtype=np.float64)
    score = machine_score(cues)
    margins = cue_margins(cues)
    flagged = np.nan_to_num(score, nan=-1.0) >= 0
    figures: dict[str, Any] = {}
    for role, rows in table.groupby("role"):
        idx = rows.index.to_numpy()
        figures[str(role)] = {
            "tracks": len(idx),
            "flagged": int(flagged[idx].sum()),
            "rate": round(float(flagged[idx].mean()), 4),
            "cue_past_bound": {
                n: int((np.nan_to_num(margins[idx, j], nan=-1) >= 0).sum())
                for j, n in enumerate(CUE_NAMES)
            },
            "missed": sorted(rows.loc[~flagged[idx], "item_id"].astype(str))[:20],
        }
    human = table["role"].isin(["real", "copy"])
    figures["human_false_flags"] = {
        "recordings": int(human.sum()),
        "flagged": int(flagged[human.to_numpy()].sum()),
        "flagged_items": sorted(table.loc[human & flagged, "item_id"].astype(str)),
    }
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seed", type=int, default=TUNE_SEED)
    p.add_argument("--fit", action="store_true", help="fit bounds (tuning seed only)")
    p.add_argument("--limit", type=int, default=None, help="analyse a random subset")
    p.add_argument(
        "--machine-limit", type=int, default=None, help="machine filler tracks kept (plan order)"
    )
    p.add_argument("--cache", type=Path, default=None, help="cue table CSV (default var/)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.fit and args.seed == REPORT_SEED:
        raise SystemExit(f"seed {REPORT_SEED} is the held-out report seed: never fit on it")
    suffix = "" if args.limit is None else f"-limit{args.limit}"
    suffix += "" if args.machine_limit is None else f"-machine{args.machine_limit}"
    cache = args.cache or VAR / f"seed{args.seed}{suffix}.csv"
    table = cue_table(args.seed, cache, args.limit, args.machine_limit)
    result: dict[str, Any] = {"seed": args.seed, "cache": str(cache)}
    if args.fit:
        result["fitted"] = fit_bounds(table[table["role"].isin(["real", "copy"])])
        total = sum(v["normal_tail_rate_at_bound"] for v in result["fitted"].values())
        result["two_cue_rate_bound"] = round(total / 2, 5)
    result["shipped"] = {n: REFERENCE_BOUNDS[n].bound for n in CUE_NAMES}
    result["figures"] = score_bounds(table)
    print(json.dumps(result, indent=1, default=lambda v: None if math.isnan(v) else v))


if __name__ == "__main__":
    main()
