// roomwatch console: counts SLA clocks down between page loads. Nothing else needs a script.
(function () {
  var start = Date.now() / 1000, now0 = Number(document.body.dataset.now || start);
  var overdue = document.body.dataset.overdue || "overdue";
  function fmt(s) {
    s = Math.abs(Math.round(s));
    if (s >= 3600) return Math.floor(s / 3600) + "h " + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + "m";
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }
  function tick() {
    var now = now0 + (Date.now() / 1000 - start);
    document.querySelectorAll(".sla[data-due]").forEach(function (el) {
      var left = Number(el.dataset.due) - now, b = el.querySelector("b");
      if (b) b.textContent = (left < 0 ? overdue + " " : "") + fmt(left);
      if (left < 0) el.classList.add("breached");
    });
  }
  setInterval(tick, 1000);
})();
