// roomwatch wall screen: count the SLA clocks down every second, and fetch a fresh board
// every data-refresh seconds. When roomwatch does not answer, keep the last board and say so
// (a wall screen must never end on a browser error page).
(function () {
  "use strict";
  var body = document.body;
  var refresh = Math.max(2, Number(body.dataset.refresh) || 10) * 1000;
  var serverNow = Number(body.dataset.now);
  var loadedAt = Date.now() / 1000;
  var lost = document.getElementById("lost");
  var lostPrefix = lost.textContent.replace(/\s*\S+$/, "");

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function remaining(seconds) {
    var s = Math.floor(Math.abs(seconds));
    if (s >= 3600) { return Math.floor(s / 3600) + "h " + pad(Math.floor((s % 3600) / 60)) + "m"; }
    return Math.floor(s / 60) + ":" + pad(s % 60);
  }
  function tick() {
    var now = serverNow + (Date.now() / 1000 - loadedAt);
    var clocks = document.querySelectorAll(".sla[data-due]");
    for (var i = 0; i < clocks.length; i++) {
      var left = Number(clocks[i].dataset.due) - now;
      var b = clocks[i].querySelector(".left");
      if (!b) { continue; }
      b.textContent = left < 0 ? body.dataset.overdue + " " + remaining(left) : remaining(left);
      if (left < 0) { clocks[i].classList.add("sla-breached"); }
    }
  }
  function reload() {
    fetch(window.location.href, { cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, "text/html");
        var main = doc.getElementById("main");
        if (!main) { throw new Error("not a board"); }
        document.getElementById("main").innerHTML = main.innerHTML;
        document.querySelector("header .counts").innerHTML = doc.querySelector("header .counts").innerHTML;
        document.getElementById("updated").textContent = doc.getElementById("updated").textContent;
        serverNow = Number(doc.body.dataset.now);
        loadedAt = Date.now() / 1000;
        lost.hidden = true;
        tick();
      })
      .catch(function () {
        lost.textContent = lostPrefix + " " + document.getElementById("updated").textContent;
        lost.hidden = false;
      })
      .finally(function () { window.setTimeout(reload, refresh); });
  }
  tick();
  window.setInterval(tick, 1000);
  window.setTimeout(reload, refresh);
})();
