// wagw console: a client of the daemon's HTTP API (docs/http-api.md). No framework, no
// inline script (the page's Content-Security-Policy forbids it), no innerHTML with data:
// everything from the API is written with textContent.
"use strict";

const TOKEN_KEY = "wagw.token";
const EVENTS_KEPT = 200;

const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  accounts: [],
  sim: false,
  page: null,
  timer: null,
  loginTimer: null,
  loginError: null,
  loginSeq: 0,
  lastSeq: null,
  stream: null,
};

const $ = (id) => document.getElementById(id);

/** Builds an element: el("td", {class: "x", "data-label": "State"}, "text", child). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "onclick") node.addEventListener("click", v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

function notice(text, isError) {
  const n = $("notice");
  n.textContent = text || "";
  n.className = isError ? "error" : "";
}

function when(ms) {
  if (!ms) return "—";
  const d = new Date(Number(ms));
  return d.toLocaleString();
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** One API call with the bearer token; JSON in, JSON (or text) out. */
async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + state.token };
  const init = { method, headers, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const type = res.headers.get("content-type") || "";
  const data = type.includes("json") ? await res.json().catch(() => null) : await res.text();
  if (!res.ok) {
    const err = data && data.error ? data.error : {};
    const message = err.message || (res.status + " " + res.statusText);
    if (res.status === 401) signOut(message);
    throw new ApiError(res.status, err.code || "", message);
  }
  return data;
}

/** Runs an action from a button or form: shows its error instead of losing it. */
async function act(fn, button) {
  if (button) button.disabled = true;
  try {
    return await fn();
  } catch (e) {
    notice(e.message || String(e), true);
  } finally {
    if (button) button.disabled = false;
  }
}

// ---------------------------------------------------------------- sign-in

function signOut(reason) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  if (state.stream) state.stream.abort();
  state.stream = null;
  stopTimers();
  $("nav").hidden = true;
  $("forget").hidden = true;
  for (const s of document.querySelectorAll("main > section")) s.hidden = s.id !== "page-token";
  $("token-error").textContent = reason || "";
  $("token-input").focus();
}

async function signIn(token) {
  state.token = token;
  const list = await api("GET", "/v1/accounts");
  sessionStorage.setItem(TOKEN_KEY, token);
  setAccounts(list.accounts || []);
  $("token-input").value = "";
  $("token-error").textContent = "";
  $("nav").hidden = false;
  $("forget").hidden = false;
  startStream();
  route();
}

function setAccounts(accounts) {
  state.accounts = accounts;
  state.sim = accounts.some((a) => a.transport === "sim");
  for (const li of document.querySelectorAll("[data-sim-only]")) li.hidden = !state.sim;
  for (const select of document.querySelectorAll("select[data-accounts]")) {
    const keep = select.value;
    const ids = accounts.map((a) => a.id);
    if ([...select.options].map((o) => o.value).join() !== ids.join()) {
      select.replaceChildren(...ids.map((id) => el("option", { value: id }, id)));
    }
    if (ids.includes(keep)) select.value = keep;
  }
}

// ---------------------------------------------------------------- routing

const pages = {
  accounts: { load: loadAccounts, every: 3000 },
  link: { load: loadLink, every: 0 },
  pairing: { load: loadPairing, every: 3000 },
  allow: { load: loadAllow, every: 0 },
  activity: { load: loadDrops, every: 5000 },
  deliveries: { load: loadDeliveries, every: 5000 },
  sandbox: { load: loadOutbox, every: 2000 },
};

function stopTimers() {
  clearInterval(state.timer);
  clearTimeout(state.loginTimer);
  state.timer = null;
  state.loginTimer = null;
}

function route() {
  if (!state.token) return signOut();
  let page = location.hash.replace(/^#/, "");
  if (!pages[page] || (page === "sandbox" && !state.sim)) page = "accounts";
  const changed = page !== state.page;
  state.page = page;
  stopTimers();
  for (const s of document.querySelectorAll("main > section")) s.hidden = s.id !== "page-" + page;
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.page === page) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (changed) notice("");
  const p = pages[page];
  act(p.load);
  if (p.every) state.timer = setInterval(() => act(p.load), p.every);
}

// ---------------------------------------------------------------- accounts

