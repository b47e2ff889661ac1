"""The suite's machine-made tracks are distinct recordings: two renders never match as
near-duplicates, while a render matches its own copy."""

from __future__ import annotations

import numpy as np

from offline_eval.adversarial.machine import machine_track
from recsys.integrity.fingerprint import SAMPLE_RATE, fingerprint_signal
from recsys.integrity.fingerprint_index import FingerprintIndex
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
