// A slate through the gRPC port from Node with @grpc/grpc-js, loading the .proto files.
//   node examples/grpc-node.mjs 127.0.0.1:50051 u_00001
import { fileURLToPath } from "node:url";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const [target = "127.0.0.1:50051", listenerId = "u_00001"] = process.argv.slice(2);
const protos = fileURLToPath(new URL("../../../protos", import.meta.url));
const definition = protoLoader.loadSync("recsys/api/v1/recommendation.proto", {
  includeDirs: [protos],
  keepCase: false,
  enums: String,
  longs: String,
  defaults: true,
});
const api = grpc.loadPackageDefinition(definition).linernotes.v1;
const client = new api.RecommendationService(target, grpc.credentials.createInsecure());
const metadata = new grpc.Metadata();
metadata.set("x-request-id", `node-${Date.now()}`);
client.recommend({ listenerId, k: 5 }, metadata, { deadline: Date.now() + 10_000 }, (err, slate) => {
  if (err) {
    console.error(`failed: ${grpc.status[err.code]} ${err.details}`);
    process.exitCode = 1;
  } else {
    console.log(`request ${slate.requestId}`);
    for (const item of slate.items) {
      console.log(`${item.position + 1}. ${item.track.title} [${item.aiLabel.involvement}]`);
    }
  }
  client.close();
});