function badge(text, kind) {
  return el("span", { class: "badge " + (kind || "") }, text);
}

function fixFor(a) {
  if (!a.enabled) return "Disabled in the config: set enabled: true and reload (POST /v1/reload or SIGHUP).";
  if (!a.running) return "Not running: enable web for this account and reload.";
  if (!a.linked) return "Not linked: open the Link page and scan the QR with the phone (or run `wagw channels login --account " + a.id + "`).";
  if (!a.connected) return (a.detail ? a.detail + " " : "") + "Linked but not connected: the gateway retries by itself; if it keeps failing, check the network or relink on the Link page.";
  return null;
}

async function loadAccounts() {
  const list = await api("GET", "/v1/accounts");
  setAccounts(list.accounts || []);
  const cards = state.accounts.map((a) => {
    const stateKind = a.connected ? "ok" : a.linked ? "warn" : "bad";
    const fix = fixFor(a);
    return el("article", { class: "card", "data-account": a.id, "data-connected": String(a.connected), "data-linked": String(a.linked) },
      el("h3", {}, a.name ? a.name + " (" + a.id + ")" : a.id, " ", badge(a.state, stateKind)),
      el("dl", {},
        el("dt", {}, "Phone"), el("dd", {}, a.selfPhone || "—"),
        el("dt", {}, "Linked"), el("dd", {}, a.linked ? "yes" : "no"),
        el("dt", {}, "Connected"), el("dd", {}, a.connected ? "yes" : "no"),
        el("dt", {}, "Transport"), el("dd", {}, a.transport),
        el("dt", {}, "DM policy"), el("dd", {}, a.dmPolicy),
        el("dt", {}, "Last in"), el("dd", {}, when(a.lastInboundAtMs)),
        el("dt", {}, "Last out"), el("dd", {}, when(a.lastOutboundAtMs)),
        el("dt", {}, "Reconnects"), el("dd", {}, String(a.reconnectsTotal || 0) + (a.reconnectAttempts ? " (" + a.reconnectAttempts + " failing in a row)" : "")),
        a.lastError ? el("dt", {}, "Last error") : null,
        a.lastError ? el("dd", { class: "error" }, a.lastError) : null),
      fix ? el("p", { class: "fix" }, fix) : null);
  });
  $("accounts-list").replaceChildren(...(cards.length ? cards : [el("p", {}, "No accounts configured.")]));
}

// ---------------------------------------------------------------- link

function linkAccount() {
  return $("link-account").value;
}

async function loadLink() {
  await pollLogin();
}

function showLogin(s) {
  const msg = $("link-message");
  msg.dataset.state = s.status || "idle";
  msg.textContent = s.message || s.status;
  const img = $("link-qr-img");
  if (s.qrPng && s.status === "pending") {
    if (img.getAttribute("src") !== s.qrPng) img.src = s.qrPng;
    img.alt = "QR code to link account " + linkAccount() + " (scan it in WhatsApp → Linked devices)";
    img.hidden = false;
    img.classList.remove("expired");
  } else if (s.status === "expired" && !img.hidden) {
    img.classList.add("expired");
    img.alt = "Expired QR code";
  } else {
    img.hidden = true;
    img.removeAttribute("src");
  }
  const code = $("link-code");
  code.hidden = !(s.code && s.status === "pending");
  code.textContent = s.code || "";
  const exp = $("link-expires");
  exp.hidden = !(s.expiresIn && s.status === "pending");
  // QR codes rotate by themselves; a pair code or a passkey verification code does not.
  const refreshes = s.qrPng ? "; it refreshes by itself." : ".";
  exp.textContent = s.expiresIn ? "Valid for " + s.expiresIn + " s" + refreshes : "";
  const pk = $("passkey");
  pk.hidden = !s.passkeyOptions;
  $("passkey-options").textContent = s.passkeyOptions ? JSON.stringify(s.passkeyOptions, null, 2) : "";
  $("passkey-confirm").hidden = !s.passkeyCode;
  $("passkey-code").textContent = s.passkeyCode || "";
  // A login error stays shown while the login reports it, and goes once it no longer does
  // (a refused passkey assertion, then an accepted one).
  if (s.error) {
    notice(s.error, true);
    state.loginError = s.error;
  } else if (state.loginError) {
    if ($("notice").textContent === state.loginError) notice("");
    state.loginError = null;
  }
}

