// Runs assets/stepup.js in node against fake DOM, fetch and WebAuthn
// objects, driven by a JSON scenario on stdin; prints what the script did.
"use strict";
const fs = require("fs");
const vm = require("vm");

const scenario = JSON.parse(fs.readFileSync(0, "utf8"));
const script = fs.readFileSync(process.argv[2], "utf8");

const b64 = (buf) => Buffer.from(new Uint8Array(buf)).toString("base64url");
const ab = (s) => { const b = Buffer.from(s, "base64url"); return b.buffer.slice(b.byteOffset, b.byteOffset + b.length); };

const out = { requests: [], navigator: null, submitted: false, status: "", assigned: null };
let finished;
const done = new Promise((resolve) => { finished = resolve; });

const attrs = { "data-base": scenario.base, "data-mode": scenario.mode, "data-done": scenario.done || "",
  "data-methods": scenario.methods || "", "data-user": scenario.user || "" };
// scenario.click names the button clicked (default the passkey's).
const clickID = scenario.click || "login-guard-start";
let clickHandler = null;
// The script re-enables a button once a failure has been reported.
const button = (id) => ({
  _disabled: false,
  set disabled(v) { const was = this._disabled; this._disabled = v; if (was && !v) { finished(); } },
  get disabled() { return this._disabled; },
  addEventListener: (ev, f) => { if (ev === "click" && id === clickID) { clickHandler = f; } },
});
const elements = {
  "login-guard-step-up": { getAttribute: (n) => attrs[n] },
  "login-guard-start": button("login-guard-start"),
  "login-guard-loginid": button("login-guard-loginid"),
  "login-guard-status": { set textContent(v) { out.status = v; }, get textContent() { return out.status; } },
  "login-guard-complete": { submit: () => { out.submitted = true; finished(); } },
};

// fakeCredential answers navigator.credentials.create ("create") or .get.
function fakeCredential(kind) {
  const c = kind === "create" ? scenario.credential : (scenario.assertion || scenario.credential);
  const response = { clientDataJSON: ab(c.clientDataJSON) };
  if (kind === "create") {
    response.attestationObject = ab(c.attestationObject);
    response.getTransports = () => c.transports;
  } else {
    response.authenticatorData = ab(c.authenticatorData);
    response.signature = ab(c.signature);
    response.userHandle = ab(c.userHandle);
  }
  return {
    id: c.rawId, rawId: ab(c.rawId), type: "public-key", authenticatorAttachment: "platform",
    response, getClientExtensionResults: () => ({}),
  };
}

const sandbox = {
  document: { getElementById: (id) => elements[id] || null },
  window: {
    PublicKeyCredential: function () {},
    location: { assign: (u) => { out.assigned = u; finished(); } },
  },
  navigator: {
    credentials: {
      get: (arg) => {
        const pk = arg.publicKey;
        out.navigator = { challenge: b64(pk.challenge), allow: (pk.allowCredentials || []).map((c) => b64(c.id)), rpId: pk.rpId };
        out.prompts = (out.prompts || []).concat("get");
        return Promise.resolve(fakeCredential("get"));
      },
      create: (arg) => {
        const pk = arg.publicKey;
        out.navigator = { challenge: b64(pk.challenge), userId: b64(pk.user.id), exclude: (pk.excludeCredentials || []).map((c) => b64(c.id)), rp: pk.rp.id };
        out.prompts = (out.prompts || []).concat("create");
        return Promise.resolve(fakeCredential("create"));
      },
    },
  },
  fetch: (url, init) => {
    out.requests.push({ url, method: init.method, headers: init.headers, credentials: init.credentials, body: init.body });
    const path = url.slice(scenario.base.length);
    const refusal = (scenario.refusals || {})[path];
    if (refusal) {
      // "once": the refusal answers the first request to its path only.
      if (refusal.once) { delete scenario.refusals[path]; }
      return Promise.resolve({ ok: false, status: refusal.status, json: () => Promise.resolve(refusal.body) });
    }
    const reply = scenario.replies[path];
    const status = reply === undefined ? 404 : 200;
    return Promise.resolve({ ok: status === 200, status, json: () => (reply === undefined ? Promise.reject(new Error("no JSON")) : Promise.resolve(reply)) });
  },
  atob, btoa, Uint8Array, String, Object, Error, JSON,
};
sandbox.window.document = sandbox.document;
// The operator's LoginID registration hook (scenario.loginidJWT: what
// DirectWeb's dw.register would resolve to; scenario.loginidError: the
// name of the error it rejects with instead).
if (scenario.loginidJWT || scenario.loginidError) {
  sandbox.window.loginGuardLoginIDRegister = (user) => {
    out.hookUser = user;
    out.prompts = (out.prompts || []).concat("loginid");
    if (scenario.loginidError) {
      const err = new Error("registration failed");
      err.name = scenario.loginidError;
      return Promise.reject(err);
    }
    return Promise.resolve(scenario.loginidJWT);
  };
}
vm.createContext(sandbox);
vm.runInContext(script, sandbox);
if (!clickHandler) {
  out.status = out.status || "no click handler";
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}
clickHandler();
done.then(() => process.stdout.write(JSON.stringify(out)));
