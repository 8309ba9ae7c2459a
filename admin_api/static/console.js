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

// The live queue: the server pushes a `queue` event whenever the queue changes (server-sent events);
// the table body is fetched again with this page's filters, the tabs' counts updated, and a new
// emergency (or a duty page for me) shown at the top, with a sound and a browser notification once
// allowed. While the stream is down, the table is fetched every 5 seconds instead.
(function () {
  "use strict";
  var body = document.getElementById("queue-rows");
  if (!body) { return; }
  var me = document.body.getAttribute("data-staff");
  var state = document.getElementById("live-state");
  var alerts = document.getElementById("alerts");
  var enable = document.getElementById("enable-alerts");
  var audio = null;
  var polling = null;

  var asked = 0;
  function refresh() {
    var mine = ++asked;  // answers can come back out of order: only the latest one is shown
    fetch(body.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 401) { window.location = "/admin/login"; return null; }
        return response.ok ? response.text() : null;
      })
      .then(function (html) { if (html !== null && mine === asked) { body.innerHTML = html; } })
      .catch(function () { /* offline for a moment: try again at the next change or tick */ });
  }
  function poll(on) {
    if (on && !polling) { polling = window.setInterval(refresh, 5000); }
    if (!on && polling) { window.clearInterval(polling); polling = null; }
  }
  function ring() {
    if (!audio) { return; }
    var tone = audio.createOscillator();
    var gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.value = 0.2;
    tone.connect(gain).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.6);
  }
  function alarm(title, text, id) {
    var line = document.createElement("p");
    line.className = "alert-emergency";
    var link = document.createElement("a");
    link.href = "/admin/conversations/" + id;
    link.textContent = title + " " + text;  // text, never HTML: it holds what a resident wrote
    line.appendChild(link);
    alerts.insertBefore(line, alerts.firstChild);
    ring();
    if (window.Notification && Notification.permission === "granted") {
      new Notification(title, { body: text, tag: "zd-" + id });
    }
  }
  function counts(byStatus) {
    Array.prototype.forEach.call(document.querySelectorAll(".count[data-tab]"), function (badge) {
      badge.textContent = byStatus[badge.getAttribute("data-tab")] || 0;
    });
  }
  if (enable) {
    enable.hidden = false;
    enable.addEventListener("click", function () {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (Context && !audio) { audio = new Context(); }
      if (window.Notification && Notification.permission === "default") { Notification.requestPermission(); }
      enable.textContent = "音と通知: オン";
      enable.disabled = true;
    });
  }
  if (!window.EventSource) { poll(true); return; }
  var source = new EventSource("/admin/queue/events");
  source.addEventListener("open", function () {
    poll(false);
    state.textContent = "新しい相談はすぐに表示されます（リアルタイム更新中）。";
  });
  source.addEventListener("error", function () {
    poll(true);
    state.textContent = "接続が切れたため、5秒ごとに更新しています。";
  });
  source.addEventListener("queue", function (message) {
    var change = JSON.parse(message.data);
    counts(change.counts);
    refresh();
    change.arrived.forEach(function (c) {
      if (c.urgency === "emergency") {
        alarm("🚑 緊急の相談 #" + c.id, c.contact_name + ": " + (c.preview || ""), c.id);
      }
    });
    change.paged.forEach(function (p) {
      if (String(p.staff_id) === me) {
        alarm("📟 当番の呼び出し #" + p.id, p.urgency === "emergency" ? "緊急の可能性があります" : "引き継ぎの相談です", p.id);
      }
    });
  });
})();
