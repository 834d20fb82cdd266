// Consent forms: finger or stylus signatures (signature_pad, from npm via `make assets`).
// Each <canvas data-signature="FIELD"> keeps its strokes, as signature_pad's point groups, in the
// hidden input #FIELD; a <button data-clear="FIELD"> empties it. No inline script (CSP).
(function () {
  "use strict";
  function setup() {
    if (typeof window.SignaturePad !== "function") { return; }
    document.querySelectorAll("canvas[data-signature]").forEach(function (canvas) {
      var input = document.getElementById(canvas.dataset.signature);
      var pad = new window.SignaturePad(canvas, { minWidth: 1, maxWidth: 2.5, penColor: "#0f172a" });
      function save() {
        input.value = pad.isEmpty() ? "" : JSON.stringify(pad.toData().map(function (g) { return g.points; }));
      }
      function fit() {
        var ratio = Math.max(window.devicePixelRatio || 1, 1);
        var data = pad.toData();
        canvas.width = canvas.offsetWidth * ratio;
        canvas.height = canvas.offsetHeight * ratio;
        canvas.getContext("2d").scale(ratio, ratio);
        pad.clear();
        pad.fromData(data);
      }
      pad.addEventListener("endStroke", save);
      window.addEventListener("resize", fit);
      fit();
      var clear = document.querySelector('button[data-clear="' + canvas.dataset.signature + '"]');
      if (clear) { clear.addEventListener("click", function () { pad.clear(); save(); }); }
      canvas.dataset.ready = "1";
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", setup); } else { setup(); }
})();
