// Pattern 3: back from the app. The result handle is in the URL fragment, which no server
// ever sees; post it with this browser's cookie. Only the browser that started the
// procedure gets the result; another one is told what to do.
(function () {
  "use strict";
  var status = document.getElementById("return-status");
  var help = document.getElementById("return-help");
  var handle = window.location.hash.replace(/^#/, "");
  // Drop the handle from the address bar and history.
  history.replaceState(null, "", window.location.pathname + window.location.search);
  var lang = /[?&]lang=en/.test(window.location.search) ? "en" : "ja";
  fetch("/return" + window.location.search, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Accept": "application/json" },
    credentials: "same-origin",
    body: JSON.stringify({ result_handle: handle })
  }).then(function (r) {
    return r.json().then(function (body) { return { ok: r.ok, body: body }; });
  }).then(function (res) {
    if (res.ok && res.body.next) { window.location.replace(res.body.next); return; }
    var e = res.body.error || {};
    status.textContent = (e.message && e.message[lang]) || "Error";
    status.className = "status bad";
    status.setAttribute("data-code", e.code || "");
    if (e.code === "other_browser") { help.hidden = false; help.textContent = status.textContent; }
  }).catch(function () {
    status.textContent = lang === "en" ? "The server could not be reached." : "サーバーに接続できませんでした。";
    status.className = "status bad";
  });
})();
