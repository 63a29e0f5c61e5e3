// The cooperation network page: draw the partners and their shared engagements from the page's JSON block
// with the vendored cytoscape. The page works without this script: the tables hold the same figures.
(function () {
  "use strict";

  var box = document.getElementById("network-graph");
  var source = box && document.getElementById(box.getAttribute("data-graph"));
  if (!box || !source || typeof window.cytoscape !== "function") {
    return;
  }
  var graph = JSON.parse(source.textContent);
  var heaviest = Math.max.apply(null, graph.edges.map(function (e) { return e.engagements; }).concat([1]));
  var busiest = Math.max.apply(null, graph.nodes.map(function (n) { return n.partners; }).concat([1]));
  var elements = graph.nodes.map(function (n) {
    return { data: { id: n.id, label: n.label, size: 18 + 30 * n.partners / busiest } };
  }).concat(graph.edges.map(function (e) {
    return {
      data: {
        id: e.source + "-" + e.target,
        source: e.source,
        target: e.target,
        // Relative to the heaviest pair, but a network of single engagements keeps thin lines.
        width: 1.5 + 6.5 * e.engagements / Math.max(heaviest, 4),
        engagements: e.engagements
      },
      classes: e.first_time ? "first-time" : ""
    };
  }));
  var cy = window.cytoscape({
    container: box,
    elements: elements,
    // Drawn to a canvas, without animation, so a printout or a screenshot shows the final layout.
    layout: { name: elements.length > 400 ? "circle" : "cose", animate: false, randomize: false, nodeRepulsion: 9000 },
    maxZoom: 1.6,
    style: [
      {
        selector: "node",
        style: {
          "background-color": "#0072B2",
          label: "data(label)",
          width: "data(size)",
          height: "data(size)",
          "font-size": 11,
          "text-valign": "bottom",
          "text-margin-y": 3,
          color: "#1d3557"
        }
      },
      {
        selector: "edge",
        style: { width: "data(width)", "line-color": "#8d99ae", "curve-style": "haystack", opacity: 0.75 }
      },
      {
        selector: "edge.first-time",
        style: { "line-color": "#E69F00", "line-style": "dashed", "curve-style": "straight", opacity: 1 }
      },
      { selector: "node:selected", style: { "background-color": "#D55E00" } }
    ]
  });
  box.setAttribute("data-drawn", String(cy.nodes().length));
  // A partner's circle leads to its assessment, as its name in the table does.
  cy.on("tap", "node", function (event) {
    var row = document.querySelector('tr[data-node="' + event.target.id() + '"] a');
    if (row) {
      window.location.href = row.getAttribute("href");
    }
  });
})();
