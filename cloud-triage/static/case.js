// The case page's charts: every <figure class="chart"> carries one signal
// of a report's telemetry in data attributes (data-t: Unix ms, data-v:
// values, data-trigger-ms: the moment the driver triggered the capture),
// drawn here with uPlot, time in seconds from the trigger, the trigger
// marked by a vertical line. No inline script: the CSP forbids it.
"use strict";

(function () {
  const TRIGGER_COLOUR = "#b3261e";
  const LINE_COLOUR = "#1f5fbf";

  function numbers(text) {
    return (text || "").split(",").filter((s) => s !== "").map(Number);
  }

  // uPlot draw hook: a dashed vertical line at x = 0 (the trigger).
  function markTrigger(u) {
    const x = Math.round(u.valToPos(0, "x", true));
    const { left, top, width, height } = u.bbox;
    if (x < left || x > left + width) return;
    const ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = TRIGGER_COLOUR;
    ctx.lineWidth = 2 * (window.devicePixelRatio || 1);
    ctx.setLineDash([6, 4]);
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    ctx.restore();
  }

  // The charts stack one per row: each is as wide as their container.
  function widthOf(fig) {
    const box = fig.closest(".charts") || fig.parentElement;
    const w = (box && box.clientWidth) || 600;
    return Math.max(220, Math.min(w - 4, 900));
  }

  function draw(fig) {
    if (fig.dataset.drawn === "true" || typeof uPlot === "undefined") return;
    const t = numbers(fig.dataset.t);
    const v = numbers(fig.dataset.v);
    const trigger = Number(fig.dataset.triggerMs);
    if (t.length === 0 || t.length !== v.length || !Number.isFinite(trigger)) return;
    const x = t.map((ms) => (ms - trigger) / 1000);
    const unit = fig.dataset.unit || "";
    const name = fig.dataset.signal + (unit ? " (" + unit + ")" : "");
    const target = fig.querySelector(".chart-plot") || fig;
    const opts = {
      width: widthOf(fig),
      height: 170,
      legend: { show: false },
      scales: {
        x: {
          time: false,
          // Always show the trigger, even when the window ends at it.
          range: (u, min, max) => [Math.min(min, 0) - 0.5, Math.max(max, 0) + 0.5],
        },
      },
      axes: [{ label: "seconds from the trigger" }, { label: unit }],
      series: [{ label: "s" }, { label: name, stroke: LINE_COLOUR, width: 2 }],
      hooks: { draw: [markTrigger] },
    };
    fig.uplot = new uPlot(opts, [x, v], target);
    fig.dataset.drawn = "true";
  }

  function drawAll(root) {
    (root || document).querySelectorAll("figure.chart").forEach(draw);
  }

  function resizeAll() {
    document.querySelectorAll("figure.chart").forEach((fig) => {
      if (fig.uplot) fig.uplot.setSize({ width: widthOf(fig), height: 170 });
    });
  }

  drawAll(document);
  // Reports loaded later, and a body swapped after an action, draw too.
  document.addEventListener("htmx:load", (e) => drawAll(e.detail && e.detail.elt));
  let pending = 0;
  window.addEventListener("resize", () => {
    clearTimeout(pending);
    pending = setTimeout(resizeAll, 150);
  });
})();
