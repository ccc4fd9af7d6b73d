// Small progressive enhancements; every page works without this file.
document.addEventListener("click", function (event) {
  // List editors: "Add" clones an empty row, "Remove" drops a row (the plain form keeps working without JS).
  var add = event.target.closest("[data-list-add]");
  if (add) {
    event.preventDefault();
    var list = document.getElementById(add.getAttribute("data-list-add"));
    var template = list && list.querySelector("template");
    if (template) {
      var row = template.content.firstElementChild.cloneNode(true);
      list.querySelector("ul").appendChild(row);
      var input = row.querySelector("input, textarea");
      if (input) input.focus();
    }
    return;
  }
  var remove = event.target.closest("[data-list-remove]");
  if (remove) {
    event.preventDefault();
    var item = remove.closest("li");
    if (item) item.remove();
  }
});

// A row or thread with data-swap-errors="409 422" shows its own error answer in place (htmx swaps 2xx only).
// This replaces hx-on attributes, which need eval and are blocked by the Content-Security-Policy.
document.addEventListener("htmx:beforeSwap", function (event) {
  // The event starts at the element that made the request (a button in the row), as hx-on saw it.
  var holder = event.target && event.target.closest ? event.target.closest("[data-swap-errors]") : null;
  if (!holder) return;
  var codes = holder.getAttribute("data-swap-errors").split(/\s+/);
  if (codes.indexOf(String(event.detail.xhr.status)) !== -1) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
// An unexpected server error during an htmx request: the server retargets its error panel to #htmx-error
// (htmx leaves error responses unswapped unless told otherwise), so the person sees what happened.
document.addEventListener("htmx:beforeSwap", function (event) {
  if (event.detail.xhr.getResponseHeader("HX-Retarget") === "#htmx-error") {
    event.detail.shouldSwap = true;
  }
});

// Phones: filter panels start collapsed (they would fill the first screen); wider screens open them.
(function () {
  var wide = window.matchMedia("(min-width: 761px)");
  function sync() {
    document.querySelectorAll("details[data-open-on-wide]").forEach(function (panel) { panel.open = wide.matches; });
  }
  document.addEventListener("DOMContentLoaded", sync);
  wide.addEventListener("change", sync);
})();

// The tab bar scrolls sideways on narrow screens: bring the current tab into view.
document.addEventListener("DOMContentLoaded", function () {
  var active = document.querySelector(".tab-row a.active");
  if (!active) return;
  var row = active.parentElement;
  var left = active.offsetLeft - row.offsetLeft;
  if (left + active.offsetWidth > row.scrollLeft + row.clientWidth) row.scrollLeft = left - 24;
});
