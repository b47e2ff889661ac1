// The Liner Notes web app: static files, data only from the API (Connect protocol, JSON) through
// the generated TypeScript client (vendor/liner-client.js, built from clients/typescript).
// Every value from the service is written with textContent, never as HTML.
import {
  AiInvolvement,
  ArtistKind,
  Code,
  ConnectError,
  ConsentAction,
  CreditRole,
  LabelSource,
  aiLabelText,
  createLinerClients,
} from "./vendor/liner-client.js";

const params = new URLSearchParams(location.search);
const baseUrl = params.get("api") || location.origin;
const store = {
  get: (k, d = "") => sessionStorage.getItem(`liner.${k}`) ?? d,
  set: (k, v) => sessionStorage.setItem(`liner.${k}`, v),
};
const $ = (id) => document.getElementById(id);
const listener = createLinerClients({ baseUrl });
const rights = createLinerClients({ baseUrl, token: () => $("token").value.trim() || undefined });

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

// ---- loading and errors -------------------------------------------------------------------

const FIXES = {
  [Code.Unauthenticated]: "This needs a token: enter a rights token above.",
  [Code.PermissionDenied]: "This token may not do that.",
  [Code.Unavailable]: "The service is starting or busy; try again in a moment.",
  [Code.ResourceExhausted]: "The service is busy; try again in a moment.",
};

async function withState(prefix, work) {
  const status = $(`${prefix}-status`);
  const error = $(`${prefix}-error`);
  const buttons = document.querySelectorAll(`#view-${viewOf(prefix)} button`);
  error.hidden = true;
  error.replaceChildren();
  status.textContent = "Loading…";
  status.classList.add("loading");
  buttons.forEach((b) => (b.disabled = true));
  try {
    await work();
    status.textContent = "";
  } catch (err) {
    const e = ConnectError.from(err);
    status.textContent = "";
    const name = Code[e.code] ?? "Error";
    error.append(
      el("strong", { text: `Could not complete that (${name})` }),
      el("span", { text: e.rawMessage || String(err) }),
    );
    if (FIXES[e.code]) error.append(el("span", { text: ` ${FIXES[e.code]}` }));
    error.hidden = false;
  } finally {
    status.classList.remove("loading");
    buttons.forEach((b) => (b.disabled = false));
  }
}

const viewOf = (prefix) => ({ listen: "listen", talk: "talk", rights: "rights" })[prefix];

// ---- items (a slate or the agent's picks) -------------------------------------------------

const INVOLVEMENT = {
  [AiInvolvement.NONE]: ["NONE", "No AI"],
  [AiInvolvement.ASSISTED]: ["ASSISTED", "AI-assisted"],
  [AiInvolvement.GENERATED]: ["GENERATED", "AI-generated"],
  [AiInvolvement.UNDISCLOSED]: ["UNDISCLOSED", "AI use undisclosed"],
};
const ROLE = {
  [CreditRole.PRIMARY]: "",
  [CreditRole.FEATURED]: "featuring",
  [CreditRole.COMPOSER]: "composer",
  [CreditRole.LYRICIST]: "lyricist",
  [CreditRole.PRODUCER]: "producer",
  [CreditRole.PERFORMER]: "performer",
};

