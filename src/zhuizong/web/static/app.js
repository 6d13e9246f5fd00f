// zhuizong: small glue. No inline scripts (CSP script-src 'self').
(function () {
  "use strict";
  function csrf() { var m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ""; }
  // HTMX: send the CSRF token with every request it makes
  document.addEventListener("htmx:configRequest", function (e) { e.detail.headers["X-CSRF-Token"] = csrf(); });
  // Charts: <div class="chart" data-option='{...ECharts option JSON...}'>
  var charts = [];
  function initCharts(root) {
    if (!window.echarts) { return; }
    (root || document).querySelectorAll(".chart[data-option]").forEach(function (el) {
      if (el.dataset.ready) { return; }
      el.dataset.ready = "1";
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(JSON.parse(el.dataset.option));
      var link = el.dataset.link;  // drill-down: data-link="/dashboard?org={name}"
      if (link) {
        chart.on("click", function (p) {
          var code = (p.data && p.data.code) || p.name;
          window.location.href = link.replace("{code}", encodeURIComponent(code));
        });
      }
      charts.push(chart);
    });
  }
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  document.addEventListener("DOMContentLoaded", function () {
    initCharts(document);
    var here = location.pathname.split("/")[1];
    document.querySelectorAll(".nav a[data-nav]").forEach(function (a) {
      if (a.dataset.nav === here) { a.classList.add("active"); }
    });
  });
  document.addEventListener("htmx:afterSwap", function (e) { initCharts(e.target); });
  // confirmation for buttons with data-confirm
  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-confirm]");
    if (b && !window.confirm(b.dataset.confirm)) { e.preventDefault(); }
  });
})();
