// A conversation: the newest message at the bottom, next to the reply box, in view.
(function () {
  "use strict";
  var messages = document.getElementById("messages");
  if (messages) { messages.scrollTop = messages.scrollHeight; }
})();

// The live queue: re-fetch the table body every few seconds (no framework, no external code).
(function () {
  "use strict";
  var body = document.getElementById("queue-rows");
  if (!body) { return; }
  function refresh() {
    fetch(body.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 401) { window.location = "/admin/login"; return null; }
        return response.ok ? response.text() : null;
      })
      .then(function (html) { if (html !== null) { body.innerHTML = html; } })
      .catch(function () { /* offline for a moment: try again at the next tick */ });
  }
  window.setInterval(refresh, 5000);
})();
