// A button marked data-print prints the page (the receipt); no inline handlers under the CSP.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-print]");
  if (button) {
    event.preventDefault();
    window.print();
  }
});
