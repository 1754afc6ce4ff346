// Live status of a verification session (Server-Sent Events). The page says what is
// happening and what to do next; when the card was verified it moves on by itself.
(function () {
  "use strict";
  var root = document.getElementById("live");
  if (!root) { return; }
  var messages = JSON.parse(root.getAttribute("data-messages"));
  var statusEl = document.getElementById("status");
  var next = root.getAttribute("data-next");
  var expires = parseInt(root.getAttribute("data-expires"), 10);
  var countdown = document.getElementById("countdown");

  function show(key, cls, extra) {
    var text = messages[key] || messages.unknown;
    if (extra !== undefined) { text = text.replace("{n}", String(extra)); }
    statusEl.textContent = text;
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

  var source = new EventSource(root.getAttribute("data-events"));
  source.onmessage = function (e) {
    var ev = JSON.parse(e.data);
    switch (ev.state) {
      case "waiting": show("waiting"); break;
      case "reading": show("reading"); break;
      case "reader":
        if (ev.status === "pin_wrong") { show("pin_wrong", "bad", ev.tries_left); }
        else { show(ev.status, ev.status === "reading" ? "" : "bad"); }
        break;
      case "verified":
        show("verified", "ok");
        source.close();
        window.location.assign(next);
        break;
      case "failed": show("failed_" + ev.code, "bad"); source.close(); break;
      case "expired": show("expired", "bad"); source.close(); break;
    }
  };
  var launch = document.getElementById("launch");
  if (launch && launch.getAttribute("data-auto") === "1") {
    // Try to open the reader app once without leaving this page (a hidden frame); the
    // button and the fallback command stay on the page if nothing handles mynaid://.
    var frame = document.createElement("iframe");
    frame.hidden = true;
    frame.src = launch.getAttribute("href");
    document.body.appendChild(frame);
  }
})();
