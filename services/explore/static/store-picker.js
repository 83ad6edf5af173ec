// explore's Store Picker: "choose a store" opens the picker's <dialog> and "close" closes it by invoker
// commands (commandfor/command), without script; this script only opens and closes it in browsers
// that lack them. Each "select" is a submit button (without JavaScript, choosing a store submits the
// form around the picker); here it is taken over: the chosen store shows in the picker, the dialog
// closes and a bubbling `explore:store-selected` CustomEvent carries the store id (STOREFRONT.md).
// Listeners are delegated from document, so pickers inserted later (an async slot) work too, and
// loading this module twice installs them once.
const installed = "exploreStorePicker";
const invokerCommands = "commandForElement" in HTMLButtonElement.prototype;

if (!document.documentElement.dataset[installed]) {
  document.documentElement.dataset[installed] = "1";

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    if (!invokerCommands) {
      const open = target.closest("[data-explore-open]");
      if (open) {
        const dialog = open.closest("[data-explore-store-picker]")?.querySelector("dialog");
        if (dialog && !dialog.open) dialog.showModal();
        return;
      }
      const close = target.closest("[data-explore-close]");
      if (close) {
        close.closest("dialog")?.close();
        return;
      }
    }
    const select = target.closest("[data-explore-select]");
    if (!select) return;
    const picker = select.closest("[data-explore-store-picker]");
    if (!picker) return;
    event.preventDefault(); // no form post: the page stays, with what the shopper typed
    const id = select.getAttribute("data-explore-select");
    const store = select.closest("[data-store-id]");
    const chosen = picker.querySelector("[data-explore-chosen]");
    if (chosen && store) {
      const name = store.querySelector("[data-store-name]")?.textContent ?? "";
      const address = store.querySelector("address")?.textContent ?? "";
      chosen.replaceChildren();
      const strong = document.createElement("strong");
      strong.textContent = name;
      const addr = document.createElement("address");
      addr.textContent = address;
      chosen.append(strong, addr);
    }
    picker.setAttribute("data-selected", id);
    select.closest("dialog")?.close();
    picker.dispatchEvent(new CustomEvent("explore:store-selected", { bubbles: true, detail: id }));
  });
}
