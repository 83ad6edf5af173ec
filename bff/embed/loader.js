// Inlay's <inlay-fragment> for other sites: GET /embed/v1/loader.js (bff/embed). Use it as a classic
// script: <script src="https://EMBED/embed/v1/loader.js" defer></script>, then
// <inlay-fragment src="decide/product-card?sku=CL-01-GY" key="pk_…">fallback</inlay-fragment>.
// It fetches /embed/v1/{src}&key= from where it was loaded, renders the fragment in the element's
// shadow root (the fragment's stylesheets inside it: no style leaks in or out), re-dispatches the
// fragment's custom events (the types in the element's "events" attribute and the fragment root's
// data-events) on the element, and shows the fragment's fallback, or the element's own children, on
// an error or after "timeout" ms (3000). The fragment shows once its stylesheets have loaded (or
// failed, or the timeout is up), never unstyled; then state="loaded". Without JavaScript the children
// are all there is.
(() => {
  const me = document.currentScript;
  if (!me || customElements.get("inlay-fragment")) return;
  const base = new URL(".", me.src).href;
  const valid = /^[a-z][a-z0-9-]{0,62}\/[a-z][a-z0-9-]{0,62}(\?[^#\s]*)?$/;
  customElements.define("inlay-fragment", class extends HTMLElement {
    connectedCallback() {
      if (this.shadowRoot) return;
      this.attachShadow({ mode: "open" }).innerHTML = "<slot></slot>";
      this.load();
    }
    fail(html) {
      this.shadowRoot.innerHTML = html || "<slot></slot>";
      this.setAttribute("state", "fallback");
      this.dispatchEvent(new CustomEvent("inlay-fragment:error", { bubbles: true }));
    }
    async load() {
      const src = this.getAttribute("src") || "";
      const url = new URL(src, base);
      if (!valid.test(src) || !url.href.startsWith(base)) return this.fail();
      url.searchParams.set("key", this.getAttribute("key") || "");
      const ctl = new AbortController(), until = Date.now() + (+this.getAttribute("timeout") || 3000);
      const timer = setTimeout(() => ctl.abort(), until - Date.now());
      let r, html;
      try {
        r = await fetch(url, { signal: ctl.signal, credentials: "omit" });
        html = await r.text();
      } catch {
        return this.fail();
      } finally {
        clearTimeout(timer);
      }
      if (!r.ok) return this.fail(r.status >= 500 ? html : "");
      const root = this.shadowRoot;
      root.innerHTML = "<style>:host{visibility:hidden}</style>" + html;
      const hide = root.firstChild;
      // Hidden until its stylesheets are in: each one's load or error, or the time left. A link
      // without href, or disabled, loads nothing and fires neither.
      let wait;
      await Promise.race([
        Promise.all([...root.querySelectorAll('link[rel~="stylesheet"][href]:not([disabled])')].map((l) => new Promise((done) => {
          l.addEventListener("load", done, { once: true });
          l.addEventListener("error", done, { once: true });
        }))),
        new Promise((done) => { wait = setTimeout(done, Math.max(0, until - Date.now())); }),
      ]);
      clearTimeout(wait);
      hide.remove();
      const types = new Set(((this.getAttribute("events") || "") + " " +
        [...root.querySelectorAll("[data-events]")].map((e) => e.dataset.events).join(" ")).split(/\s+/).filter(Boolean));
      for (const type of types) {
        root.addEventListener(type, (e) => {
          if (e.composed) return; // it crosses the shadow boundary by itself
          this.dispatchEvent(new CustomEvent(type, { detail: e.detail, bubbles: true }));
        });
      }
      this.setAttribute("state", "loaded");
      this.dispatchEvent(new CustomEvent("inlay-fragment:load", { bubbles: true }));
    }
  });
})();
