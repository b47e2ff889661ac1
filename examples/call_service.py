"""Call a running Liner Notes service: a slate, an agent answer, and a listener's variant.

Usage:
    python examples/call_service.py [HOST:PORT] [LISTENER_ID]
"""

from __future__ import annotations

import sys

from recsys.api.v1 import common_pb2
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


if __name__ == "__main__":
    main()
