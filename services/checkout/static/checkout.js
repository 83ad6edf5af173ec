// checkout's script: Add To Cart posts in the background and announces `checkout:cart-updated`; the
// Mini Cart reloads itself on that event and flashes; the checkout form validates (Luhn included)
// and takes the store id from the Store Picker's `explore:store-selected`; the thank-you page polls
// the order's status until it is final. Every form still works without this script (post, redirect,
// get). Listeners are delegated from document, so fragments inserted later work too, and loading the
// module twice installs them once.
const installed = "checkoutScript";

if (!document.documentElement.dataset[installed]) {
  document.documentElement.dataset[installed] = "1";

  // --- Add To Cart -------------------------------------------------------------------------------
  document.addEventListener("submit", async (event) => {
    const form = event.target instanceof HTMLFormElement ? event.target : null;
    if (!form || !form.matches("[data-checkout-add-to-cart]")) return;
    event.preventDefault();
    const root = form.closest("[data-boundary='checkout']") ?? form;
    const added = root.querySelector("[data-checkout-added]");
    const error = root.querySelector("[data-checkout-error]");
    const button = form.querySelector("button[type='submit']");
    if (added) added.hidden = true;
    if (error) error.hidden = true;
    // Disabling the focused button drops the focus to <body>: a keyboard user gets it back after.
    const focused = button !== null && document.activeElement === button;
    if (button) button.disabled = true;
    const body = new URLSearchParams(new FormData(form));
    try {
      const res = await fetch(form.action, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRF-Token": body.get("csrf") ?? "" },
      });
      const data = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(data?.error?.message || "The tractor could not be added.");
      if (added) added.hidden = false;
      document.dispatchEvent(new CustomEvent("checkout:cart-updated", { detail: data }));
    } catch (err) {
      if (error) {
        error.textContent = err instanceof Error ? err.message : String(err);
        error.hidden = false;
      }
    } finally {
      if (button) {
        button.disabled = false;
        if (focused && (document.activeElement === document.body || document.activeElement === null)) button.focus();
      }
    }
  });

  // --- Mini Cart ---------------------------------------------------------------------------------
  // It reloads itself when this page changed the cart (and flashes), when another tab of this
  // browser did (a BroadcastChannel message), and when the tab is shown again: two tabs never show
  // two counts for long.
  const refreshMiniCart = async (flash) => {
    const carts = document.querySelectorAll("[data-checkout-mini-cart]");
    if (carts.length === 0) return;
    try {
      const res = await fetch("/checkout/mini-cart", { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (!res.ok) return;
      const html = await res.text();
      for (const old of carts) {
        const tpl = document.createElement("template");
        tpl.innerHTML = html.trim();
        const next = tpl.content.firstElementChild;
        if (!next) continue;
        old.replaceWith(next);
        if (!flash) continue;
        next.classList.add("co-mini--flash");
        next.setAttribute("data-flash", "");
        setTimeout(() => {
          next.classList.remove("co-mini--flash");
          next.removeAttribute("data-flash");
        }, 600);
      }
    } catch {
      // The mini cart keeps its old count; the next page shows the right one.
    }
  };
  const channel = "BroadcastChannel" in window ? new BroadcastChannel("checkout-cart") : null;
  channel?.addEventListener("message", () => refreshMiniCart(false));
  document.addEventListener("checkout:cart-updated", () => {
    refreshMiniCart(true);
    channel?.postMessage("cart-updated");
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") refreshMiniCart(false);
  });
  // A page that shows the cart as it is after a change made without this script (the cart page after
  // a line was removed or changed there, a thank-you page after the lines were ordered) tells the
  // other tabs, once per page.
  const announce = () => {
    if (document.querySelector("[data-checkout-announce]")) channel?.postMessage("cart-updated");
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", announce, { once: true });
  else announce();

  // --- Checkout form -----------------------------------------------------------------------------
  const luhn = (digits) => {
    if (!/^\d{12,19}$/.test(digits)) return false;
    let sum = 0;
    let double = false;
    for (let i = digits.length - 1; i >= 0; i--) {
      let d = digits.charCodeAt(i) - 48;
      if (double) {
        d *= 2;
        if (d > 9) d -= 9;
      }
      sum += d;
      double = !double;
    }
    return sum % 10 === 0;
  };

  // The simulated provider's test cards (docs/storefront.md): the only numbers the shop takes, so a
  // real card number never enters it.
  const testCards = new Set(["4242424242424242", "4000000000000002", "4000000000009995"]);

  const validate = (form) => {
    const card = form.elements.namedItem("card");
    if (card instanceof HTMLInputElement) {
      const digits = card.value.replace(/[\s-]/g, "");
      let msg = "";
      if (digits !== "" && !luhn(digits)) msg = "Card number is not valid.";
      else if (digits !== "" && !testCards.has(digits)) msg = "This shop takes test cards only, such as 4242 4242 4242 4242.";
      card.setCustomValidity(msg);
    }
    // The store id is read-only, and read-only inputs are barred from constraint validation
    // (checkValidity ignores their required and custom validity): check it here.
    const store = form.elements.namedItem("store");
    let storeChosen = true;
    if (store instanceof HTMLInputElement) {
      storeChosen = store.value.trim() !== "";
      store.setCustomValidity(storeChosen ? "" : "Please choose a store.");
    }
    // A basket short of stock cannot be ordered: the page says so, with a link to the basket.
    const short = form.hasAttribute("data-checkout-short");
    const valid = form.checkValidity() && storeChosen && !short;
    const submit = form.querySelector("[data-checkout-place-order]");
    if (submit) submit.disabled = !valid;
    // A disabled button says nothing by itself: name what is still missing beside it (and to
    // screen readers, through the button's description and the live region).
    const missing = form.querySelector("[data-checkout-missing]");
    if (missing) {
      const names = [];
      for (const input of form.querySelectorAll("input:not([type='hidden'])")) {
        const bad = input.readOnly ? input.value.trim() === "" : !input.validity.valid;
        if (!bad) continue;
        const label = input.readOnly ? "a store" : form.querySelector(`label[for="${input.id}"]`)?.textContent?.trim();
        if (label && !names.includes(label)) names.push(label);
      }
      // Only the text changes: a live region that appears and fills at once is not reliably read.
      missing.textContent = valid
        ? ""
        : short
          ? "To place the order, change your basket first: some tractors are no longer available in that number."
          : `To place the order, complete: ${names.join(", ")}.`;
    }
    return valid;
  };

  // A field's own message, as the server writes it without JavaScript, shown once the shopper has
  // left the field (change) and updated as they type; gone when the field is valid.
  const showFieldError = (input) => {
    const field = input.closest(".co-field");
    if (!field || input.readOnly) return;
    let msg = field.querySelector(".co-field__error");
    // The field's hint (the card's test cards), when it has one, stays in its description.
    const hint = input.dataset.hint ?? "";
    if (input.validity.valid) {
      field.classList.remove("co-field--invalid");
      input.removeAttribute("aria-invalid");
      if (hint) input.setAttribute("aria-describedby", hint);
      else input.removeAttribute("aria-describedby");
      if (msg) msg.remove();
      return;
    }
    if (!msg) {
      msg = document.createElement("span");
      msg.className = "co-field__error";
      msg.id = `${input.id}-error`;
      msg.dataset.testid = `checkout-${input.name}-error`;
      field.append(msg);
    }
    msg.textContent = input.validationMessage;
    field.classList.add("co-field--invalid");
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", hint ? `${hint} ${msg.id}` : msg.id);
  };

  const initCheckout = (container) => {
    if (container.dataset.checkoutReady) return;
    container.dataset.checkoutReady = "1";
    const form = container.querySelector("form[data-checkout-form]");
    if (!form) return;
    container.addEventListener("explore:store-selected", (event) => {
      const store = form.elements.namedItem("store");
      if (store instanceof HTMLInputElement && typeof event.detail === "string") {
        store.value = event.detail;
        validate(form);
      }
    });
    form.addEventListener("input", (event) => {
      validate(form);
      const input = event.target;
      if (input instanceof HTMLInputElement && input.closest(".co-field--invalid")) showFieldError(input);
    });
    form.addEventListener("change", (event) => {
      validate(form);
      if (event.target instanceof HTMLInputElement) showFieldError(event.target);
    });
    form.addEventListener("submit", (event) => {
      if (!validate(form)) {
        event.preventDefault();
        form.reportValidity();
        return;
      }
      // One order per form: a second click while the first post is on its way does nothing (the
      // idempotency key makes a retry safe anyway).
      if (form.dataset.submitted) event.preventDefault();
      form.dataset.submitted = "1";
    });
    validate(form);
  };

  // --- Order status ------------------------------------------------------------------------------
  const labels = { pending: "pending", confirmed: "confirmed", cancelled: "cancelled" };
  const pollStatus = (el) => {
    if (el.dataset.checkoutPolling) return;
    el.dataset.checkoutPolling = "1";
    const url = el.getAttribute("data-checkout-status-url");
    let attempts = 0;
    const tick = async () => {
      attempts++;
      try {
        const res = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (res.ok) {
          const s = await res.json();
          el.dataset.status = s.status;
          const text = el.querySelector("[data-checkout-status-text]");
          if (text) text.textContent = labels[s.status] ?? s.status;
          const reason = el.querySelector("[data-checkout-status-reason]");
          if (reason) {
            reason.textContent = s.reason ?? "";
            reason.hidden = !s.reason;
          }
          // A cancelled order: why, and no confetti still falling.
          const box = el.closest("[data-boundary='checkout']");
          const note = box?.querySelector("[data-checkout-cancelled-note]");
          if (note) note.hidden = s.status !== "cancelled";
          if (s.status === "cancelled") {
            box?.querySelector(".co-confetti")?.remove();
            const heading = box?.querySelector("[data-checkout-thanks-heading]");
            if (heading) heading.textContent = "Your order was cancelled";
          }
          if (s.final) return;
        }
      } catch {
        // try again
      }
      if (attempts < 180) setTimeout(tick, Math.min(500 + attempts * 250, 3000));
    };
    tick();
  };

  // The checkout page is no-store, but a browser may still show it again from its back/forward cache
  // (Back after placing an order): the basket and the form's one-order guard are stale then, so load
  // it afresh (an empty basket after the order, or what the basket holds now).
  window.addEventListener("pageshow", (event) => {
    if (event.persisted && document.querySelector("[data-checkout-checkout]")) location.reload();
  });

  const init = () => {
    document.querySelectorAll("[data-checkout-checkout]").forEach(initCheckout);
    document.querySelectorAll("[data-checkout-status-url][data-status='pending']").forEach(pollStatus);
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
  new MutationObserver(init).observe(document.documentElement, { childList: true, subtree: true });
}
