// The dashboard's charts: each <figure class="chart" data-chart> holds its
// series in data attributes (bucket starts in Unix seconds, p50 and p90 in
// hours, comma-separated, empty where nothing was measured) and is drawn
// with uPlot. The same numbers are in the table below the charts, so the
// page reads without this script. No inline script: the CSP forbids it.
"use strict";

(function () {
  function numbers(text) {
    if (!text) return [];
    return text.split(",").map(function (v) {
      return v === "" ? null : Number(v);
    });
  }

  function size(figure) {
    var width = Math.max(240, Math.floor(figure.clientWidth || 320));
    return { width: width, height: width < 500 ? 200 : 240 };
  }

  function draw(figure) {
    if (figure.dataset.drawn || typeof uPlot === "undefined") return;
    var x = numbers(figure.dataset.x);
    if (x.length === 0) return;
    var data = [x, numbers(figure.dataset.p50), numbers(figure.dataset.p90)];
    var dims = size(figure);
    var plot = new uPlot({
      title: figure.dataset.title,
      width: dims.width,
      height: dims.height,
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(1, max || 1)]; } } },
      series: [
        {},
        { label: "p50 (h)", stroke: "#1f5fbf", width: 2, spanGaps: true, points: { show: true } },
        { label: "p90 (h)", stroke: "#b3261e", width: 2, dash: [6, 4], spanGaps: true, points: { show: true } }
      ],
      axes: [{}, { label: "hours" }]
    }, data, figure);
    figure.dataset.drawn = "true";
    figure.classList.add("drawn");
    var resize = function () {
      var d = size(figure);
      plot.setSize(d);
    };
    if (typeof ResizeObserver !== "undefined") {
      var last = dims.width;
      new ResizeObserver(function () {
        var d = size(figure);
        if (d.width !== last) { last = d.width; resize(); }
      }).observe(figure);
    } else {
      window.addEventListener("resize", resize);
    }
  }

  function drawAll(root) {
    (root || document).querySelectorAll("figure.chart[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  // htmx swaps the dashboard when the period changes.
  document.addEventListener("htmx:afterSettle", function (e) { drawAll(e.target); });
})();
