// Live status of a verification session (Server-Sent Events). The page says what is
// happening and what to do next; when the card was verified (and, for the smartphone
// patterns, confirmed with the code the phone shows) it moves on by itself.
(function () {
  "use strict";
  var root = document.getElementById("live");
  if (!root) { return; }
  var messages = JSON.parse(root.getAttribute("data-messages"));
  var statusEl = document.getElementById("status");
  var next = root.getAttribute("data-next");
  var expires = parseInt(root.getAttribute("data-expires"), 10);
  var countdown = document.getElementById("countdown");
  var confirmBox = document.getElementById("confirm");
  var confirmForm = document.getElementById("confirm-form");
  var confirmError = document.getElementById("confirm-error");
  var lang = document.documentElement.lang === "en" ? "en" : "ja";

  function text(key, n, pin) {
    var t = messages[key] || messages.unknown;
    t = t.replace("{pin}", messages["pin_" + (pin || "")] || messages.pin_);
    return n === undefined || n === null ? t : t.replace("{n}", String(n));
  }

  function show(key, cls, n, pin) {
    statusEl.textContent = text(key, n, pin);
    statusEl.className = "status" + (cls ? " " + cls : "");
    statusEl.setAttribute("data-state", key);
  }

  function tick() {
    if (!countdown || !expires) { return; }
    var left = Math.max(0, expires - Math.floor(Date.now() / 1000));
    countdown.textContent = Math.floor(left / 60) + ":" + ("0" + (left % 60)).slice(-2);
  }
  tick();
  setInterval(tick, 1000);

  var source = null;
  function onEvent(e) {
    var ev = JSON.parse(e.data);
    switch (ev.state) {
      case "waiting": show("waiting"); break;
      case "reading": show("reading"); break;
      case "reader":
        if (ev.status === "pin_wrong") { show("pin_wrong", "bad", ev.tries_left, ev.pin); }
        else { show(ev.status, ev.status === "reading" ? "" : "bad", null, ev.pin); }
        break;
      case "confirm_needed":
        show("confirm_needed");
        if (confirmBox) { confirmBox.hidden = false; document.getElementById("confirm-code").focus(); }
        break;
      case "verified":
        show("verified", "ok");
        source.close();
        window.location.assign(next);
        break;
      case "failed": show("failed_" + ev.code, "bad"); source.close(); if (confirmBox) { confirmBox.hidden = true; } break;
      case "expired": show("expired", "bad"); source.close(); break;
      // The server is stopping (a restart, a deployment): listen again after a pause,
      // spread so that every page does not come back in the same second. The status
      // shown stays; the first event of the new stream is the session's state then.
      case "reconnect":
        source.close();
        setTimeout(listen, 2000 + Math.floor(Math.random() * 3000));
        break;
    }
  }
  function listen() {
    source = new EventSource(root.getAttribute("data-events"));
    source.onmessage = onEvent;
  }
  listen();

  if (confirmForm) {
    confirmForm.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = new URLSearchParams(new FormData(confirmForm));
      fetch(confirmForm.getAttribute("action"), {
        method: "POST",
        headers: { "Accept": "application/json" },
        credentials: "same-origin",
        body: body
      }).then(function (r) {
        return r.json().then(function (b) { return { ok: r.ok, body: b }; });
      }).then(function (res) {
        if (res.ok) { window.location.assign(res.body.next || next); return; }
        var err = res.body.error || {};
        confirmError.hidden = false;
        confirmError.textContent = (err.message && err.message[lang]) || "Error";
        confirmError.setAttribute("data-code", err.code || "");
      });
    });
  }
})();
