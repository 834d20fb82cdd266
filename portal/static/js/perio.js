// Perio chart entry on a tablet: a keypad over the plain form grid. A digit fills the current site
// and moves on along the usual probing path (the form's data-order: upper buccal 18→28, palatal
// 28→18, lower buccal 48→38, lingual 38→48); "−" makes the next gingival margin negative; Bleeding
// and Plaque toggle the site just entered. Readings are saved through htmx in batches (every tooth's
// worth of entries, and a moment after the last one), without reloading. Without this script the
// grid is an ordinary form with a Save button.
(function () {
  var BATCH = 6, IDLE_MS = 1500;

  function init() {
    var form = document.getElementById("perio-form");
    if (!form || form.dataset.keypad) return;
    form.dataset.keypad = "on";
    var order = form.dataset.order.split(" ").map(function (p) {
      var a = p.split(":");
      return { t: a[0], s: a[1] };
    });
    var keypad = form.querySelector(".perio-keypad");
    var where = keypad.querySelector(".perio-where");
    var mode = "pd", cur = 0, last = null, pending = 0, negative = false, timer = null;
    keypad.hidden = false;

    function field(i, kind) {
      var o = order[i];
      return form.querySelector("[name='t" + o.t + "_" + (kind || mode) + "_" + o.s + "']");
    }
    function show() {
      form.querySelectorAll("input.current").forEach(function (el) { el.classList.remove("current"); });
      var el = field(cur);
      if (!el) return;
      el.classList.add("current");
      el.scrollIntoView({ block: "nearest", inline: "nearest" });
      where.textContent = (cur + 1) + " / " + order.length + " · " + el.getAttribute("aria-label") +
        (negative ? " −" : "");
    }
    function save() {
      clearTimeout(timer);
      if (!pending) return;
      pending = 0;
      if (window.htmx) window.htmx.trigger(form, "perio-save");
    }
    function changed() {
      pending += 1;
      clearTimeout(timer);
      if (pending >= BATCH) save();
      else timer = setTimeout(save, IDLE_MS);
    }
    function move(step) {
      cur = Math.max(0, Math.min(order.length - 1, cur + step));
      show();
    }
    function digit(d) {
      var el = field(cur);
      if (!el) return;
      el.value = (negative && mode === "gm" && d !== "0" ? "-" : "") + d;
      negative = false;
      last = cur;
      changed();
      if (cur === order.length - 1) { save(); show(); } else move(1);
    }
    function toggle(kind) {
      var box = field(last === null ? cur : last, kind);
      if (!box) return;
      box.checked = !box.checked;
      changed();
    }
    function setMode(m) {
      mode = m;
      negative = false;
      keypad.querySelectorAll("[data-mode]").forEach(function (b) {
        b.setAttribute("aria-pressed", b.getAttribute("data-mode") === m ? "true" : "false");
      });
      show();
    }

    keypad.addEventListener("click", function (ev) {
      var b = ev.target.closest("button");
      if (!b) return;
      var key = b.getAttribute("data-key"), m = b.getAttribute("data-mode");
      if (m) { setMode(m); return; }
      if (key === "back") { last = null; move(-1); }
      else if (key === "next") { last = null; move(1); }
      else if (key === "-") { negative = !negative; show(); }
      else if (key === "bop" || key === "pl") toggle(key);
      else if (/^[0-9]$/.test(key)) digit(key);
    });
    // A tap on a cell moves the keypad there; typing into a cell saves like a key.
    form.addEventListener("focusin", function (ev) {
      var site = ev.target.getAttribute && ev.target.getAttribute("data-site");
      if (!site) return;
      var kind = ev.target.getAttribute("data-kind"), p = site.split(":");
      for (var i = 0; i < order.length; i++) {
        if (order[i].t === p[0] && order[i].s === p[1]) { cur = i; last = null; break; }
      }
      if (kind !== mode) setMode(kind); else show();
    });
    form.addEventListener("change", function (ev) {
      if (ev.isTrusted) changed();
    });
    show();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
