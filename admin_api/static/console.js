// A conversation: the newest message at the bottom, next to the reply box, in view.
(function () {
  "use strict";
  var messages = document.getElementById("messages");
  if (messages) { messages.scrollTop = messages.scrollHeight; }
})();

// Canned replies (定型文): "/code" and a space in the reply box, or a pick from the list, puts the text
// filled for this conversation in the box, to read and change before sending.
(function () {
  "use strict";
  var data = document.getElementById("canned-data");
  var box = document.getElementById("reply");
  if (!data || !box) { return; }
  var byCode = {};
  JSON.parse(data.textContent).forEach(function (c) { byCode[c.code] = c.text; });
  box.addEventListener("input", function () {
    var typed = /^\/(\S+)\s$/.exec(box.value);
    if (typed && Object.prototype.hasOwnProperty.call(byCode, typed[1])) { box.value = byCode[typed[1]]; }
  });
  var pick = document.getElementById("use");
  pick.form.addEventListener("submit", function (event) {
    event.preventDefault();
    box.value = byCode[pick.value];
    box.focus();
  });
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
