// Participants formset: add rows, mark rows removed (undo by unticking), show the personnel total.
// The form works without this script: spare empty rows and "Remove" boxes are rendered by the server.
(function () {
  "use strict";
  var table = document.getElementById("participants");
  var template = document.getElementById("participant-template");
  var addButton = document.getElementById("add-participant");
  var total = document.querySelector('input[name="participants-TOTAL_FORMS"]');
  var maxForms = document.querySelector('input[name="participants-MAX_NUM_FORMS"]');
  var totalLabel = document.getElementById("personnel-total");
  if (!table || !template || !addButton || !total) {
    return;
  }
  var body = table.tBodies[0];

  function sumPersonnel() {
    var sum = 0;
    body.querySelectorAll("tr.participant-row").forEach(function (row) {
      var input = row.querySelector('input[name$="-personnel"]');
      var partner = row.querySelector('select[name$="-partner"]');
      if (!row.classList.contains("removed") && partner && partner.value && input) {
        sum += parseInt(input.value, 10) || 0;
      }
    });
    totalLabel.textContent = table.dataset.totalLabel.replace("%s", sum.toLocaleString());
  }

  addButton.hidden = false;
  addButton.addEventListener("click", function () {
    var index = parseInt(total.value, 10);
    if (maxForms && index >= parseInt(maxForms.value, 10)) {
      return;
    }
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    body.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    var added = body.lastElementChild.querySelector("select");
    if (added) {
      added.focus();
    }
  });
  body.addEventListener("change", function (event) {
    var box = event.target;
    if (box.name && /-DELETE$/.test(box.name)) {
      box.closest("tr").classList.toggle("removed", box.checked);
    }
    sumPersonnel();
  });
  body.addEventListener("input", sumPersonnel);
  sumPersonnel();
})();
