"""Call a running Liner Notes service: a slate, an agent answer, a listener's variant, and a
play of the first item (needs a credential: LINER_FEEDBACK_TOKEN, a token the service lists
in LINER_FEEDBACK_TOKENS; without one the play is skipped unless the service runs with
--allow-anonymous-events).

Usage:
    python examples/call_service.py [HOST:PORT] [LISTENER_ID]
    LINER_FEEDBACK_TOKEN=... python examples/call_service.py 127.0.0.1:50051 u_00001
"""

from __future__ import annotations

import os
import sys
import uuid

import grpc

from recsys.api.v1 import common_pb2, feedback_pb2
from recsys.service import LinerClient


def main() -> None:
    target = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
    listener = sys.argv[2] if len(sys.argv) > 2 else "u_00001"
    with LinerClient(target, timeout=30) as client:
        slate = client.recommend(listener, k=10)
        print(f"Recommend for {listener} (request {slate.request_id}, variant {slate.variant}):")
        for item in slate.items:
            label = item.ai_label
            involvement = common_pb2.AiInvolvement.Name(label.involvement).split("_")[-1]
            source = common_pb2.LabelSource.Name(label.source).split("_")[-1]
            print(
                f"  {item.position + 1:>2}. {item.track.title} — "
                f"{', '.join(c.name for c in item.credits)}  [AI {involvement}, {source}]"
                f"  {'; '.join(item.reasons)}"
            )
        answer = client.converse(listener, "chill jazz for reading, human artists only")
        print(f"\nConverse: {answer.summary}")
        for item in answer.items[:5]:
            print(f"  {item.track.title} — {', '.join(c.name for c in item.credits)}")
        print("  trace: " + " -> ".join(f"{t.tool}({t.count})" for t in answer.trace))
        assignment = client.assignment(listener)
        print(f"\nExperiments: {assignment.label or 'none'}")
    if not slate.items:
        return
    # Plays are metered and paid, so the service wants to know who reports them.
    with LinerClient(target, token=os.environ.get("LINER_FEEDBACK_TOKEN"), timeout=30) as app:
        first = slate.items[0]
        play = feedback_pb2.Event(
            event_id=uuid.uuid4().hex,
            listener_id=listener,
            track_id=first.track.id,
            type=feedback_pb2.EVENT_TYPE_PLAY,
            request_id=slate.request_id,
            position=first.position,
        )
        try:
            logged = app.log_events([play])
            print(f"\nLogEvents: {logged.accepted} play of {first.track.title!r} logged")
        except grpc.RpcError as exc:
            print(f"\nLogEvents refused ({exc.code().name}): {exc.details()}")


if __name__ == "__main__":
    main()
