// explore's Store Picker: "choose a store" opens the picker's <dialog>; "select" shows the chosen
// store in the picker and dispatches a bubbling `explore:store-selected` CustomEvent whose detail is
// the store id (STOREFRONT.md). Listeners are delegated from document, so pickers inserted later (an
// async slot) work too, and loading this module twice installs them once.
const installed = "exploreStorePicker";

if (!document.documentElement.dataset[installed]) {
  document.documentElement.dataset[installed] = "1";

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;

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

    const select = target.closest("[data-explore-select]");
    if (!select) return;
    const picker = select.closest("[data-explore-store-picker]");
    if (!picker) return;
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
