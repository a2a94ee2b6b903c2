// Keyboard shortcuts for the review inbox. Extras only: every action is a plain form
// button, so the page works the same without this script.
(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll(".flag-row"));
  var current = -1;

  function select(n) {
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, n));
    rows.forEach(function (row, i) { row.classList.toggle("current", i === current); });
    rows[current].focus();
    rows[current].scrollIntoView({ block: "nearest" });
  }

  function press(key) {
    if (current < 0) return;
    var row = rows[current];
    var target = row.querySelector('[data-key="' + key + '"]');
    if (!target) {
      // A flag of a story with several flags: c and d decide for the whole story.
      var story = row.closest(".story");
      target = story && story.querySelector('.story-decide [data-key="' + key + '"]');
    }
    if (target) target.click();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var t = event.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
    if (event.key === "j") select(current + 1);
    else if (event.key === "k") select(current - 1);
    else if (event.key === "c" || event.key === "d" || event.key === "o") press(event.key);
    else if (event.key === "?") {
      var help = document.getElementById("keys");
      if (help) help.open = !help.open;
    } else return;
    event.preventDefault();
  });
})();
