"""The committed TypeScript client bundle (recsys/webapp/vendor/liner-client.js) calls the web
port from Node over Connect JSON, Connect binary and gRPC-Web; errors arrive as ConnectErrors."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from recsys.service.web import DEFAULT_WEB_ROOT
from tests.web.conftest import WebRunning

BUNDLE = DEFAULT_WEB_ROOT / "vendor" / "liner-client.js"
SCRIPT = """
const { createLinerClients, ConnectError, Code } = await import(process.argv[1]);
const base = process.argv[2];
const out = {};
for (const [name, opts] of Object.entries({
  json: {}, binary: { useBinaryFormat: true }, grpcWeb: { protocol: "grpc-web" },
})) {
  const liner = createLinerClients({ baseUrl: base, ...opts });
  const slate = await liner.recommendation.recommend({ listenerId: "u1", k: 3 });
  out[name] = slate.items.map((i) => [i.track.title, i.aiLabel.involvement]);
  try {
    await liner.rights.consentHistory({ rightsHolderId: "rh-ada" });
  } catch (err) {
    out[name + "Error"] = Code[ConnectError.from(err).code];
  }
}
console.log(JSON.stringify(out));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_bundle_calls_every_protocol_from_node(web: WebRunning) -> None:
    run = subprocess.run(
        ["node", "--input-type=module", "-e", SCRIPT, BUNDLE.as_uri(), web.url],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    out = json.loads(run.stdout)
    assert out["json"] == out["binary"] == out["grpcWeb"]
    assert out["json"][0] == ["Song 0", 1] and out["json"][1] == ["Synth 1", 3]
    assert out["jsonError"] == out["grpcWebError"] == "Unauthenticated"
