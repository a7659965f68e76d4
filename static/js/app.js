// The portal's only script (CSP forbids inline script and hx-on). Everything works without it.
(function () {
  "use strict";

  // After a swap, move focus to an error summary or the first invalid field, so that keyboard
  // and screen-reader users land where the problem is.
  function focusFirstError(root) {
    var target = root.querySelector("[data-error-summary]") || root.querySelector("[aria-invalid='true']");
    if (target) { target.focus(); }
  }

  document.addEventListener("DOMContentLoaded", function () { focusFirstError(document); });
  document.addEventListener("htmx:after:swap", function (evt) {
    var target = (evt.detail && evt.detail.ctx && evt.detail.ctx.target) || evt.target;
    if (target && target.querySelector) { focusFirstError(target); }
  });
})();
