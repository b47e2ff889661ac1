"""Drive a running service with listener traffic, so `liner experiments analyze` has logs.

Each listener asks for a slate (the service assigns them to experiment variants and logs the
slate with its variant), then plays, skips or saves some of the items, reporting each event
with the slate's request id and position, as an app would. Listeners favour human artists a
little, so a variant that boosts them shows an effect.

Usage (with `make demo` running in another terminal):

    .venv/bin/python examples/ab_traffic.py 127.0.0.1:50051 --listeners 300 --token TOKEN
    .venv/bin/liner experiments analyze --logs var/liner.db --dir experiments --out var/ab

``--token`` is a feedback token (``LINER_FEEDBACK_TOKENS``); the demo accepts anonymous
events, so it may be left out there.
"""

from __future__ import annotations

import argparse
import random
import uuid

from recsys.api.v1 import common_pb2, feedback_pb2
from recsys.service import LinerClient


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("target", nargs="?", default="127.0.0.1:50051")
    parser.add_argument("--listeners", type=int, default=300)
    parser.add_argument("--token", default=None, help="feedback token (not needed in the demo)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    listeners = [f"u_{i:05d}" for i in range(1, args.listeners + 1)]
    served = events = 0
    with LinerClient(args.target, token=args.token, timeout=30) as client:
        for listener in listeners:
            slate = client.recommend(listener, k=10)
            served += 1
            batch = []
            for item in slate.items:
                human = item.ai_label.involvement == common_pb2.AI_INVOLVEMENT_NONE
                p_play = (0.45 if human else 0.3) / (1 + 0.15 * item.position)
                draw = rng.random()
                if draw < p_play:
                    kind = feedback_pb2.EVENT_TYPE_PLAY
                elif draw < p_play + 0.25:
                    kind = feedback_pb2.EVENT_TYPE_SKIP
                else:
                    continue
                batch.append(
                    feedback_pb2.Event(
                        event_id=uuid.uuid4().hex,
                        listener_id=listener,
                        track_id=item.track.id,
                        type=kind,
                        request_id=slate.request_id,
                        position=item.position,
                        ms_played=180_000 if kind == feedback_pb2.EVENT_TYPE_PLAY else 8_000,
                    )
                )
                if kind == feedback_pb2.EVENT_TYPE_PLAY and rng.random() < 0.1:
                    batch.append(
                        feedback_pb2.Event(
                            event_id=uuid.uuid4().hex,
                            listener_id=listener,
                            track_id=item.track.id,
                            type=feedback_pb2.EVENT_TYPE_SAVE,
                            request_id=slate.request_id,
                            position=item.position,
                        )
                    )
            if batch:
                events += client.log_events(batch).accepted
    print(f"served {served} slates, logged {events} events")


if __name__ == "__main__":
    main()
