// Boundary toggle: a button (bottom right) that outlines every team's fragments with the team's
// name. The choice is remembered for the session.
(function () {
  "use strict";
  var key = "inlay-show-boundaries";
  var root = document.documentElement;
  function apply(on) {
    root.classList.toggle(key, on);
    try { sessionStorage.setItem(key, on ? "1" : ""); } catch (e) { /* storage may be blocked */ }
  }
  function init() {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "inlay-boundary-toggle";
    b.setAttribute("data-testid", "boundary-toggle");
    b.textContent = "show boundaries";
    b.addEventListener("click", function () {
      var on = !root.classList.contains(key);
      apply(on);
      b.textContent = on ? "hide boundaries" : "show boundaries";
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
    var on = false;
    try { on = sessionStorage.getItem(key) === "1"; } catch (e) { /* ignore */ }
    apply(on);
    b.textContent = on ? "hide boundaries" : "show boundaries";
    b.setAttribute("aria-pressed", on ? "true" : "false");
    document.body.appendChild(b);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