async function pollLogin() {
  clearTimeout(state.loginTimer);
  const id = linkAccount();
  if (!id) return;
  // Polls overlap (the timer, events, buttons): only the newest answer is shown, so a
  // slow, stale "pending" never redraws the QR over "connected".
  const seq = ++state.loginSeq;
  const s = await api("GET", "/v1/accounts/" + encodeURIComponent(id) + "/login");
  if (seq !== state.loginSeq || state.page !== "link" || id !== linkAccount()) return;
  showLogin(s);
  if (s.status === "pending") {
    state.loginTimer = setTimeout(() => act(pollLogin), 1500);
  }
}

async function startLogin(body) {
  const id = linkAccount();
  const r = await api("POST", "/v1/accounts/" + encodeURIComponent(id) + "/login", body);
  showLogin({ status: "pending", message: r.message, qrPng: r.qrPng, code: r.code, expiresIn: r.expiresIn });
  await pollLogin();
}

// WebAuthn values travel as base64url in JSON.
function fromB64url(s) {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(b64 + "===".slice((b64.length + 3) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
}

function toB64url(buf) {
  let bin = "";
  for (const b of new Uint8Array(buf)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function usePasskey() {
  const text = $("passkey-options").textContent;
  if (!text) throw new Error("No passkey request is waiting.");
  if (!window.PublicKeyCredential) throw new Error("This browser has no WebAuthn: paste the assertion JSON from another authenticator.");
  const raw = JSON.parse(text);
  const o = raw.publicKey || raw;
  const publicKey = Object.assign({}, o, {
    challenge: fromB64url(o.challenge),
    allowCredentials: (o.allowCredentials || []).map((c) => Object.assign({}, c, { id: fromB64url(c.id) })),
  });
  const cred = await navigator.credentials.get({ publicKey });
  const r = cred.response;
  const assertion = {
    id: cred.id,
    rawId: toB64url(cred.rawId),
    type: cred.type,
    response: {
      clientDataJSON: toB64url(r.clientDataJSON),
      authenticatorData: toB64url(r.authenticatorData),
      signature: toB64url(r.signature),
      userHandle: r.userHandle ? toB64url(r.userHandle) : null,
    },
  };
  $("passkey-json").value = JSON.stringify(assertion);
  await sendPasskey();
}

async function sendPasskey() {
  let assertion;
  try {
    assertion = JSON.parse($("passkey-json").value);
  } catch (e) {
    throw new Error("Assertion JSON: not valid JSON (" + e.message + ")");
  }
  const s = await api("POST", "/v1/accounts/" + encodeURIComponent(linkAccount()) + "/login/passkey", assertion);
  showLogin(s);
  await pollLogin();
}

// ---------------------------------------------------------------- pairing

async function loadPairing() {
  const r = await api("GET", "/v1/pairing/whatsapp");
  const reqs = r.requests || [];
  if (!reqs.length) {
    $("pairing-list").replaceChildren(el("p", {}, "No pending requests."));
    return;
  }
  const decide = (req, verb) => async (ev) => {
    await act(async () => {
      const d = await api("POST", "/v1/pairing/whatsapp/" + verb, { code: req.code, account: req.account });
      notice((verb === "approve" ? "Approved " : "Rejected ") + d.sender + " on " + d.account + ".");
      await loadPairing();
    }, ev.currentTarget);
  };
  const rows = reqs.map((q) => el("tr", { "data-code": q.code },
    el("td", { "data-label": "Sender" }, q.sender + (q.name ? " (" + q.name + ")" : "")),
    el("td", { "data-label": "Account" }, q.account),
    el("td", { "data-label": "Code" }, el("code", {}, q.code)),
    el("td", { "data-label": "Expires" }, when(q.expiresAtMs)),
    el("td", {},
      el("button", { type: "button", class: "approve", "aria-label": "Approve " + q.sender, onclick: decide(q, "approve") }, "Approve"), " ",
      el("button", { type: "button", class: "danger", "aria-label": "Reject " + q.sender, onclick: decide(q, "reject") }, "Reject"))));
  $("pairing-list").replaceChildren(el("table", {},
    el("thead", {}, el("tr", {}, el("th", {}, "Sender"), el("th", {}, "Account"), el("th", {}, "Code"), el("th", {}, "Expires"), el("th", {}, el("span", { class: "muted" }, "Decide")))),
    el("tbody", {}, ...rows)));
}

// ---------------------------------------------------------------- allow-list

async function loadAllow() {
  const r = await api("GET", "/v1/allow/whatsapp");
  const entries = r.entries || [];
  if (!entries.length) {
    $("allow-list").replaceChildren(el("p", {}, "The allow-store is empty (config allowFrom entries are listed on the Accounts page)."));
    return;
  }
  const rows = entries.map((e) => el("tr", { "data-entry": e.entry },
    el("td", { "data-label": "Sender" }, e.entry + (e.name ? " (" + e.name + ")" : "")),
    el("td", { "data-label": "Account" }, e.account),
    el("td", { "data-label": "Source" }, e.source),
    el("td", { "data-label": "Added" }, when(e.addedAtMs)),
    el("td", {}, el("button", {
      type: "button", class: "danger", "aria-label": "Remove " + e.entry,
      onclick: (ev) => act(async () => {
        await api("DELETE", "/v1/allow/whatsapp/" + encodeURIComponent(e.entry) + "?account=" + encodeURIComponent(e.account));
        notice("Removed " + e.entry + ".");
        await loadAllow();
      }, ev.currentTarget),
    }, "Remove"))));
  $("allow-list").replaceChildren(el("table", {},
    el("thead", {}, el("tr", {}, el("th", {}, "Sender"), el("th", {}, "Account"), el("th", {}, "Source"), el("th", {}, "Added"), el("th", {}, el("span", { class: "muted" }, "Remove")))),
    el("tbody", {}, ...rows)));
}

// ---------------------------------------------------------------- activity

function describe(ev) {
  const d = ev.data || {};
  switch (ev.type) {
    case "turn": return (d.senderName ? d.senderName + " " : "") + (d.senderE164 || d.from || "someone") + " → " + (d.accountId || d.account || "") + (d.body ? ": " + d.body : "");
    case "account_state": return d.account + ": " + d.state + (d.detail && d.detail !== d.state ? " — " + d.detail : "");
    case "linked": return d.account + " linked" + (d.phone ? " as " + d.phone : "");
    case "pairing_challenge": return d.account + ": pairing code sent to " + d.sender;
    case "send_failed": return d.account + ": send to " + d.chat + " failed — " + d.error;
    case "qr_code": return d.account + ": new QR code";
    case "pair_code": return d.account + ": pair code issued";
    case "login_error": return d.account + ": " + (d.error || d.detail || "login error");
    default: return JSON.stringify(d);
  }
}

function addEvent(ev) {
  const list = $("events");
  const li = el("li", { "data-type": ev.type },
    el("time", { datetime: new Date(ev.atMs).toISOString() }, new Date(ev.atMs).toLocaleTimeString()),
    badge(ev.type), " ", describe(ev));
  list.prepend(li);
  while (list.children.length > EVENTS_KEPT) list.lastElementChild.remove();
  // Keep the other pages current without waiting for their timers.
  if (state.page === "accounts" && (ev.type === "account_state" || ev.type === "linked")) act(loadAccounts);
  if (state.page === "pairing" && ev.type === "pairing_challenge") act(loadPairing);
  if (state.page === "link" && ["qr_code", "linked", "pair_code", "passkey_required", "passkey_confirmation", "login_error"].includes(ev.type)) act(pollLogin);
  if (state.page === "sandbox") act(loadOutbox);
}

function streamState(text, kind) {
  const s = $("stream-state");
  s.textContent = text;
  s.className = "badge " + (kind || "");
}

/** The event stream over fetch (EventSource cannot send the Authorization header, and the
 *  token never goes in a URL). Resumes after the last seq seen, like an SSE client would. */
async function startStream() {
  if (state.stream) state.stream.abort();
  const ctl = new AbortController();
  state.stream = ctl;
  let delay = 1000;
  while (!ctl.signal.aborted && state.token) {
    try {
      const headers = { Authorization: "Bearer " + state.token, Accept: "text/event-stream" };
      const path = state.lastSeq === null ? "/v1/events?after=0" : "/v1/events";
      if (state.lastSeq !== null) headers["Last-Event-ID"] = String(state.lastSeq);
      const res = await fetch(path, { headers, signal: ctl.signal, cache: "no-store" });
      if (res.status === 401) { signOut("The token was refused."); return; }
      if (!res.ok || !res.body) throw new Error("HTTP " + res.status);
      streamState("live", "ok");
      delay = 1000;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value.replace(/\r\n/g, "\n");
        let cut;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          const frame = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const data = frame.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).replace(/^ /, "")).join("\n");
          if (!data) continue;
          try {
            const ev = JSON.parse(data);
            state.lastSeq = ev.seq;
            addEvent(ev);
          } catch (e) {
            // A frame that is not JSON is not ours to show.
          }
        }
      }
      throw new Error("the stream ended");
    } catch (e) {
      if (ctl.signal.aborted) return;
      streamState("reconnecting (" + e.message + ")", "warn");
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15000);
    }
  }
}