function itemCard(item) {
  const label = item.aiLabel;
  const [key, short] = INVOLVEMENT[label?.involvement] ?? ["UNDISCLOSED", "AI label unknown"];
  const badges = el(
    "div",
    { class: "badges" },
    el("span", { class: `badge ai-${key}`, text: short, title: aiLabelText(item) }),
  );
  if (label?.source === LabelSource.DISPUTED) {
    badges.append(el("span", { class: "badge disputed", text: "Label disputed" }));
  } else if (label?.source === LabelSource.DETECTED) {
    const pct = Math.round((label.confidence || 0) * 100);
    badges.append(el("span", { class: "badge source", text: `detected ${pct} %` }));
  } else if (label?.source === LabelSource.DECLARED) {
    badges.append(el("span", { class: "badge source", text: "declared" }));
  }
  const credits = item.credits.map((c) => {
    const role = ROLE[c.role] ? ` (${ROLE[c.role]})` : "";
    const kind = c.artistKind === ArtistKind.AI_PERSONA ? " · AI persona" : "";
    const share = c.share && c.share < 1 ? ` ${Math.round(c.share * 100)} %` : "";
    return `${c.name || c.artistId}${c.verified ? " ✓" : ""}${role}${kind}${share}`;
  });
  const PARTS = { 1: "composition", 2: "lyrics", 3: "vocals", 4: "instrumentation", 5: "production" };
  const madeBy = (label?.parts ?? []).map((p) => PARTS[p]).filter(Boolean);
  const card = el(
    "li",
    { class: "item", "data-ai": key, "data-track": item.track?.id ?? "" },
    el(
      "div",
      { class: "item-head" },
      el(
        "p",
        { class: "title" },
        el("span", { class: "pos", text: `${item.position + 1}.` }),
        item.track?.title ?? "(untitled)",
      ),
      badges,
    ),
    el("p", { class: "credits", text: credits.join(" · ") || "No credits on file" }),
  );
  if (madeBy.length) card.append(el("p", { class: "ai-parts", text: `AI made or helped with: ${madeBy.join(", ")}` }));
  if (label?.referencesArtistIds?.length) {
    card.append(el("p", { class: "sources", text: `References the style of: ${label.referencesArtistIds.join(", ")}` }));
  }
  if (item.reasons.length) {
    card.append(el("ul", { class: "reasons" }, ...item.reasons.map((r) => el("li", { text: r }))));
  }
  const meta = [item.track?.genre, ...(item.sources.length ? [`via ${item.sources.join(", ")}`] : [])];
  card.append(el("p", { class: "sources", text: meta.filter(Boolean).join(" · ") }));
  return card;
}

// ---- listener view ------------------------------------------------------------------------

async function loadSlate() {
  const slate = $("slate");
  const listenerId = $("listener").value.trim();
  store.set("listener", listenerId);
  slate.setAttribute("aria-busy", "true");
  await withState("listen", async () => {
    const response = await listener.recommendation.recommend({
      listenerId,
      k: 10,
      query: $("query").value.trim(),
      filters: { humanOnly: $("human-only").checked, excludeAiGenerated: $("no-ai").checked },
    });
    slate.replaceChildren(...response.items.map(itemCard));
    $("notes").replaceChildren(...response.notes.map((n) => el("li", { text: n })));
    if (!response.items.length && !response.notes.length) {
      $("notes").append(el("li", { text: "Nothing to recommend with these settings." }));
    }
    $("slate-meta").textContent = `Request ${response.requestId}${
      response.variant ? ` · variant ${response.variant}` : ""
    }`;
  });
  slate.setAttribute("aria-busy", "false");
}

// ---- conversation view --------------------------------------------------------------------

let sessionId = "";
let sessionListener = ""; // a session is the server's, bound to the listener it began with

async function converse() {
  const message = $("message").value;
  const listenerId = $("listener").value.trim() || store.get("listener", "u_00001");
  if (listenerId !== sessionListener) sessionId = "";
  await withState("talk", async () => {
    const answer = await listener.discovery.converse({ listenerId, sessionId, message });
    sessionId = answer.sessionId;
    sessionListener = listenerId;
    $("talk-summary").textContent = answer.summary;
    $("talk-slate").replaceChildren(...answer.items.map(itemCard));
    $("talk-trace").replaceChildren(
      ...answer.trace.map((t) =>
        el(
          "li",
          {},
          el("strong", { text: t.tool }),
          ` → ${t.count} result${t.count === 1 ? "" : "s"}, ${t.ms.toFixed(1)} ms `,
          el("code", { text: t.argumentsJson }),
        ),
      ),
    );
    $("talk-trace-box").hidden = answer.trace.length === 0;
  });
}

// ---- rights-holder view -------------------------------------------------------------------

const SCOPE = { 1: "AI training", 2: "AI style reference", 3: "Voice likeness" };
const when = (ts) => (ts ? new Date(Number(ts.seconds) * 1000).toISOString().replace("T", " ").slice(0, 16) : "");

