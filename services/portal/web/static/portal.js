// deiops portal: the only script. Every page works without it; it adds a
// copy button to the receipt and moves focus to the error summary.
(function () {
  "use strict";
  var status = document.querySelector(".copied");
  document.querySelectorAll("button.copy[data-copy]").forEach(function (b) {
    if (!navigator.clipboard) { return; }
    b.hidden = false;
    b.addEventListener("click", function () {
      var el = document.getElementById(b.getAttribute("data-copy"));
      if (!el) { return; }
      navigator.clipboard.writeText(el.textContent.trim()).then(function () {
        if (status) { status.textContent = status.getAttribute("data-copied"); }
      });
    });
  });
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
