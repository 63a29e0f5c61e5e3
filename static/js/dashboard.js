// Analyst dashboards: draw the charts from their JSON data blocks, update the page in place when a filter
// changes, and follow a "Recompute now" run until the numbers refresh.
// Every page works without this script: filters are GET forms and links, charts have tables, and
// "Recompute now" posts a form that leads to the run's page.
(function () {
  "use strict";

  var FRAGMENT_HEADER = "X-Fragment";
  // Okabe-Ito colours (distinguishable with the common colour-vision deficiencies), then a few more.
  var PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#7F6A00", "#000000",
    "#999999", "#882255", "#44AA99"];
  var DASHES = [[], [6, 3], [2, 2], [8, 3, 2, 3], [4, 4], [1, 3], [10, 4], [3, 6]];

  function chartConfig(data) {
    var kind = data.kind || "line";
    var horizontal = kind === "hbar";
    var datasets = (data.datasets || []).map(function (set, i) {
      // A score line brings its own colour (the same on every chart); other series take the palette in turn.
      var colour = set.colour || PALETTE[i % PALETTE.length];
      var dataset = { label: set.label, data: set.data, backgroundColor: colour, borderColor: colour };
      if (kind === "line") {
        dataset.borderWidth = i === 0 ? (data.small ? 2 : 3) : 1.5;
        dataset.borderDash = DASHES[i % DASHES.length];
        dataset.pointRadius = data.labels.length > 24 || data.small ? 0 : 2;
        dataset.spanGaps = true;
        dataset.fill = false;
        dataset.tension = 0.2;
      }
      return dataset;
    });
    var valueAxis = { beginAtZero: data.zero !== false, stacked: !!data.stacked, ticks: { precision: 0 } };
    if (data.zero !== false) {
      valueAxis.min = 0;
    }
    if (data.max) {
      valueAxis.max = data.max;
    }
    if (data.small && data.max) {
      // 0, the middle and the shared top: the same three marks on every small multiple.
      valueAxis.ticks.stepSize = data.max / 2;
    }
    // Horizontal bars name one component each: every label shows (never every other one), at any height.
    var categoryAxis = {
      stacked: !!data.stacked,
      ticks: horizontal ? { autoSkip: false } : { autoSkip: true, maxRotation: 0, maxTicksLimit: data.small ? 4 : undefined }
    };
    return {
      type: kind === "line" ? "line" : "bar",
      data: { labels: data.labels, datasets: datasets },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { display: !data.small, position: "bottom", labels: { boxWidth: 14 } } },
        scales: horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis }
      }
    };
  }

  function initCharts(root) {
    if (typeof window.Chart === "undefined") {
      return;
    }
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.dataset.chart);
      if (!source) {
        return;
      }
      var existing = window.Chart.getChart(canvas);
      if (existing) {
        existing.destroy();
      }
      new window.Chart(canvas, chartConfig(JSON.parse(source.textContent)));
    });
  }

  var container = document.querySelector("[data-dashboard]");
  var loading = null;

  function destroyCharts(root) {
    if (typeof window.Chart === "undefined") {
      return;
    }
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var chart = window.Chart.getChart(canvas);
      if (chart) {
        chart.destroy();
      }
    });
  }

  // Replace the dashboard with the page at url; resolves once the new content is in place.
  function load(url, push) {
    if (!container) {
      window.location.href = url;
      return Promise.resolve();
    }
    if (loading) {
      loading.abort();
    }
    loading = new AbortController();
    container.setAttribute("aria-busy", "true");
    var headers = {};
    headers[FRAGMENT_HEADER] = "dashboard";
    return fetch(url, { headers: headers, credentials: "same-origin", signal: loading.signal })
      .then(function (response) {
        if (response.redirected || !(response.ok || response.status === 400)) {
          throw new Error("reload");
        }
        return response.text();
      })
      .then(function (html) {
        destroyCharts(container);
        container.innerHTML = html;
        container.removeAttribute("aria-busy");
        if (push) {
          window.history.pushState({ dashboard: true }, "", url);
        }
        var heading = container.querySelector("h1");
        if (heading) {
          document.title = heading.textContent.trim().replace(/\s+/g, " ") + " · " +
            document.title.split(" · ").pop();
        }
        enhance(container);
      })
      .catch(function (error) {
        if (error.name !== "AbortError") {
          window.location.href = url;
        }
      });
  }

  function formUrl(form) {
    var params = new URLSearchParams(new FormData(form));
    var action = form.getAttribute("action") || window.location.pathname;
    var query = params.toString();
    return action + (query ? "?" + query : "");
  }

  // A translated pattern from the page ("The run failed: %(error)s") with its placeholders filled in.
  function fill(pattern, values) {
    return pattern.replace(/%\((\w+)\)s/g, function (match, name) {
      return name in values ? values[name] : match;
    });
  }

  function followRun(form, statusUrl, label) {
    var labels = label.dataset;
    var button = form.querySelector("button");
    function poll() {
      fetch(statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
        .then(function (response) { return response.json(); })
        .then(function (run) {
          if (!run.finished) {
            label.textContent = fill(labels.labelsProgress, { status: run.status_display });
            window.setTimeout(poll, 1500);
            return;
          }
          if (run.status === "succeeded") {
            label.textContent = labels.labelsDone;
            load(window.location.pathname + window.location.search, false).then(function () {
              // The refreshed page has its own, empty status line: say there that the numbers are new.
              var fresh = document.querySelector(".recompute-status");
              if (fresh) {
                fresh.textContent = labels.labelsRefreshed;
              }
            });
          } else {
            label.textContent = fill(labels.labelsFailed, { error: run.error || run.status_display });
            button.disabled = false;
          }
        })
        .catch(function () {
          window.location.href = statusUrl.replace(/status\/$/, "");
        });
    }
    poll();
  }

  function enhanceRecompute(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var label = form.querySelector(".recompute-status");
      var button = form.querySelector("button");
      button.disabled = true;
      label.textContent = label.dataset.labelsStarted + "…";
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        })
        .then(function (result) {
          if (!result.ok) {
            var errors = result.body.errors || {};
            var messages = Object.keys(errors).map(function (key) {
              return errors[key].map(function (e) { return e.message; }).join(" ");
            });
            label.textContent = fill(label.dataset.labelsError, { error: messages.join(" ") });
            button.disabled = false;
            return;
          }
          followRun(form, result.body.status_url, label);
        })
        .catch(function () {
          form.submit();
        });
    });
  }

  function enhance(root) {
    initCharts(root);
    root.querySelectorAll("form[data-recompute]").forEach(enhanceRecompute);
    root.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
    root.querySelectorAll("form[data-inplace-form]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        load(formUrl(form), true);
      });
      form.querySelectorAll("select").forEach(function (select) {
        select.addEventListener("change", function () { load(formUrl(form), true); });
      });
    });
  }

  // Printing changes the page's width: redraw the charts at the printed size (the brief's labels included).
  window.addEventListener("beforeprint", function () {
    if (typeof window.Chart !== "undefined") {
      Object.values(window.Chart.instances).forEach(function (chart) { chart.resize(); });
    }
  });

  if (container) {
    container.addEventListener("click", function (event) {
      var link = event.target.closest("a[data-inplace], [data-inplace-links] a");
      if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey ||
          event.shiftKey || event.altKey) {
        return;
      }
      event.preventDefault();
      load(link.href, true);
    });
    window.history.replaceState({ dashboard: true }, "", window.location.href);
    window.addEventListener("popstate", function (event) {
      if (event.state && event.state.dashboard) {
        load(window.location.href, false);
      }
    });
  }
  enhance(document);
}());