async function loadDrops() {
  const text = await api("GET", "/metrics");
  const drops = [];
  for (const line of String(text).split("\n")) {
    const m = /^wagw_dropped_total\{([^}]*)\}\s+(\d+)/.exec(line);
    if (!m || m[2] === "0") continue;
    const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    drops.push({ account: labels.account || "", reason: labels.reason || "", count: m[2] });
  }
  if (!drops.length) {
    $("drops").replaceChildren(el("p", { class: "muted" }, "No message was dropped since the gateway started."));
    return;
  }
  $("drops").replaceChildren(el("table", {},
    el("thead", {}, el("tr", {}, el("th", {}, "Account"), el("th", {}, "Reason"), el("th", {}, "Count"))),
    el("tbody", {}, ...drops.map((d) => el("tr", {},
      el("td", { "data-label": "Account" }, d.account), el("td", { "data-label": "Reason" }, d.reason), el("td", { "data-label": "Count" }, d.count))))));
}

// ---------------------------------------------------------------- deliveries

async function loadDeliveries() {
  const st = $("deliveries-state").value;
  const r = await api("GET", "/v1/deliveries?state=" + encodeURIComponent(st) + "&limit=100");
  const list = r.deliveries || [];
  if (!list.length) {
    $("deliveries-list").replaceChildren(el("p", {}, "No " + st + " deliveries."));
    return;
  }
  const rows = list.map((d) => el("tr", { "data-delivery": d.id, "data-state": d.state },
    el("td", { "data-label": "Id" }, el("code", {}, d.id)),
    el("td", { "data-label": "Agent" }, d.agentId),
    el("td", { "data-label": "Account" }, d.accountId),
    el("td", { "data-label": "Attempts" }, String(d.attempts) + (d.replays ? " (replayed " + d.replays + "×)" : "")),
    el("td", { "data-label": "Last error" }, d.lastError || (d.lastStatus ? "HTTP " + d.lastStatus : "—")),
    el("td", {}, d.state === "dead" ? el("button", {
      type: "button", class: "replay", "aria-label": "Replay " + d.id,
      onclick: (ev) => act(async () => {
        const v = await api("POST", "/v1/deliveries/" + encodeURIComponent(d.id) + "/replay");
        notice("Replayed " + v.id + ": it is " + v.state + " again.");
        await loadDeliveries();
      }, ev.currentTarget),
    }, "Replay") : null)));
  $("deliveries-list").replaceChildren(el("table", {},
    el("thead", {}, el("tr", {}, el("th", {}, "Id"), el("th", {}, "Agent"), el("th", {}, "Account"), el("th", {}, "Attempts"), el("th", {}, "Last error"), el("th", {}, el("span", { class: "muted" }, "Action")))),
    el("tbody", {}, ...rows)));
}

