// The "app needed" page: an app link opened in a browser because no app claimed it. The
// demo's command needs this very address (its fragment holds the handle, which no server
// sees); the back button returns to the procedure page that opened the link.
(function () {
  "use strict";
  var here = document.getElementById("this-address");
  if (here) { here.textContent = window.location.href; }
  var back = document.getElementById("go-back");
  if (back) {
    back.addEventListener("click", function () { window.history.back(); });
  }
})();
