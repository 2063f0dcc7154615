// Citation popover: a click on [n] shows source n in the side panel (without JavaScript the
// link still jumps to the source in the list). Escape closes it and gives focus back.
(function () {
  "use strict";
  var panel = document.getElementById("source-panel");
  if (!panel) return;
  var body = panel.querySelector(".panel-body");
  var layout = document.querySelector(".draft-layout");
  var opener = null;

  function close() {
    panel.hidden = true;
    if (layout) layout.classList.remove("has-panel");
    document.querySelectorAll("a.cite[aria-expanded]").forEach(function (a) {
      a.setAttribute("aria-expanded", "false");
    });
    if (opener) opener.focus();
    opener = null;
  }

  function open(link) {
    var n = link.getAttribute("data-cite");
    var source = document.getElementById("src-" + n);
    if (!source) return;
    document.querySelectorAll("a.cite[aria-expanded]").forEach(function (a) {
      a.setAttribute("aria-expanded", "false");
    });
    body.innerHTML = "";
    var label = document.createElement("p");
    label.className = "meta";
    label.textContent = "Citation [" + n + "]";
    body.appendChild(label);
    body.appendChild(source.cloneNode(true)).removeAttribute("id");
    panel.hidden = false;
    if (layout) layout.classList.add("has-panel");
    link.setAttribute("aria-expanded", "true");
    opener = link;
    panel.focus();
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a.cite[data-cite]");
    if (link) { event.preventDefault(); open(link); return; }
    if (event.target.closest("[data-close-panel]")) close();
  });
  document.addEventListener("keydown", function (event) {
    var link = event.target.closest && event.target.closest("a.cite[data-cite]");
    if (link && (event.key === " " || event.key === "Spacebar")) { event.preventDefault(); open(link); }
    if (event.key === "Escape" && !panel.hidden) close();
  });
  document.querySelectorAll("a.cite[data-cite]").forEach(function (a) {
    a.setAttribute("aria-expanded", "false");
  });
})();

// A second question before a removal (the form also needs its "yes" box ticked, so this is
// a courtesy, not the safeguard).
(function () {
  "use strict";
  document.querySelectorAll("form.confirm[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
})();
