// The case list (/ui/cases): keeps the 30-second reload of the rows from
// wiping out a selection for a bulk merge, counts the selection, and after
// a merge clears it and reloads the rows. Bound from the page's ids; no
// inline script (the CSP forbids it).
"use strict";
(function () {
  function selected() {
    return document.querySelectorAll('#case-rows input[name="ids"]:checked');
  }

  function showCount() {
    var out = document.getElementById("merge-count");
    if (!out) return;
    var n = selected().length;
    out.textContent = n === 0 ? "" : n === 1 ? "1 case selected" : n + " cases selected";
  }

  // The rows reload themselves (hx-trigger "every 30s" on #case-rows):
  // not while cases are selected, or the selection would be lost.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.id === "case-rows" && selected().length > 0) {
      event.preventDefault();
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches('#case-rows input[name="ids"]')) {
      showCount();
    }
  });

  // The server answers a merge that moved something with HX-Trigger:
  // cases-merged.
  document.addEventListener("cases-merged", function () {
    selected().forEach(function (box) { box.checked = false; });
    showCount();
    var rows = document.getElementById("case-rows");
    if (rows && window.htmx) window.htmx.trigger(rows, "cases-refresh");
  });
})();
