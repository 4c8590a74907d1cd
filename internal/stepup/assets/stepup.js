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
  var operation = root.getAttribute("data-operation") === "1";
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
      if (res.ok) { return res.json(); }
      // The guard's refusals carry {"error": code, "message": text}: the
      // text says what the person can do, so it is what they read.
      return res.json().catch(function () { return {}; }).then(function (body) {
        var err = new Error("step-up request refused (" + res.status + ")");
        if (body && typeof body.message === "string") { err.userMessage = body.message; }
        if (body && typeof body.error === "string") { err.code = body.error; }
        throw err;
      });
    });
  }

  // explain words a failure for the person: the guard's own message, or
  // what the browser's passkey or camera prompt reported.
  function explain(err) {
    if (err && err.userMessage) { return err.userMessage; }
    var name = err && err.name;
    if (name === "NotAllowedError") { return "The request was cancelled or timed out. You can try again."; }
    if (name === "InvalidStateError") { return "This device already has a passkey for this account. You can use it to sign in."; }
    if (name === "NotFoundError" || name === "NotReadableError") { return "No camera could be used. Check that one is connected and not in use, then try again."; }
    return "That did not work. You can try again.";
  }

  function clientResults(cred) {
    try { return cred.getClientExtensionResults() || {}; } catch (e) { return {}; }
  }

  // assertion asks the guard for options at beginPath, the browser for one
  // of the account's passkeys, and posts the result to finishPath.
  function assertion(beginPath, finishPath) {
    return post(beginPath).then(function (opts) {
      var pk = opts.publicKey;
      pk.challenge = fromB64url(pk.challenge);
      pk.allowCredentials = decodeList(pk.allowCredentials);
      return navigator.credentials.get({ publicKey: pk });
    }).then(function (cred) {
      var r = cred.response;
      return post(finishPath, {
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
    });
  }

  function login() {
    return assertion("/passkey/begin", "/passkey/finish").then(function () { return finish(true); });
  }

  // An account that already has a passkey adds another only once one of
  // them confirms it: the guard answers enrol_confirm until then.
  function enroll() {
    return register().catch(function (err) {
      if (err.code !== "enrol_confirm") { throw err; }
      say("This account already has a passkey. Confirm with it first\u2026");
      return assertion("/passkey/confirm/begin", "/passkey/confirm/finish").then(function () {
        say("Now register the new passkey\u2026");
        return register();
      });
    });
  }

  function register() {
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

  // Selfie (Smile ID): a few liveness frames and one selfie from the front
  // camera, as base64 JPEG; the guard submits the job and the page polls
  // until Smile ID's result is confirmed.
  var LIVENESS_FRAMES = 4, FRAME_GAP_MS = 400, POLL_MS = 3000;

  function pause(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  function frame(video) {
    var w = Math.min(video.videoWidth || 640, 640);
    var h = Math.round(w * (video.videoHeight || 480) / (video.videoWidth || 640));
    var canvas = document.createElement("canvas");
    canvas.width = w;
    canvas.height = h;
    canvas.getContext("2d").drawImage(video, 0, 0, w, h);
    var url = canvas.toDataURL("image/jpeg", 0.85);
    return url.slice(url.indexOf(",") + 1);
  }

  function capture() {
    var video = document.getElementById("login-guard-video");
    var stream;
    return navigator.mediaDevices.getUserMedia({ video: { facingMode: "user" }, audio: false }).then(function (s) {
      stream = s;
      video.hidden = false;
      video.srcObject = s;
      return video.play();
    }).then(function () {
      say("Look at the camera and move your head slowly\u2026");
      var liveness = [];
      var step = pause(FRAME_GAP_MS);
      for (var i = 0; i < LIVENESS_FRAMES; i++) {
        step = step.then(function () { liveness.push(frame(video)); return pause(FRAME_GAP_MS); });
      }
      return step.then(function () { return { selfie: frame(video), liveness: liveness }; });
    }).then(function (shots) {
      stream.getTracks().forEach(function (t) { t.stop(); });
      video.hidden = true;
      return shots;
    }, function (err) {
      if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
      video.hidden = true;
      throw err;
    });
  }

  function poll() {
    return post("/selfie/status").then(function (r) {
      if (r.state === "authenticated") { return true; }
      if (r.state === "pending") {
        say("Checking your selfie\u2026 this can take a moment.");
        return pause(POLL_MS).then(poll);
      }
      if (r.state === "rejected") {
        var err = new Error("selfie not confirmed");
        err.userMessage = "Your selfie did not match this account. You can try again in good light, facing the camera.";
        throw err;
      }
      say("This confirmation has expired. Please sign in again.");
      return false;
    });
  }

  function selfie() {
    return capture().then(function (shots) {
      say("Sending your selfie\u2026");
      return post("/selfie/submit", shots);
    }).then(poll).then(finish);
  }

  // LoginID: the operator's page provides window.loginGuardLoginID(username),
  // which runs LoginID's DirectWeb authentication and resolves to its JWT.
  function loginid() {
    var hook = window.loginGuardLoginID;
    if (typeof hook !== "function") { return Promise.reject(new Error("no LoginID hook")); }
    return Promise.resolve(hook(root.getAttribute("data-user") || "")).then(function (jwt) {
      if (typeof jwt !== "string" || !jwt) { throw new Error("no LoginID token"); }
      return post("/loginid/finish", { jwt: jwt });
    }).then(function () { return finish(true); });
  }

  // LoginID registration (the enrolment page, under require_enrolment):
  // the guard first says whether this account may register, so nothing is
  // registered at LoginID that it would then refuse (a passkey of the
  // account confirms it when it has one); then the operator's page's
  // window.loginGuardLoginIDRegister(username) runs LoginID's DirectWeb
  // registration and resolves to its JWT, which the guard verifies and
  // records.
  function loginidRegister() {
    var hook = window.loginGuardLoginIDRegister;
    if (typeof hook !== "function") { return Promise.reject(new Error("no LoginID registration hook")); }
    return registerPost("/loginid/register/begin").catch(function (err) {
      if (err.code !== "enrol_confirm") { throw err; }
      say("This account already has a passkey. Confirm with it first\u2026");
      return assertion("/passkey/confirm/begin", "/passkey/confirm/finish").then(function () {
        return registerPost("/loginid/register/begin");
      });
    }).then(function () {
      say("Waiting for LoginID\u2026");
      return Promise.resolve().then(function () {
        return hook(root.getAttribute("data-user") || "");
      }).catch(function (err) {
        if (err && err.name === "InvalidStateError") { err.userMessage = LOGINID_ALREADY_ON_DEVICE; }
        throw err;
      });
    }).then(function (jwt) {
      if (typeof jwt !== "string" || !jwt) { throw new Error("no LoginID token"); }
      return registerPost("/loginid/register/finish", { jwt: jwt });
    }).then(function () {
      say("LoginID sign-in registered.");
      if (done) { window.location.assign(done); }
    });
  }

  // The guard's refusals of a LoginID registration share their codes with
  // a passkey's, and its messages for them speak of registering a passkey:
  // the page says them of LoginID. Other codes keep the guard's message
  // (enrol_loginid_registered, unavailable, denied: already right).
  var LOGINID_REFUSALS = {
    enrol_sign_in: "To register a LoginID sign-in, sign in to your account first and then come back to this page \u2014 or open the enrolment link you were sent.",
    enrol_sign_in_again: "A LoginID sign-in can only be registered shortly after signing in. Please sign in again, then come back to this page.",
    enrol_not_allowed: "For your security, a sign-in that needed an extra check (or is still waiting for one) can't be used to register a LoginID sign-in. Please ask the site's support team for an enrolment link.",
    enrol_confirm: "This account already has a passkey. To register a LoginID sign-in, confirm with one of your passkeys first. If you no longer have one, ask the site's support team for an enrolment link.",
    enrol_link_used: "Each enrolment link works only once. If you registered your LoginID sign-in with it, you're all set and can sign in. If you didn't, contact the site's support team right away.",
    step_up_failed: "LoginID's registration couldn't be checked, so it wasn't added to your account. Please contact the site's support team."
  };
  var LOGINID_ALREADY_ON_DEVICE = "This device already has a LoginID sign-in for this account. If you can't use it, contact the site's support team.";

  // registerPost posts to a LoginID registration endpoint, its refusals
  // worded for LoginID.
  function registerPost(path, body) {
    return post(path, body).catch(function (err) {
      if (err.code && Object.prototype.hasOwnProperty.call(LOGINID_REFUSALS, err.code)) {
        err.userMessage = LOGINID_REFUSALS[err.code];
      }
      throw err;
    });
  }

  function finish(ok) {
    if (!ok) { return; }
    say(operation ? "Confirmed. Finishing your request\u2026" : "Confirmed. Finishing sign-in\u2026");
    document.getElementById("login-guard-complete").submit();
  }

  function wire(el, run, waiting) {
    if (!el) { return; }
    el.addEventListener("click", function () {
      el.disabled = true;
      say(waiting);
      run().catch(function (err) {
        say(explain(err));
        el.disabled = false;
      });
    });
  }

  var methods = (root.getAttribute("data-methods") || "passkey").split(" ");
  function offers(m) { return methods.indexOf(m) >= 0; }

  if (offers("selfie")) {
    var selfieButton = document.getElementById("login-guard-selfie-start");
    if (selfieButton && !(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)) {
      selfieButton.disabled = true;
    } else {
      wire(selfieButton, selfie, "Starting the camera\u2026");
    }
  }
  if (offers("loginid")) {
    wire(document.getElementById("login-guard-loginid"), mode === "enroll" ? loginidRegister : loginid, "Waiting for LoginID\u2026");
  }
  if (!button || !offers("passkey")) { return; }
  if (!window.PublicKeyCredential || !navigator.credentials) {
    say("This browser does not support passkeys.");
    button.disabled = true;
    return;
  }
  wire(button, mode === "enroll" ? enroll : login, "Waiting for your passkey\u2026");
}());
