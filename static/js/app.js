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

// ---- auth: password rules shown while typing ("Choisir votre mot de passe") ----------------
// The server checks every rule again; this only marks the rules already met.
(function () {
  "use strict";

  function update(form) {
    var rules = form.querySelector("[data-password-rules]");
    var inputs = form.querySelectorAll("input[type='password']");
    if (!rules || inputs.length < 2) { return; }
    var value = inputs[0].value;
    var length = Array.from(value.normalize("NFKC")).length;
    var state = {
      min: length >= parseInt(rules.getAttribute("data-min"), 10),
      max: length > 0 && length <= parseInt(rules.getAttribute("data-max"), 10),
      match: value.length > 0 && value === inputs[1].value
    };
    var met = 0;
    rules.querySelectorAll("[data-rule]").forEach(function (item) {
      var ok = !!state[item.getAttribute("data-rule")];
      item.classList.toggle("rule--ok", ok);
      if (ok) { met += 1; }
    });
    var status = form.querySelector("[data-password-status]");
    if (status) { status.textContent = met + " règle(s) sur " + rules.querySelectorAll("[data-rule]").length + " vérifiée(s)."; }
  }

  document.addEventListener("input", function (evt) {
    var form = evt.target.closest && evt.target.closest("[data-password-form]");
    if (form) { update(form); }
  });

  // Login step 2 swapped in place: put the focus on the password field.
  document.addEventListener("htmx:after:swap", function (evt) {
    var target = (evt.detail && evt.detail.ctx && evt.detail.ctx.target) || evt.target;
    if (!target || !target.querySelector || target.querySelector("[aria-invalid='true'], [data-error-summary]")) { return; }
    var field = target.querySelector("input[type='password']");
    if (field && !field.value) { field.focus(); }
  });
})();
