// The tooth chart on a tablet or phone: a tap on a surface of the drawing picks that surface for
// the tooth panel's entry form (M, O/I, D, B, L), on the chart and on the panel's large tooth; the
// form's checkboxes stay the record of what is picked (and work without this script).
(function () {
  var tapped = null;  // the surface under the last tap, if any

  function form() { return document.querySelector("#tooth-panel form.entry-form"); }
  function panelTooth() {
    var panel = document.querySelector("#tooth-panel [data-panel-tooth]");
    return panel ? panel.getAttribute("data-panel-tooth") : null;
  }
  function box(letter) {
    var f = form();
    return f ? f.querySelector("input[name=surface][value='" + letter + "']") : null;
  }
  function sync() {
    var tooth = panelTooth();
    document.querySelectorAll(".odontogram [data-surface].picked").forEach(function (el) { el.classList.remove("picked"); });
    document.querySelectorAll(".surface-picker [data-surface]").forEach(function (el) {
      var b = box(el.getAttribute("data-surface"));
      el.setAttribute("aria-checked", b && b.checked ? "true" : "false");
    });
    if (!tooth || !form()) return;
    form().querySelectorAll("input[name=surface]:checked").forEach(function (b) {
      document.querySelectorAll("#tooth-" + tooth + " [data-surface='" + b.value + "']").forEach(function (el) {
        el.classList.add("picked");
      });
    });
  }
  function toggle(letter) {
    var b = box(letter);
    if (!b) return false;
    b.checked = !b.checked;
    sync();
    return true;
  }

  document.addEventListener("click", function (event) {
    var surface = event.target.closest ? event.target.closest("[data-surface]") : null;
    tapped = surface;
    if (surface && surface.closest(".surface-picker") && toggle(surface.getAttribute("data-surface"))) {
      event.preventDefault();
    }
  }, true);
  document.addEventListener("keydown", function (event) {
    var surface = event.target.closest ? event.target.closest(".surface-picker [data-surface]") : null;
    if (surface && event.key === " ") { event.preventDefault(); toggle(surface.getAttribute("data-surface")); }
  });
  document.addEventListener("change", function (event) {
    if (event.target.name === "surface") sync();
  });

  function tappedSurfaceOf(elt) {
    var tooth = elt.closest ? elt.closest(".odontogram .tooth") : null;
    return tooth && tapped && tooth.contains(tapped) ? tooth : null;
  }
  // A surface of the tooth already open is picked in place; another tooth opens with it picked.
  document.addEventListener("htmx:confirm", function (event) {
    var tooth = tappedSurfaceOf(event.detail.elt);
    if (tooth && tooth.getAttribute("data-tooth") === panelTooth() && box(tapped.getAttribute("data-surface"))) {
      event.preventDefault();
      toggle(tapped.getAttribute("data-surface"));
    }
  });
  document.addEventListener("htmx:configRequest", function (event) {
    if (tappedSurfaceOf(event.detail.elt)) event.detail.parameters["surface"] = tapped.getAttribute("data-surface");
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    sync();
    // A tooth just opened: bring its panel into view if a scroll put it away (the tablet's side
    // panel sticks, the phone's is a sheet, so this is rare). A recording leaves the page alone.
    if (event.detail.requestConfig && event.detail.requestConfig.verb === "get" && event.target.id === "tooth-panel") {
      var rect = event.target.getBoundingClientRect();
      if (rect.top > window.innerHeight || rect.bottom < 0) event.target.scrollIntoView({block: "nearest"});
    }
  });
  sync();
})();