// ---------------------------------------------------------------- sandbox

async function loadOutbox() {
  if (!state.sim) return;
  const id = $("sandbox-account").value;
  if (!id) return;
  const r = await api("GET", "/v1/sim/outbox/" + encodeURIComponent(id));
  const items = (r.messages || []).slice(-100).reverse();
  $("outbox").replaceChildren(...(items.length ? items.map((m) => el("li", { "data-kind": m.kind },
    badge(m.kind), " to ", el("code", {}, m.chat), ": ", m.text || m.emoji || (m.media ? m.media.kind : "")))
    : [el("li", { class: "muted" }, "Nothing sent yet.")]));
}

// ---------------------------------------------------------------- wiring

function formData(form) {
  return Object.fromEntries(new FormData(form).entries());
}

function on(id, event, fn) {
  const target = $(id);
  target.addEventListener(event, (ev) => {
    ev.preventDefault();
    const button = ev.submitter || (target instanceof HTMLButtonElement ? target : null);
    act(() => fn(target), button);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  on("token-form", "submit", async () => {
    const token = $("token-input").value.trim();
    try {
      await signIn(token);
    } catch (e) {
      if (!state.token || e.status !== 401) signOut(e.message);
    }
  });
  on("forget", "click", async () => signOut("Signed out: the token was removed from this tab."));
  on("link-form", "submit", async () => {
    notice("");
    await startLogin({ method: "qr", force: $("link-force").checked });
  });
  on("code-form", "submit", async () => {
    notice("");
    await startLogin({ method: "code", phone: $("code-phone").value.trim(), force: $("link-force").checked });
  });
  on("link-logout", "click", async () => {
    const id = linkAccount();
    if (!window.confirm("Unlink account " + id + "? Its WhatsApp Web session is deleted; linking again needs the phone.")) return;
    const r = await api("POST", "/v1/accounts/" + encodeURIComponent(id) + "/logout");
    notice(r.message);
    await pollLogin();
  });
  $("link-account").addEventListener("change", () => act(pollLogin));
  on("passkey-use", "click", usePasskey);
  on("passkey-send", "click", sendPasskey);
  on("passkey-confirm-btn", "click", async () => {
    const s = await api("POST", "/v1/accounts/" + encodeURIComponent(linkAccount()) + "/login/passkey/confirm");
    showLogin(s);
    await pollLogin();
  });
  on("allow-form", "submit", async (form) => {
    const f = formData(form);
    const r = await api("POST", "/v1/allow/whatsapp", { entry: f.entry.trim(), account: f.account || undefined });
    notice(r.changed ? "Added " + r.entry + " to " + r.account + "." : r.entry + " was already allowed on " + r.account + ".");
    form.reset();
    setAccounts(state.accounts);
    await loadAllow();
  });
  on("explain-form", "submit", async (form) => {
    const f = formData(form);
    const body = { from: f.from.trim(), account: f.account || undefined, mentioned: f.mentioned === "on" };
    if (f.group && f.group.trim()) body.group = f.group.trim();
    const r = await api("POST", "/v1/access/explain", body);
    const out = $("explain-result");
    out.hidden = false;
    out.dataset.decision = r.decision;
    out.replaceChildren(badge(r.decision, r.decision === "allow" ? "ok" : r.decision === "drop" ? "bad" : "warn"), " ",
      r.sender + " on " + r.account + ": ", r.explanation, " ", el("span", { class: "muted" }, "(" + r.reason + ", " + r.rule + ")"));
  });
  on("deliveries-form", "submit", loadDeliveries);
  $("deliveries-state").addEventListener("change", () => act(loadDeliveries));
  on("sandbox-form", "submit", async (form) => {
    const f = formData(form);
    const body = { account: f.account || undefined, from: f.from.trim(), text: f.text };
    if (f.name && f.name.trim()) body.name = f.name.trim();
    const r = await api("POST", "/v1/sim/inbound", body);
    notice("Sent as " + body.from + " (" + r.messageId + ").");
    $("sandbox-text").value = "";
    await loadOutbox();
  });
  $("sandbox-account").addEventListener("change", () => act(loadOutbox));
  on("scan-form", "submit", async (form) => {
    const f = formData(form);
    const body = { account: $("sandbox-account").value || undefined };
    if (f.phone && f.phone.trim()) body.phone = f.phone.trim();
    const r = await api("POST", "/v1/sim/scan", body);
    notice(r.message);
  });
  window.addEventListener("hashchange", route);
  if (state.token) {
    signIn(state.token).catch((e) => { if (e.status !== 401) notice(e.message, true); });
  } else {
    signOut();
  }
});
