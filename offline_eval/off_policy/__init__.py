"""Off-policy evaluation of slate policies from logged slates: replays of a target variant on
logged requests, IPS / self-normalised / cascade / doubly robust estimators with listener
bootstrap intervals and support warnings, and a simulator with known truth to validate them.

Example:
    >>> from offline_eval.off_policy import estimate
    >>> estimates, diagnostics = estimate(slate_logs)  # doctest: +SKIP
"""

from offline_eval.off_policy.estimators import (
    ESTIMATORS,
    Diagnostics,
    OffPolicyEstimate,
    SlateLogs,
    diagnose,
    estimate,
    observed_value,
)
from offline_eval.off_policy.logged import (
    LoggedSlate,
    build_slate_logs,
    slates_from_folder,
    slates_from_store,
)
from offline_eval.off_policy.replay import PipelineReplay, PolicyInputs, ReplayedSlate, replay_slate
from offline_eval.off_policy.simulator import KnownTruth, PolicySimulator, serve_traffic

__all__ = [
    "ESTIMATORS",
    "Diagnostics",
    "KnownTruth",
    "LoggedSlate",
    "OffPolicyEstimate",
    "PipelineReplay",
    "PolicyInputs",
    "PolicySimulator",
    "ReplayedSlate",
    "SlateLogs",
    "build_slate_logs",
    "diagnose",
    "estimate",
    "observed_value",
    "replay_slate",
    "serve_traffic",
    "slates_from_folder",
    "slates_from_store",
]
