"""The replay of logged requests reproduces what was served, even after the slates' own plays
entered the listener's history; the logging variant is resolved from the slate's label."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from offline_eval.errors import EvalError
from offline_eval.off_policy import KnownTruth, PipelineReplay, serve_traffic
from offline_eval.off_policy.task import logging_params
from recsys.params import PolicyParams
from recsys.pipeline import PipelineRecommender
from recsys.pipeline.slate_log import SlateLogger
from tests.recsys.pipeline.world import make_world

EXPLORE = PolicyParams(exploration=0.3, exploration_temperature=0.3)


def test_replay_at_serving_time_reproduces_the_logged_probabilities() -> None:
    world = make_world()
    rec = PipelineRecommender(
        spaces=world.spaces, catalog=world.catalog, store=world.store,
        slate_logger=SlateLogger(world.store, background=False),
    )  # fmt: skip
    listeners = ["u1", "u2"]
    tracks = [str(t) for t in world.catalog.track_ids]
    truth = KnownTruth(pd.DataFrame(0.9, index=listeners, columns=tracks))  # many plays
    serve_traffic(
        rec, truth, assign=dict.fromkeys(listeners, ("", EXPLORE)), slates_per_listener=3,
        rng=np.random.default_rng(0), k=6,
    )  # fmt: skip
    replay = PipelineReplay(rec)
    assert len(world.store.slates) == 6
    for slate in world.store.slates:
        ids = [i.track_id for i in slate.items]
        logged = [float(i.propensity or 0.0) for i in slate.items]
        inp = replay.inputs(slate.listener_id, len(ids), EXPLORE, before=slate.served_at)
        np.testing.assert_allclose(replay.policy_replay(inp, ids).probs, logged, rtol=1e-9)
    # Without the cut, the slates' own plays are recent plays and exclude their tracks.
    last = world.store.slates[0]
    now = replay.inputs(last.listener_id, 6, EXPLORE)
    assert (now.index_of([i.track_id for i in last.items]) < 0).any()


def test_logging_params_merge_the_labelled_variants() -> None:
    assert logging_params("", None) == PolicyParams()
    with pytest.raises(EvalError, match="--experiments"):
        logging_params("explore-2026q4:explore", None)
