"""Our slate estimators against the Open Bandit Pipeline's, on obp's own synthetic slate data.

obp 0.5.7 pins Python < 3.11 and old numpy/pandas/torch, so it cannot be a dependency of the
project; `make setup` installs it without its dependencies as a test oracle only (its slate
estimators and synthetic data need nothing we do not already have). The estimates must agree to
rounding for every estimator obp also implements, and our intervals must cover obp's ground
truth for a target policy that differs from the logging one.
"""

from __future__ import annotations

import numpy as np
import pytest

from offline_eval.off_policy.estimators import SlateLogs, estimate

obp_dataset = pytest.importorskip(
    "obp.dataset", reason="obp is the test oracle; `make setup` installs it (obp==0.5.7, --no-deps)"
)
obp_ope = pytest.importorskip("obp.ope")

N_ACTIONS, LEN, ROUNDS = 8, 3, 3000


@pytest.fixture(scope="module")
def logged() -> dict[str, np.ndarray]:
    ds = obp_dataset.SyntheticSlateBanditDataset(
        n_unique_action=N_ACTIONS,
        len_list=LEN,
        dim_context=2,
        reward_type="binary",
        reward_structure="cascade_additive",
        base_reward_function=obp_dataset.logistic_reward_function,
        behavior_policy_function=obp_dataset.linear_behavior_policy_logit,
        random_state=12345,
    )
    fb = ds.obtain_batch_bandit_feedback(n_rounds=ROUNDS, return_pscore_item_position=False)
    # The target: the logging policy's logits, perturbed (overlapping support, a real change).
    rng = np.random.default_rng(7)
    logit = obp_dataset.linear_behavior_policy_logit(
        context=fb["context"], action_context=fb["action_context"], random_state=12345
    )
    target_logit = logit + rng.normal(scale=0.5, size=logit.shape)
    pscore, _, pscore_cascade = ds.obtain_pscore_given_evaluation_policy_logit(
        action=fb["action"], evaluation_policy_logit_=target_logit,
        return_pscore_item_position=False,
    )  # fmt: skip
    action_dist = ds.calc_evaluation_policy_action_dist(
        action=fb["action"], evaluation_policy_logit_=target_logit
    )
    q_hat = rng.uniform(0.0, 0.6, size=ROUNDS * LEN * N_ACTIONS)  # any reward model will do
    truth = ds.calc_ground_truth_policy_value(
        context=fb["context"], evaluation_policy_logit_=target_logit
    )
    return {**fb, "target_pscore": pscore, "target_pscore_cascade": pscore_cascade,
            "action_dist": action_dist, "q_hat": q_hat, "truth": truth}  # fmt: skip


def to_slate_logs(fb: dict[str, np.ndarray]) -> SlateLogs:
    """obp's long format (a row per slate and position, cumulative propensities) as ours (a row
    per slate, each position's probability given the picks above it)."""
    shape = (ROUNDS, LEN)

    def step(cumulative: np.ndarray) -> np.ndarray:
        c = cumulative.reshape(shape)
        return np.concatenate([c[:, :1], c[:, 1:] / c[:, :-1]], axis=1)

    q = fb["q_hat"].reshape(ROUNDS, LEN, N_ACTIONS)
    dist = fb["action_dist"].reshape(ROUNDS, LEN, N_ACTIONS)
    action = fb["action"].reshape(shape)
    ones = np.ones(shape)
    return SlateLogs(
        rewards=fb["reward"].reshape(shape).astype(float),
        mask=np.ones(shape, dtype=bool),
        logging=step(fb["pscore_cascade"]),
        target=step(fb["target_pscore_cascade"]),
        unsupported=np.zeros(shape),
        model_logged=np.take_along_axis(q, action[..., None], axis=2)[..., 0],
        model_target=(dist * q).sum(axis=2),
        groups=np.arange(ROUNDS),
        examination=np.ones(LEN),
        item_target=ones,
        item_logging=ones,
        item_unsupported=np.zeros(ROUNDS),
        model_item_logged=np.zeros(shape),
        model_item_target=np.zeros(ROUNDS),
    )


def obp_estimates(fb: dict[str, np.ndarray]) -> dict[str, float]:
    common = {"slate_id": fb["slate_id"], "reward": fb["reward"], "position": fb["position"]}
    standard = {**common, "pscore": fb["pscore"], "evaluation_policy_pscore": fb["target_pscore"]}
    cascade = {**common, "pscore_cascade": fb["pscore_cascade"],
               "evaluation_policy_pscore_cascade": fb["target_pscore_cascade"]}  # fmt: skip
    ope = obp_ope
    return {
        "ips": ope.SlateStandardIPS(len_list=LEN).estimate_policy_value(**standard),
        "snips": ope.SelfNormalizedSlateStandardIPS(len_list=LEN).estimate_policy_value(**standard),
        "cascade_ips": ope.SlateRewardInteractionIPS(len_list=LEN).estimate_policy_value(**cascade),
        "cascade_snips": ope.SelfNormalizedSlateRewardInteractionIPS(
            len_list=LEN
        ).estimate_policy_value(**cascade),
        "cascade_dr": ope.SlateCascadeDoublyRobust(
            len_list=LEN, n_unique_action=N_ACTIONS
        ).estimate_policy_value(
            **cascade,
            action=fb["action"],
            q_hat=fb["q_hat"],
            evaluation_policy_action_dist=fb["action_dist"],
        ),
    }


def test_estimates_agree_with_obp(logged: dict[str, np.ndarray]) -> None:
    theirs = obp_estimates(logged)
    ours, diag = estimate(to_slate_logs(logged), tuple(theirs), n_boot=50)
    assert not diag.warnings
    for name, value in theirs.items():
        assert ours[name].partial_value == pytest.approx(value, rel=1e-9, abs=1e-12), name


def test_intervals_cover_obps_ground_truth(logged: dict[str, np.ndarray]) -> None:
    ours, _ = estimate(to_slate_logs(logged), ("cascade_ips", "cascade_dr"), n_boot=400)
    truth = float(logged["truth"])
    for name, e in ours.items():
        assert e.value is not None and e.ci is not None, (name, e.warnings)
        assert e.ci[0] <= truth <= e.ci[1], (name, e.value, e.ci, truth)
