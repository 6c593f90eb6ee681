// Draws every chart of the page. Each element with data-option carries an
// ECharts option as JSON, written by the server; no inline script runs, as
// the pages' Content-Security-Policy requires.
(function () {
  'use strict';
  var charts = [];
  document.querySelectorAll('[data-option]').forEach(function (el) {
    var chart = echarts.init(el);
    chart.setOption(JSON.parse(el.getAttribute('data-option')));
    charts.push(chart);
  });
  window.addEventListener('resize', function () {
    charts.forEach(function (c) { c.resize(); });
  });
})();
