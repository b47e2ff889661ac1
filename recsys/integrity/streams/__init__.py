"""Artificial-streaming detection: score listening for stream farms and flag their plays.

Flagged plays are kept with their reasons (``play_flags`` audit in the store) and excluded
from payouts and from every signal models learn from (:func:`without_flagged`).
"""

from recsys.integrity.streams.config import StreamsConfig
from recsys.integrity.streams.plays import PlayLog, play_log, track_payees
from recsys.integrity.streams.scorer import REASONS, StreamsVerdict, score_streams

__all__ = [
    "REASONS",
    "PlayLog",
    "StreamsConfig",
    "StreamsVerdict",
    "play_log",
    "score_streams",
    "track_payees",
]
