// The try-out chat: post what the person types or presses, poll for the recorded replies. Everything a
// person or the bot wrote is put in the page as text (textContent), never as HTML.
(function () {
  "use strict";
  var list = document.getElementById("try-messages");
  var quick = document.getElementById("try-quick");
  var form = document.getElementById("try-form");
  var input = document.getElementById("try-text");
  var starters = JSON.parse(list.getAttribute("data-starters") || "[]");
  var shown = 0;
  var greeted = false;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }
  function post(body) {
    return fetch("/try/messages", { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }).then(refresh);
  }
  function press(q) { post(q.data ? { postback: q.data, text: q.text } : { text: q.text }); }
  function showQuick(options) {
    quick.textContent = "";
    options.forEach(function (q) {
      var button = el("button", "", q.label);
      button.type = "button";
      button.addEventListener("click", function () { press(q); });
      quick.appendChild(button);
    });
  }
  function card(c) {
    var box = el("div", "card");
    box.appendChild(el("h3", "", c.name));
    box.appendChild(el("p", "kind", c.kind));
    var rows = el("dl");
    c.rows.forEach(function (row) {
      rows.appendChild(el("dt", "", row[0]));
      rows.appendChild(el("dd", row[0] === "空き" && c.full ? "full" : "", row[1]));
    });
    box.appendChild(rows);
    var actions = el("div", "actions");
    if (c.sample) {
      var sample = el("button", "primary", "📞 電話する（サンプル）");
      sample.type = "button";
      sample.addEventListener("click", function () { press({ data: "action=sample", text: "電話する" }); });
      actions.appendChild(sample);
    } else if (c.dial) {
      var tel = el("a", "primary", "📞 電話する");
      tel.href = "tel:" + c.dial;
      actions.appendChild(tel);
    }
    if (c.latitude !== null && c.longitude !== null) {
      var map = el("a", "", "🗺 地図で見る");
      map.href = "https://www.google.com/maps/search/?api=1&query=" + Number(c.latitude) + "," + Number(c.longitude);
      map.target = "_blank";
      map.rel = "noopener";
      actions.appendChild(map);
    }
    box.appendChild(actions);
    return box;
  }
  function bubble(m) {
    var d = m.display || {};
    var cards = d.cards || [];
    var item = el("li", "bubble" + (m.mine ? " mine" : "") + (m.who === "スタッフ" ? " staff" : "") + (d.urgent ? " urgent" : ""));
    if (!m.mine) { item.appendChild(el("span", "who", m.who)); }
    item.appendChild(el("span", "text", cards.length ? (d.summary || m.text) : m.text));
    if (d.call) {
      var call = el("a", "call", "📞 " + d.call + "に電話する");
      call.href = "tel:" + d.call.replace(/[^0-9]/g, "");
      item.appendChild(call);
    }
    list.appendChild(item);
    if (cards.length) {
      var row = el("li", "cards");
      cards.forEach(function (c) { row.appendChild(card(c)); });
      list.appendChild(row);
    }
  }
  function refresh() {
    return fetch("/try/messages", { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (data) {
        if (!data.messages.length && !greeted) {
          greeted = true;  // the greeting as on LINE when one first adds the account
          bubble({ who: "ボット", text: list.getAttribute("data-greeting"), mine: false });
          showQuick(starters);
          return;
        }
        if (data.messages.length <= shown) { return; }  // nothing new (or a late answer to an older poll)
        data.messages.slice(shown).forEach(bubble);
        window.scrollTo(0, document.body.scrollHeight);
        shown = data.messages.length;
        if (shown) { showQuick(data.quick_replies); }
      }).catch(function () { /* try again at the next tick */ });
  }
  function send() {
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    post({ text: text });
  }
  form.addEventListener("submit", function (event) { event.preventDefault(); send(); });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); send(); }
  });
  window.setInterval(refresh, 1500);
  refresh();
})();
