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
// ==== Company switcher and "Ajouter une entreprise" dialog (feature: companies) ====
// Disclosure pattern: the toggle is a link to the full page "Changer d'entreprise"; with
// JavaScript it becomes a button that shows the menu (a <nav> of links). Enter/Space open it,
// arrow keys move between its items, Escape closes it and gives focus back to the toggle.
(function () {
  "use strict";

  function toggleOf(sw) { return sw.querySelector("[data-switcher-toggle]"); }
  function menuOf(sw) { return sw.querySelector("[data-switcher-menu]"); }
  function isOpen(sw) { var m = menuOf(sw); return m && !m.hidden; }

  function init(root) {
    root.querySelectorAll("[data-switcher-toggle]").forEach(function (t) {
      t.setAttribute("role", "button");
      t.setAttribute("aria-expanded", isOpen(t.closest("[data-switcher]")) ? "true" : "false");
    });
  }

  function items(sw) {
    var menu = menuOf(sw);
    return Array.prototype.filter.call(
      menu.querySelectorAll("input[type=search], a[href]"),
      function (el) { return el.offsetParent !== null || el === document.activeElement; }
    );
  }

  // The menu's content loads on first open: the menu listens to "switcher:open" (hx-trigger
  // "switcher:open once"); a keyboard open focuses the first item once the content arrives.
  function open(sw, focusFirst) {
    var menu = menuOf(sw);
    if (!menu) { return; }
    menu.hidden = false;
    toggleOf(sw).setAttribute("aria-expanded", "true");
    var list = items(sw);
    if (!list.length && menu.hasAttribute("hx-get")) {
      if (focusFirst) { menu.setAttribute("data-focus-on-load", ""); }
      menu.dispatchEvent(new CustomEvent("switcher:open"));
    } else if (focusFirst && list.length) {
      list[0].focus();
    }
  }

  function close(sw, returnFocus) {
    var menu = menuOf(sw);
    if (!menu || menu.hidden) { return; }
    menu.hidden = true;
    toggleOf(sw).setAttribute("aria-expanded", "false");
    if (returnFocus) { toggleOf(sw).focus(); }
  }

  function move(sw, step) {
    var list = items(sw);
    if (!list.length) { return; }
    var index = list.indexOf(document.activeElement);
    if (step === "first") { index = 0; }
    else if (step === "last") { index = list.length - 1; }
    else { index = (index + step + list.length) % list.length; }
    list[index].focus();
  }

  var lastToggle = null;

  document.addEventListener("click", function (evt) {
    var target = evt.target instanceof Element ? evt.target : null;
    if (!target) { return; }
    var toggle = target.closest("[data-switcher-toggle]");
    if (toggle) {
      evt.preventDefault();
      var sw = toggle.closest("[data-switcher]");
      if (isOpen(sw)) { close(sw, false); } else { open(sw, false); }
      return;
    }
    document.querySelectorAll("[data-switcher]").forEach(function (sw) {
      if (!sw.contains(target)) { close(sw, false); }
    });
    var opener = target.closest("[data-open-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
      if (dialog && typeof dialog.showModal === "function") {
        evt.preventDefault();
        var owner = opener.closest("[data-switcher]");
        if (owner) { lastToggle = toggleOf(owner); close(owner, false); }
        if (!dialog.open) { dialog.showModal(); }
      }
      return;
    }
    var closer = target.closest("[data-close-dialog]");
    if (closer && closer.closest("dialog")) {
      evt.preventDefault();
      closer.closest("dialog").close();
    }
  });

  document.addEventListener("keydown", function (evt) {
    var target = evt.target instanceof Element ? evt.target : null;
    if (!target) { return; }
    var sw = target.closest("[data-switcher]");
    if (!sw) { return; }
    var onToggle = target.hasAttribute("data-switcher-toggle");
    if (onToggle && (evt.key === " " || evt.key === "Spacebar")) {
      evt.preventDefault();
      if (isOpen(sw)) { close(sw, false); } else { open(sw, false); }
    } else if (onToggle && evt.key === "ArrowDown") {
      evt.preventDefault();
      open(sw, true);
    } else if (evt.key === "Escape" && isOpen(sw)) {
      evt.preventDefault();
      close(sw, true);
    } else if (!onToggle && isOpen(sw) && (evt.key === "ArrowDown" || evt.key === "ArrowUp")) {
      evt.preventDefault();
      move(sw, evt.key === "ArrowDown" ? 1 : -1);
    } else if (!onToggle && isOpen(sw) && target.tagName === "A" && (evt.key === "Home" || evt.key === "End")) {
      evt.preventDefault();
      move(sw, evt.key === "Home" ? "first" : "last");
    }
  });

  // Closing the menu when focus leaves it (Tab past the last item).
  document.addEventListener("focusout", function (evt) {
    var sw = evt.target instanceof Element ? evt.target.closest("[data-switcher]") : null;
    if (sw && evt.relatedTarget && !sw.contains(evt.relatedTarget)) { close(sw, false); }
  });

  // The dialog gives focus back to the switcher it was opened from.
  document.addEventListener("close", function (evt) {
    if (evt.target instanceof HTMLDialogElement && lastToggle && document.contains(lastToggle)) {
      lastToggle.focus();
    }
  }, true);

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:after:swap", function (evt) {
    init(document);
    var target = (evt.detail && evt.detail.ctx && evt.detail.ctx.target) || evt.target;
    if (target && target.hasAttribute && target.hasAttribute("data-switcher-menu")) {
      var sw = target.closest("[data-switcher]");
      if (target.hasAttribute("data-focus-on-load") && isOpen(sw)) {
        var first = items(sw)[0];
        if (first) { first.focus(); }
      }
      target.removeAttribute("data-focus-on-load");
    }
    if (target && target.id === "add-company-body") {
      var focus = target.querySelector("[data-error-summary], [data-focus-after-swap]") ||
        target.querySelector("input:not([type=hidden])");
      if (focus) { focus.focus(); }
    }
  });
})();
// ==== end of company switcher ====
