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
  var open = document.querySelector(".topbar.nav-open .navtoggle");
  if (open) { setNav(open, false); open.focus(); }
});

// On a phone the main menu folds behind one button (portal.css hides the links under 760 px
// only once this script has marked the bar, so without script they stay on screen).
function setNav(toggle, open) {
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
  toggle.closest(".topbar").classList.toggle("nav-open", open);
}
document.querySelectorAll(".topbar .navtoggle").forEach(function (toggle) {
  toggle.hidden = false;
  toggle.closest(".topbar").classList.add("js-nav");
  toggle.addEventListener("click", function () {
    setNav(toggle, toggle.getAttribute("aria-expanded") !== "true");
  });
});

// On a phone a wide table scrolls inside its card (portal.css); a keyboard reaches it too.
function markScrollers() {
  document.querySelectorAll("main table").forEach(function (table) {
    var scrolls = table.scrollWidth > table.clientWidth;
    if (scrolls && !table.hasAttribute("tabindex")) table.setAttribute("tabindex", "0");
    else if (!scrolls && table.getAttribute("tabindex") === "0") table.removeAttribute("tabindex");
  });
}
markScrollers();
window.addEventListener("load", markScrollers);
if (document.fonts) {
  document.fonts.ready.then(markScrollers);
  document.fonts.addEventListener("loadingdone", markScrollers);  // wider text, wider table
}
window.addEventListener("resize", markScrollers);
document.addEventListener("htmx:afterSettle", markScrollers);
