"""The suite's machine-made tracks are distinct recordings: two renders never match as
near-duplicates, while a render matches its own copy. A disguised render loses its floor and
its -1 dBFS peak but still repeats itself; the suite plans declared-human renders with no AI
text, plain and disguised."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from offline_eval.adversarial.machine import disguise, machine_track
from recsys.integrity.fingerprint import SAMPLE_RATE, fingerprint_signal
from recsys.integrity.fingerprint_index import FingerprintIndex
from recsys.integrity.machine_audio import noise_floor, repeat_residual
from recsys.integrity.neardup import MIN_SCORE


def test_distinct_renders_do_not_match_but_a_copy_does() -> None:
    clips = [machine_track(15.0, SAMPLE_RATE, np.random.default_rng(s)) for s in range(6)]
    fps = [fingerprint_signal(c) for c in clips]
    index = FingerprintIndex.build([str(i) for i in range(6)], fps)
    for i, fp in enumerate(fps):
        allowed = np.arange(6) != i
        assert all(m.score < MIN_SCORE for m in index.match(fp, top=5, allowed=allowed)), i
    copy = fingerprint_signal(0.5 * clips[2][SAMPLE_RATE:])  # 1 s trimmed, -6 dB
    found = index.match(copy, top=1)
    assert found and found[0].row == 2 and found[0].score >= MIN_SCORE


def test_disguise_hides_the_floor_and_the_peak_but_not_the_repeats() -> None:
    sr = 16_000
    render = machine_track(40.0, sr, np.random.default_rng(3))
    for seed in range(4):
        dressed = disguise(render, sr, np.random.default_rng(seed))
        assert noise_floor(render) < -90 < noise_floor(dressed)
        assert abs(20 * np.log10(np.abs(dressed).max()) + 1.0) > 0.4  # not at -1 dBFS
        assert repeat_residual(dressed) < 0.02  # the material still repeats exactly


def test_the_suite_plans_silent_and_disguised_declared_human_renders() -> None:
    from offline_eval.adversarial import SuiteConfig
    from offline_eval.adversarial.plan import Machine
    from offline_eval.adversarial.planner import plan_suite
    from offline_eval.adversarial.sources import SourcePiece

    pieces = [
        SourcePiece(path=Path(f"/nonexistent/{i}.ogg"), package="fma", seconds=600.0,
                    genre="rock")
        for i in range(60)
    ]  # fmt: skip
    plan = plan_suite(3, SuiteConfig(), pieces)
    for kind, dressed in (("label/silent_machine", False), ("label/disguised_machine", True)):
        rows = [t for t in plan.tracks if t.attack == kind]
        assert len(rows) == 8
        for t in rows:
            assert isinstance(t.audio, Machine) and t.audio.disguise is dressed
            assert t.declared == "NONE" and t.expected == "dispute" and t.description == ""
            assert t.tags == (t.genre,) and "suno" not in t.title.lower()
