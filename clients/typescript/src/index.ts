/**
 * The Liner Notes API for TypeScript: browsers (Connect or gRPC-Web over fetch) and Node 18+.
 *
 * Every recommended item carries its AI label (involvement, parts, source, confidence) and
 * its credits; show them. Errors are `ConnectError`s whose `code` is the gRPC status and whose
 * `rawMessage` names the problem and the fix.
 *
 * @example
 *   const liner = createLinerClients({ baseUrl: "http://127.0.0.1:8080" });
 *   const slate = await liner.recommendation.recommend({ listenerId: "u_00001", k: 10 });
 *   for (const item of slate.items) console.log(item.track?.title, aiLabelText(item));
 */
import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { AdminService } from "./gen/recsys/api/v1/admin_pb.js";
import { CatalogService } from "./gen/recsys/api/v1/catalog_pb.js";
import {
  AiInvolvement,
  AiPart,
  LabelSource,
  type RecommendedItem,
} from "./gen/recsys/api/v1/common_pb.js";
import { DiscoveryService } from "./gen/recsys/api/v1/discovery_pb.js";
import { ExperimentService } from "./gen/recsys/api/v1/experiments_pb.js";
import { FeedbackService } from "./gen/recsys/api/v1/feedback_pb.js";
import { RecommendationService } from "./gen/recsys/api/v1/recommendation_pb.js";
import { RightsService } from "./gen/recsys/api/v1/rights_pb.js";

export { Code, ConnectError } from "@connectrpc/connect";
export * from "./gen/recsys/api/v1/admin_pb.js";
export * from "./gen/recsys/api/v1/catalog_pb.js";
export * from "./gen/recsys/api/v1/common_pb.js";
export * from "./gen/recsys/api/v1/discovery_pb.js";
export * from "./gen/recsys/api/v1/experiments_pb.js";
export * from "./gen/recsys/api/v1/feedback_pb.js";
export * from "./gen/recsys/api/v1/recommendation_pb.js";
export * from "./gen/recsys/api/v1/rights_pb.js";

export interface LinerClientOptions {
  /** The service's web port, e.g. "http://127.0.0.1:8080" (`liner serve --web-port 8080`). */
  baseUrl: string;
  /** A bearer token (rights, feedback, admin, or a listener token); none for listener reads. */
  token?: string | (() => string | undefined);
  /** "connect" (default; JSON or binary) or "grpc-web". */
  protocol?: "connect" | "grpc-web";
  /** Binary protobuf instead of JSON (Connect only; gRPC-Web is always binary). */
  useBinaryFormat?: boolean;
}

/** Sends `authorization: Bearer <token>` when a token is set. */
export function bearer(token: LinerClientOptions["token"]): Interceptor {
  return (next) => async (req) => {
    const value = typeof token === "function" ? token() : token;
    if (value) req.header.set("authorization", `Bearer ${value}`);
    return next(req);
  };
}

/** A transport to the web port. */
export function createLinerTransport(options: LinerClientOptions): Transport {
  const interceptors = [bearer(options.token)];
  if (options.protocol === "grpc-web") {
    return createGrpcWebTransport({ baseUrl: options.baseUrl, interceptors });
  }
  return createConnectTransport({
    baseUrl: options.baseUrl,
    useBinaryFormat: options.useBinaryFormat ?? false,
    interceptors,
  });
}

export interface LinerClients {
  recommendation: Client<typeof RecommendationService>;
  discovery: Client<typeof DiscoveryService>;
  feedback: Client<typeof FeedbackService>;
  catalog: Client<typeof CatalogService>;
  rights: Client<typeof RightsService>;
  experiments: Client<typeof ExperimentService>;
  admin: Client<typeof AdminService>;
}

/** One client per service, sharing a transport. */
export function createLinerClients(options: LinerClientOptions | Transport): LinerClients {
  const transport = "baseUrl" in options ? createLinerTransport(options) : options;
  return {
    recommendation: createClient(RecommendationService, transport),
    discovery: createClient(DiscoveryService, transport),
    feedback: createClient(FeedbackService, transport),
    catalog: createClient(CatalogService, transport),
    rights: createClient(RightsService, transport),
    experiments: createClient(ExperimentService, transport),
    admin: createClient(AdminService, transport),
  };
}

const INVOLVEMENT: Record<number, string> = {
  [AiInvolvement.NONE]: "No AI",
  [AiInvolvement.ASSISTED]: "AI-assisted",
  [AiInvolvement.GENERATED]: "AI-generated",
  [AiInvolvement.UNDISCLOSED]: "AI use undisclosed",
};
const PART: Record<number, string> = {
  [AiPart.COMPOSITION]: "composition",
  [AiPart.LYRICS]: "lyrics",
  [AiPart.VOCALS]: "vocals",
  [AiPart.INSTRUMENTATION]: "instrumentation",
  [AiPart.PRODUCTION]: "production",
};

/** A listener-facing line for an item's AI label, e.g. "AI-generated (vocals) · detected 90 %". */
export function aiLabelText(item: RecommendedItem): string {
  const label = item.aiLabel;
  if (!label) return "AI label missing";
  let text = INVOLVEMENT[label.involvement] ?? "AI label unknown";
  const parts = label.parts.map((p) => PART[p]).filter(Boolean);
  if (parts.length) text += ` (${parts.join(", ")})`;
  if (label.source === LabelSource.DETECTED) {
    text += ` · detected ${Math.round(label.confidence * 100)} %`;
  } else if (label.source === LabelSource.DECLARED) {
    text += " · declared";
  } else if (label.source === LabelSource.DISPUTED) {
    text += " · disputed";
  }
  return text;
}
