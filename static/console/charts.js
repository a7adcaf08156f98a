// The dashboard's two fund charts, drawn from the JSON the page carries (no inline script: CSP).
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("fund-data");
    if (!source || typeof Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var exposure = document.getElementById("exposure-chart");
    if (exposure && data.exposure.labels.length) {
      new Chart(exposure, {
        type: "bar",
        data: { labels: data.exposure.labels,
                datasets: [{ label: data.exposure.label, data: data.exposure.amounts,
                             backgroundColor: "#1e88e5" }] },
        options: { indexAxis: "y", animation: false, plugins: { legend: { display: false } } }
      });
    }
    var months = document.getElementById("months-chart");
    if (months && data.months.labels.length) {
      new Chart(months, {
        type: "bar",
        data: { labels: data.months.labels,
                datasets: [
                  { label: data.months.write_offs_label, data: data.months.write_offs,
                    backgroundColor: "#c62828" },
                  { label: data.months.recoveries_label, data: data.months.recoveries,
                    backgroundColor: "#2e7d32" }] },
        options: { animation: false }
      });
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