async function loadRights() {
  const holder = $("holder").value.trim();
  store.set("holder", holder);
  const [history, metering, held] = await Promise.all([
    rights.rights.consentHistory({ rightsHolderId: holder }),
    rights.rights.meteringReport({ rightsHolderId: holder }),
    rights.rights.listQuarantine({ rightsHolderId: holder }),
  ]);
  $("ledger").tBodies[0].replaceChildren(
    ...history.entries.map((e) => {
      const grant = e.action === ConsentAction.GRANT;
      return el(
        "tr",
        {},
        el("td", { text: String(e.seq) }),
        el("td", { text: when(e.receivedAt ?? e.at) }),
        el("td", { class: grant ? "grant" : "revoke", text: grant ? "Granted" : "Revoked" }),
        el("td", { text: SCOPE[e.scope] ?? String(e.scope) }),
        el("td", { text: e.actor }),
        el("td", { text: e.reason }),
      );
    }),
  );
  if (!history.entries.length) {
    $("ledger").tBodies[0].append(
      el("tr", {}, el("td", { colspan: "6", text: "No consent changes recorded for this rights holder." })),
    );
  }
  const row = metering.rows.find((r) => r.rightsHolderId === holder);
  const figure = (name, value) => el("div", {}, el("dt", { text: name }), el("dd", { text: value }));
  $("metering").replaceChildren(
    figure("Credited plays", (row?.creditedPlays ?? 0).toFixed(1)),
    figure("Plays with AI features", (row?.aiInfluencedPlays ?? 0).toFixed(1)),
    figure("Paid", row?.paid || "0"),
    figure("Withheld", row?.withheld || "0"),
    figure("Forfeited", row?.forfeited || "0"),
    figure("Attribution completeness", `${Math.round(metering.attributionCompleteness * 100)} %`),
  );
  $("quarantine").replaceChildren(
    ...(held.tracks.length
      ? held.tracks.map((t) =>
          el(
            "li",
            {},
            el("strong", { text: `${t.title || t.trackId} ` }),
            el("span", { class: "meta", text: `${t.trackId} · ${t.actor} · ${when(t.at)}` }),
            el(
              "dl",
              {},
              ...t.reasons.flatMap((r) => [
                el("dt", { text: r.replaceAll("_", " ") }),
                el("dd", { text: t.evidence[r] ?? "" }),
              ]),
            ),
          ),
        )
      : [el("li", { class: "empty", text: "No quarantined tracks." })]),
  );
}

async function changeConsent(action) {
  const request = {
    rightsHolderId: $("holder").value.trim(),
    scope: Number($("scope").value),
    reason: $("reason").value,
  };
  await withState("rights", async () => {
    if (action === "revoke") await rights.rights.revokeConsent(request);
    else await rights.rights.grantConsent(request);
    $("reason").value = "";
    await loadRights();
  });
}

// ---- routing and start --------------------------------------------------------------------

function route() {
  const view = (location.hash.match(/^#\/(\w+)/) || [])[1] || "listen";
  for (const section of document.querySelectorAll(".view")) {
    section.hidden = section.id !== `view-${view}`;
  }
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function start() {
  $("listener").value = params.get("listener") || store.get("listener", "u_00001");
  $("holder").value = params.get("holder") || store.get("holder", "");
  $("listen-form").addEventListener("submit", (e) => {
    e.preventDefault();
    loadSlate();
  });
  for (const id of ["human-only", "no-ai"]) $(id).addEventListener("change", loadSlate);
  $("talk-form").addEventListener("submit", (e) => {
    e.preventDefault();
    converse();
  });
  $("talk-new").addEventListener("click", () => {
    sessionId = "";
    $("talk-summary").textContent = "";
    $("talk-slate").replaceChildren();
    $("talk-trace-box").hidden = true;
  });
  $("rights-form").addEventListener("submit", (e) => {
    e.preventDefault();
    withState("rights", loadRights);
  });
  $("consent-form").addEventListener("submit", (e) => {
    e.preventDefault();
    changeConsent(e.submitter?.dataset.action ?? "grant");
  });
  window.addEventListener("hashchange", route);
  route();
  loadSlate();
}

start();
