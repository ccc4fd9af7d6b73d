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
