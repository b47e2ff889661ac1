// A slate through the web port (Connect protocol, JSON), as a browser app would call it.
//   liner serve ... --web-port 8080
//   npm run build && node dist/examples/recommend.js http://127.0.0.1:8080 u_00001 "rainy day jazz"
import { aiLabelText, Code, ConnectError, createLinerClients } from "../src/index.js";

const [baseUrl = "http://127.0.0.1:8080", listenerId = "u_00001", query = ""] =
  process.argv.slice(2);
const liner = createLinerClients({ baseUrl });
try {
  const slate = await liner.recommendation.recommend({
    listenerId,
    k: 5,
    query,
    filters: { excludeAiGenerated: false },
  });
  console.log(`request ${slate.requestId} variant ${slate.variant || "-"}`);
  for (const item of slate.items) {
    const by = item.credits.map((c) => c.name || c.artistId).join(", ");
    console.log(`${item.position + 1}. ${item.track?.title} — ${by} [${aiLabelText(item)}]`);
    for (const reason of item.reasons) console.log(`     ${reason}`);
  }
  for (const note of slate.notes) console.log(`note: ${note}`);
} catch (err) {
  const e = ConnectError.from(err);
  console.error(`failed: ${Code[e.code]} ${e.rawMessage}`);
  process.exitCode = 1;
}
