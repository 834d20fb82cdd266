// Top-bar menus are <details>: they work without script. This only closes the others when one
// opens, and all of them on a tap elsewhere, as people expect from a menu on a tablet.
document.addEventListener("click", function (event) {
  document.querySelectorAll("header details.usermenu[open]").forEach(function (menu) {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  });
});
document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape") return;
  document.querySelectorAll("header details.usermenu[open]").forEach(function (menu) {
    menu.removeAttribute("open");
  });
});
