// pamdp_bench site: sortable tables (tablesort) and learning-curve charts (uPlot) from the JSON
// the page carries; no network, works from file://.
(function () {
  "use strict";
  var PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
                 "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#843c39", "#7b4173"];

  function rgba(hex, alpha) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + alpha + ")";
  }

  function sortTables() {
    document.querySelectorAll("table.sortable").forEach(function (t) { new Tablesort(t); });
  }

  // One chart: every agent's mean line plus a translucent band between its lo and hi series.
  // The agents' x grids differ, so the tables are aligned with uPlot.join (gaps are spanned).
  function drawChart(el, spec) {
    var tables = [], series = [{label: spec.xlabel}], bands = [];
    spec.series.forEach(function (s, i) {
      tables.push([s.x, s.mean, s.lo, s.hi]);
      var color = PALETTE[i % PALETTE.length], base = 1 + 3 * i;
      series.push({label: s.label, stroke: color, width: 2, spanGaps: true,
                   value: function (u, v) { return v == null ? "-" : v.toPrecision(4); }});
      series.push({label: s.label + " lo", stroke: rgba(color, 0.25), width: 0, spanGaps: true,
                   class: "band-edge"});
      series.push({label: s.label + " hi", stroke: rgba(color, 0.25), width: 0, spanGaps: true,
                   class: "band-edge"});
      bands.push({series: [base + 2, base + 1], fill: rgba(color, 0.15)});
    });
    var data = uPlot.join(tables);
    var width = Math.max(320, Math.min(el.clientWidth || 900, 1100));
    var opts = {
      width: width, height: 320, series: series, bands: bands,
      scales: {x: {time: false}},
      axes: [{label: spec.xlabel, values: function (u, ticks) {
                return ticks.map(function (v) { return v >= 1000 ? (v / 1000) + "k" : v; });
              }},
             {label: spec.ylabel}],
      legend: {live: true},
      // hiding an agent in the legend hides its band too (the band edges are series 2, 3 of 3)
      hooks: {setSeries: [function (u, idx, o) {
        if (idx && idx % 3 === 1 && o && "show" in o) {
          u.setSeries(idx + 1, {show: o.show});
          u.setSeries(idx + 2, {show: o.show});
        }
      }]},
    };
    el.chart = new uPlot(opts, data, el);
  }

  function drawCharts() {
    var holder = document.getElementById("chart-data");
    if (!holder) { return; }
    var specs = JSON.parse(holder.textContent);
    document.querySelectorAll("div.chart[data-chart]").forEach(function (el) {
      drawChart(el, specs[Number(el.getAttribute("data-chart"))]);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    sortTables();
    drawCharts();
    document.body.setAttribute("data-ready", "1");
  });
})();
