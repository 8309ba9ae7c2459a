// The try-out chat: post what the person types, poll for the recorded replies. Text only via textContent.
(function () {
  "use strict";
  var list = document.getElementById("try-messages");
  var quick = document.getElementById("try-quick");
  var form = document.getElementById("try-form");
  var input = document.getElementById("try-text");
  var shown = 0;
  function post(body) {
    return fetch("/try/messages", { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }).then(refresh);
  }
  function refresh() {
    return fetch("/try/messages", { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (data) {
        data.messages.slice(shown).forEach(function (m) {
          var item = document.createElement("li");
          item.className = "msg " + (m.mine ? "in" : "out");
          var who = document.createElement("span");
          who.className = "who";
          who.textContent = m.who;
          var text = document.createElement("div");
          text.className = "text";
          text.textContent = m.text;
          item.appendChild(who);
          item.appendChild(text);
          list.appendChild(item);
        });
        shown = data.messages.length;
        quick.textContent = "";
        data.quick_replies.forEach(function (q) {
          var button = document.createElement("button");
          button.type = "button";
          button.textContent = q.label;
          button.addEventListener("click", function () { post(q.data ? { postback: q.data, text: q.text } : { text: q.text }); });
          quick.appendChild(button);
        });
      }).catch(function () { /* try again at the next tick */ });
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    post({ text: text });
  });
  window.setInterval(refresh, 1500);
  refresh();
})();
