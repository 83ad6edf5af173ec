// Inlay composer: moves an async slot's content, streamed at the end of the page in a <template>,
// into its placeholder. The shell inlines this script once per page (CSP-nonced) and calls
// inlayFill(id) after each template.
window.inlayFill = function (id) {
  var t = document.getElementById("inlay-t-" + id), p = document.getElementById("inlay-s-" + id);
  if (!t || !p) return;
  p.replaceChildren(t.content);
  t.remove();
  p.dispatchEvent(new CustomEvent("inlay:slot-filled", { bubbles: true, detail: { slot: id } }));
};
