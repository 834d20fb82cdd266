// The patient picker (templates/macros/picker.html): a combobox whose listbox htmx fills from
// /patients/pick as the person types. This file adds the choosing: arrow keys move through the
// options, Enter or a tap/click chooses (Enter alone takes a single match), Escape closes. A
// chosen patient's code goes into the hidden input, which then carries the field's name; typing
// again gives the name back to the text. Without this file the typed text is submitted and the server resolves it.
(function () {
  "use strict";

  function parts(el) {
    var root = el && el.closest ? el.closest("[data-picker]") : null;
    if (!root) return null;
    return {
      root: root,
      input: root.querySelector("[data-picker-input]"),
      code: root.querySelector("[data-picker-code]"),
      list: root.querySelector("[role=listbox]")
    };
  }

  function options(p) {
    return p.list ? Array.prototype.slice.call(p.list.querySelectorAll("[role=option]")) : [];
  }

  function setActive(p, option) {
    options(p).forEach(function (o) {
      var on = o === option;
      o.setAttribute("aria-selected", on ? "true" : "false");
      o.classList.toggle("active", on);
    });
    if (option) {
      p.input.setAttribute("aria-activedescendant", option.id);
      if (option.scrollIntoView) option.scrollIntoView({ block: "nearest" });
    } else {
      p.input.removeAttribute("aria-activedescendant");
    }
  }

  function close(p) {
    setActive(p, null);
    if (p.list) p.list.hidden = true;
    var msg = p.root.querySelector(".picker-msg");
    if (msg) msg.remove();
    p.input.setAttribute("aria-expanded", "false");
  }

  function open(p) {
    var any = options(p).length > 0;
    if (p.list) p.list.hidden = !any;
    p.input.setAttribute("aria-expanded", any ? "true" : "false");
    setActive(p, null);
  }

  function choose(p, option) {
    var name = p.input.getAttribute("name") || p.input.dataset.name;
    p.input.dataset.name = name;
    p.code.value = option.dataset.code;
    p.code.name = name;
    p.code.disabled = false;
    p.input.removeAttribute("name");  // the code is the value submitted now
    p.input.value = option.dataset.label;
    p.root.classList.add("chosen");
    close(p);
    p.input.dispatchEvent(new CustomEvent("patientPicked", { bubbles: true, detail: { code: option.dataset.code } }));
  }

  function unchoose(p) {
    if (p.code.disabled) return;
    p.code.disabled = true;
    p.code.value = "";
    if (p.input.dataset.name) p.input.setAttribute("name", p.input.dataset.name);
    p.root.classList.remove("chosen");
  }

  document.addEventListener("input", function (event) {
    if (!event.target.matches || !event.target.matches("[data-picker-input]")) return;
    unchoose(parts(event.target));
  });

  document.addEventListener("keydown", function (event) {
    if (!event.target.matches || !event.target.matches("[data-picker-input]")) return;
    var p = parts(event.target), all = options(p);
    var isOpen = p.input.getAttribute("aria-expanded") === "true";
    var current = all.indexOf(p.list ? p.list.querySelector("[aria-selected=true]") : null);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!all.length) return;
      event.preventDefault();
      if (!isOpen) { open(p); current = -1; }
      var next = event.key === "ArrowDown" ? current + 1 : current - 1;
      if (next < 0) next = all.length - 1;
      if (next >= all.length) next = 0;
      setActive(p, all[next]);
    } else if (event.key === "Enter") {
      if (isOpen && (current >= 0 || all.length === 1)) {  // one match: Enter takes it
        event.preventDefault();  // choose, do not submit the form
        choose(p, all[current >= 0 ? current : 0]);
      }
    } else if (event.key === "Escape") {
      if (isOpen || p.root.querySelector(".picker-msg")) {
        event.preventDefault();
        close(p);
      }
    }
  });

  // A tap or a click chooses. pointerdown keeps the focus in the input (no blur close first).
  document.addEventListener("pointerdown", function (event) {
    var option = event.target.closest && event.target.closest("[data-picker] [role=option]");
    if (option) event.preventDefault();
  });
  document.addEventListener("click", function (event) {
    var option = event.target.closest && event.target.closest("[data-picker] [role=option]");
    if (option) {
      var p = parts(option);
      choose(p, option);
      p.input.focus();
      return;
    }
    document.querySelectorAll("[data-picker] [data-picker-input][aria-expanded=true]").forEach(function (input) {
      if (!input.closest("[data-picker]").contains(event.target)) close(parts(input));
    });
  });

  document.addEventListener("focusout", function (event) {
    if (!event.target.matches || !event.target.matches("[data-picker-input]")) return;
    var p = parts(event.target);
    window.setTimeout(function () {
      if (!p.root.contains(document.activeElement)) close(p);
    }, 150);
  });

  // No request for a chosen patient's label (the text changed because we put it there).
  document.addEventListener("htmx:beforeRequest", function (event) {
    var el = event.detail && event.detail.elt;
    if (el && el.matches && el.matches("[data-picker-input]") && !el.getAttribute("name")) event.preventDefault();
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || !target.classList || !target.classList.contains("picker-results")) return;
    var p = parts(target);
    p.list = target.querySelector("[role=listbox]");
    if (document.activeElement === p.input) open(p); else close(p);
  });
})();
