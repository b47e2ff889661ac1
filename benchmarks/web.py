"""What the browser port costs over the gRPC port, per call, in the same run.

One in-process ``LinerServer`` (full interceptor chain, auth, request log off, metrics HTTP
off) with its ``WebGateway``, over ``benchmarks.service``'s stand-in recommender (a labelled
10-item slate, no retrieval), so the figures are protocol and adapter overhead. One client at a
time on loopback, on one persistent connection per protocol, calls interleaved round-robin so
a burst of load on the shared machine hits every protocol alike:

* ``grpc``: grpcio stub on the gRPC port (HTTP/2);
* ``connect_json`` / ``connect_proto``: Connect unary over HTTP/1.1 keep-alive
  (``http.client``), JSON and binary;
* ``grpc_web``: gRPC-Web binary over HTTP/1.1.

Figures: the median and p90 latency of each (ms) and ``*_over_grpc``, the ratio of medians.

Example:
    python -m benchmarks.web --quick
"""

from __future__ import annotations

import http.client
import json
import statistics
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from benchmarks.report import parser, write_result
from benchmarks.service import FakeSlateRecommender
from recsys.api.v1 import recommendation_pb2, recommendation_pb2_grpc
from recsys.service import LinerServer, ServiceDeps, ServiceMetrics, ServingState
from recsys.service.web import WebGateway
from recsys.settings import LinerSettings

PATH = "/linernotes.v1.RecommendationService/Recommend"


def _http_call(conn: http.client.HTTPConnection, body: bytes, headers: dict[str, str]) -> bytes:
    conn.request("POST", PATH, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {data[:200]!r}")
    return data


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    calls = 300 if args.quick else 2000
    settings = LinerSettings(host="127.0.0.1", port=0, metrics_port=None, web_port=0)
    state = ServingState(factory=lambda _: FakeSlateRecommender(10_000), verify=lambda _: "bench")
    server = LinerServer(settings, ServiceDeps(state=state, store=None, metrics=ServiceMetrics()))
    port = server.start()
    state.load(Path())
    server.set_serving()
    web = WebGateway(server, settings)
    web_port = web.start()
    request = recommendation_pb2.RecommendRequest(listener_id="u1", k=10)
    framed = request.SerializeToString()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = recommendation_pb2_grpc.RecommendationServiceStub(channel)
    conns = {
        name: http.client.HTTPConnection("127.0.0.1", web_port, timeout=10)
        for name in ("connect_json", "connect_proto", "grpc_web")
    }
    json_body = json.dumps({"listenerId": "u1", "k": 10}).encode()
    web_body = b"\x00" + struct.pack(">I", len(framed)) + framed
    calls_by_name: dict[str, Callable[[], Any]] = {
        "grpc": lambda: stub.Recommend(request, timeout=10),
        "connect_json": lambda: _http_call(
            conns["connect_json"], json_body, {"content-type": "application/json"}
        ),
        "connect_proto": lambda: _http_call(
            conns["connect_proto"], framed, {"content-type": "application/proto"}
        ),
        "grpc_web": lambda: _http_call(
            conns["grpc_web"], web_body, {"content-type": "application/grpc-web+proto"}
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in calls_by_name}
    try:
        for call in calls_by_name.values():  # warm up connections and code paths
            for _ in range(20):
                call()
        for _ in range(calls):
            for name, call in calls_by_name.items():
                start = time.perf_counter()
                call()
                times[name].append((time.perf_counter() - start) * 1000.0)
    finally:
        channel.close()
        for conn in conns.values():
            conn.close()
        web.stop(0)
        server.stop(0)
    figures: dict[str, Any] = {"calls_per_protocol": calls, "slate_items": 10}
    grpc_median = statistics.median(times["grpc"])
    for name, values in times.items():
        median = statistics.median(values)
        figures[f"{name}_median_ms"] = round(median, 3)
        figures[f"{name}_p90_ms"] = round(statistics.quantiles(values, n=10)[-1], 3)
        if name != "grpc":
            figures[f"{name}_over_grpc"] = round(median / grpc_median, 2)
    write_result("web_quick" if args.quick else "web", figures)


if __name__ == "__main__":
    main()
