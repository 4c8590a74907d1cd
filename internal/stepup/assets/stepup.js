// login_guard step-up: runs the WebAuthn ceremony against the guard's JSON
// endpoints and then submits the completion form, a top-level navigation,
// so the guard's redirect back to the login URL carries its cookies.
// No external resources and no inline code, so a strict CSP
// (script-src 'self') is enough.
(function () {
  "use strict";

  var root = document.getElementById("login-guard-step-up");
  if (!root) { return; }
  var base = root.getAttribute("data-base") || "";
  var mode = root.getAttribute("data-mode");
  var done = root.getAttribute("data-done") || "";
  var button = document.getElementById("login-guard-start");
  var status = document.getElementById("login-guard-status");

  function say(text) { if (status) { status.textContent = text; } }

  // go-webauthn sends and expects unpadded base64url for every binary field.
  function fromB64url(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }

  function toB64url(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeList(list) {
    if (!list) { return list; }
    return list.map(function (c) {
      var copy = Object.assign({}, c);
      copy.id = fromB64url(c.id);
      return copy;
    });
  }

  function post(path, body) {
    return fetch(base + path, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      referrerPolicy: "no-referrer",
      headers: { "Content-Type": "application/json", "X-Login-Guard": "1" },
      body: body === undefined ? "{}" : JSON.stringify(body)
    }).then(function (res) {
      if (!res.ok) { throw new Error("step-up request refused (" + res.status + ")"); }
      return res.json();
    });
  }

  function clientResults(cred) {
    try { return cred.getClientExtensionResults() || {}; } catch (e) { return {}; }
  }

  function login() {
    return post("/passkey/begin").then(function (opts) {
      var pk = opts.publicKey;
      pk.challenge = fromB64url(pk.challenge);
      pk.allowCredentials = decodeList(pk.allowCredentials);
      return navigator.credentials.get({ publicKey: pk });
    }).then(function (cred) {
      var r = cred.response;
      return post("/passkey/finish", {
        id: cred.id,
        rawId: toB64url(cred.rawId),
        type: cred.type,
        authenticatorAttachment: cred.authenticatorAttachment || undefined,
        clientExtensionResults: clientResults(cred),
        response: {
          clientDataJSON: toB64url(r.clientDataJSON),
          authenticatorData: toB64url(r.authenticatorData),
          signature: toB64url(r.signature),
          userHandle: r.userHandle ? toB64url(r.userHandle) : undefined
        }
      });
    }).then(function () {
      say("Confirmed. Finishing sign-in\u2026");
      document.getElementById("login-guard-complete").submit();
    });
  }

  function enroll() {
    return post("/passkey/register/begin").then(function (opts) {
      var pk = opts.publicKey;
      pk.challenge = fromB64url(pk.challenge);
      pk.user.id = fromB64url(pk.user.id);
      pk.excludeCredentials = decodeList(pk.excludeCredentials);
      return navigator.credentials.create({ publicKey: pk });
    }).then(function (cred) {
      var r = cred.response;
      return post("/passkey/register/finish", {
        id: cred.id,
        rawId: toB64url(cred.rawId),
        type: cred.type,
        authenticatorAttachment: cred.authenticatorAttachment || undefined,
        clientExtensionResults: clientResults(cred),
        response: {
          clientDataJSON: toB64url(r.clientDataJSON),
          attestationObject: toB64url(r.attestationObject),
          transports: typeof r.getTransports === "function" ? r.getTransports() : undefined
        }
      });
    }).then(function () {
      say("Passkey registered.");
      if (done) { window.location.assign(done); }
    });
  }

  if (!button) { return; }
  if (!window.PublicKeyCredential || !navigator.credentials) {
    say("This browser does not support passkeys.");
    button.disabled = true;
    return;
  }
  button.addEventListener("click", function () {
    button.disabled = true;
    say("Waiting for your passkey\u2026");
    (mode === "enroll" ? enroll() : login()).catch(function () {
      say("That did not work. You can try again.");
      button.disabled = false;
    });
  });
}());
