// zhuizong tools: progressive enhancement (the pages work without it). No inline scripts (CSP).
(function () {
  "use strict";
  // Attendance: "全部出席" marks every agent of the group present on the spot (without JavaScript
  // the button posts the sheet back with the group filled in, saving nothing).
  document.addEventListener("click", function (e) {
    var b = e.target.closest("button[data-fill]");
    if (!b) { return; }
    var group = b.closest("[data-group]");
    if (!group) { return; }
    e.preventDefault();
    group.querySelectorAll('input[type="radio"][value="present"]').forEach(function (r) { r.checked = true; });
  });
  // Imports: show the server's answer for a refused upload too (413 too large, 400 rejected):
  // htmx does not swap error responses by default.
  document.addEventListener("htmx:beforeSwap", function (e) {
    // the element that made the request (detail.elt is the swap target in htmx 2)
    var elt = (e.detail.requestConfig && e.detail.requestConfig.elt) || e.detail.elt;
    if (elt && elt.closest && elt.closest("[data-swap-errors]") && e.detail.xhr.status >= 400 && e.detail.xhr.status < 500) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });
})();
