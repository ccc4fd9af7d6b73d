// The printable agenda's Print button (shown only when this script runs; the browser's own Print works anyway).
document.addEventListener("DOMContentLoaded", function () {
  var button = document.querySelector("[data-print]");
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
});
