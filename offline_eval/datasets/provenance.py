"""A declared, seeded provenance simulation for datasets that carry no AI-involvement labels.

Public datasets predate AI music, so none says which tracks are AI-generated. To exercise the
provider-fairness metrics the harness can assign labels per artist from a fixed seed; every
report then says that the provenance figures rest on this simulation, with its parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from offline_eval.datasets.base import EvalDataset, finalize_items


@dataclass(frozen=True, kw_only=True)
class ProvenanceSimulation:
    """How to simulate provenance.

    Attributes:
        ai_generated_share: share of artists treated as AI personas (all their tracks
            ``GENERATED``).
        ai_assisted_share: share of artists whose tracks are ``ASSISTED``.
        seed: random seed; the same seed gives the same labels.
    """

    ai_generated_share: float = 0.10
    ai_assisted_share: float = 0.15
    seed: int = 2011

    def describe(self) -> str:
        """One sentence for the report."""
        return (
            f"SIMULATED provenance: the dataset declares no AI involvement, so artists were "
            f"assigned at random (seed {self.seed}): {self.ai_generated_share:.0%} AI-persona "
            f"(tracks GENERATED), {self.ai_assisted_share:.0%} AI-assisted (ASSISTED), the rest "
            "human (NONE). Provider-fairness figures describe this simulation, not the real "
            "catalog."
        )


def simulate_provenance(dataset: EvalDataset, simulation: ProvenanceSimulation) -> EvalDataset:
    """Assign AI-involvement labels per artist, seeded, and mark the dataset as simulated.

    Args:
        dataset: a dataset whose items declare no AI involvement.
        simulation: shares and seed.

    Returns:
        A copy with ``ai_involvement`` and ``provider_group`` set from the simulation.
    """
    items = dataset.items
    artists = np.array(sorted(items["artist_id"].astype(str).unique()))
    draw = np.random.default_rng(simulation.seed).random(len(artists))
    gen = simulation.ai_generated_share
    assisted = np.where(draw < gen + simulation.ai_assisted_share, "ASSISTED", "NONE")
    label = np.where(draw < gen, "GENERATED", assisted)
    by_artist = pd.Series(label, index=artists)
    relabelled = items.drop(columns=["provider_group"]).assign(
        ai_involvement=items["artist_id"].map(by_artist).to_numpy()
    )
    return replace(
        dataset,
        items=finalize_items(relabelled),
        provenance_simulated=True,
        provenance_description=simulation.describe(),
    )


__all__ = ["ProvenanceSimulation", "simulate_provenance"]
