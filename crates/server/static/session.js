// Live status of a verification session (Server-Sent Events). The page says what is
// happening and what to do next; when the card was verified (and, for the smartphone
// patterns, confirmed with the code the phone shows) it moves on by itself. The time left
// counts down; the person is told a minute before the end and can extend it (WCAG 2.2.1):
// the new time is said in a live region. After a failure the page shows the next step:
// "read again" when the session allows another attempt, else the way back to the service.
(function () {
  "use strict";
  var root = document.getElementById("live");
  if (!root) { return; }
  var messages = JSON.parse(root.getAttribute("data-messages"));
  var statusEl = document.getElementById("status");
  var next = root.getAttribute("data-next");
  var expires = parseInt(root.getAttribute("data-expires"), 10);
  // The session's longest life: after it, no new reading can start.
  var until = parseInt(root.getAttribute("data-until"), 10);
  // The failures after which "read again" starts another attempt in this session.
  var retry = (root.getAttribute("data-retry") || "").split(" ");
  var countdown = document.getElementById("countdown");
  var timeBox = document.getElementById("time");
  var timeNote = document.getElementById("time-note");
  var extendForm = document.getElementById("extend-form");
  var extendLeft = document.getElementById("extend-left");
  var againForm = document.getElementById("again-form");
  var wayBack = document.getElementById("way-back");
  var confirmBox = document.getElementById("confirm");
  var confirmForm = document.getElementById("confirm-form");
  var confirmError = document.getElementById("confirm-error");
  var lang = document.documentElement.lang === "en" ? "en" : "ja";
  var warned = false;
  // Whether the card was read: then no new reading starts in this session.
  var read = false;

  function now() { return Math.floor(Date.now() / 1000); }

  function clock(secs) {
    var left = Math.max(0, secs);
    return Math.floor(left / 60) + ":" + ("0" + (left % 60)).slice(-2);
  }

  function text(key, n, pin) {
    var t = messages[key] || messages.unknown;
    t = t.replace("{pin}", messages["pin_" + (pin || "")] || messages.pin_);
    t = t.replace("{unlock}", messages["unlock_" + (pin || "")] || messages.unlock_);
    t = t.replace("{time}", clock(expires - now()));
    return n === undefined || n === null ? t : t.replace("{n}", String(n));
  }

  function show(key, cls, n, pin) {
    statusEl.textContent = text(key, n, pin);
    statusEl.className = "status" + (cls ? " " + cls : "");
    statusEl.setAttribute("data-state", key);
  }

  function tick() {
    if (!countdown || !expires) { return; }
    var left = expires - now();
    countdown.textContent = clock(left);
    // A minute before the end, once per time limit: say so, and how to get more time.
    if (!warned && left <= 60 && left > 0 && timeNote) {
      warned = true;
      timeNote.textContent = text(extendForm && !extendForm.hidden ? "time_warning" : "time_warning_final");
    }
  }
  tick();
  setInterval(tick, 1000);

  // The next step once nothing more happens here: "read again" while a new reading can
  // start (`canRetry`), else the way back to the service. The time left no longer counts.
  function ended(canRetry) {
    if (timeBox) { timeBox.hidden = true; }
    if (confirmBox) { confirmBox.hidden = true; }
    if (againForm) { againForm.hidden = !canRetry; }
    if (wayBack) { wayBack.hidden = canRetry; }
  }
  function beforeUntil() { return !until || now() <= until; }

  // More time: the form posts with the script and the answer is said in the live region.
  if (extendForm) {
    extendForm.addEventListener("submit", function (e) {
      e.preventDefault();
      fetch(extendForm.getAttribute("action"), {
        method: "POST",
        headers: { "Accept": "application/json" },
        credentials: "same-origin",
        body: new URLSearchParams(new FormData(extendForm))
      }).then(function (r) {
        return r.json().then(function (b) { return { ok: r.ok, body: b }; });
      }).then(function (res) {
        if (res.ok) {
          expires = res.body.expires_at;
          warned = false;
          tick();
          var left = res.body.extensions_left;
          timeNote.textContent = text(left > 0 ? "extended" : "extended_last");
          if (left > 0) {
            if (extendLeft) {
              extendLeft.textContent = (left === 1 && messages.extend_left_one ? messages.extend_left_one : messages.extend_left).replace("{n}", String(left));
            }
          } else {
            // Nothing more to press: the note, which says so, keeps the focus.
            extendForm.hidden = true;
            timeNote.setAttribute("tabindex", "-1");
            timeNote.focus();
          }
          return;
        }
        var err = res.body.error || {};
        timeNote.textContent = (err.message && err.message[lang]) || "Error";
        if (err.code === "no_more_time") { extendForm.hidden = true; }
      }).catch(function () {
        timeNote.textContent = lang === "en" ? "The server could not be reached. Try again." : "サーバーに接続できませんでした。もう一度お試しください。";
      });
    });
  }

  var source = null;
  function onEvent(e) {
    var ev = JSON.parse(e.data);
    switch (ev.state) {
      case "waiting": show("waiting"); break;
      case "reading": show("reading"); break;
      case "reader":
        if (ev.status === "pin_wrong") {
          if (ev.tries_left === undefined || ev.tries_left === null) { show("pin_wrong_again", "bad", null, ev.pin); }
          else { show("pin_wrong", "bad", ev.tries_left, ev.pin); }
        }
        else { show(ev.status, ev.status === "reading" ? "" : "bad", null, ev.pin); }
        break;
      case "confirm_needed":
        show("confirm_needed");
        read = true;
        // The code's own time limit runs now.
        if (ev.expires_at) { expires = ev.expires_at; warned = false; tick(); }
        if (againForm) { againForm.hidden = true; }
        if (confirmBox) { confirmBox.hidden = false; document.getElementById("confirm-code").focus(); }
        break;
      case "verified":
        show("verified", "ok");
        source.close();
        window.location.assign(next);
        break;
      case "failed":
        show("failed_" + ev.code, "bad");
        source.close();
        ended(retry.indexOf(ev.code) >= 0 && beforeUntil());
        break;
      case "expired":
        show(beforeUntil() && !read ? "expired" : "expired_final", "bad");
        source.close();
        ended(beforeUntil() && !read);
        break;
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
