package thanks_test

import (
	"context"
	"testing"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/checkout/ui/internal/uitest"
	"github.com/inlay-dev/inlay/services/checkout/ui/thanks"
)

func TestThanks(t *testing.T) {
	t.Parallel()
	orders := uitest.Store{OrderFunc: func(_ context.Context, id string) (checkout.Order, error) {
		if id != "o1" {
			return checkout.Order{}, checkout.ErrOrderNotFound(id)
		}
		return checkout.Order{ID: "o1", CartID: "c1", Status: checkout.Pending, Total: 5700,
			Lines: []checkout.OrderLine{{SKU: "CL-01-GY", ProductName: "Heritage Workhorse", Quantity: 1, UnitPrice: 5700}}}, nil
	}}
	r := uitest.Do(t, thanks.Handler(orders), uitest.Request{Target: "/?order=o1", Context: fragments.Context{CartID: "c1"}})
	if r.StatusCode != 200 || r.Doc.Find("[data-boundary=checkout][data-testid=checkout-thanks]").Length() != 1 ||
		uitest.Text(r.Doc, "[data-testid=thanks-status-text]") != "pending" ||
		r.Doc.Find("[data-testid=thanks-status]").AttrOr("data-checkout-status-url", "") != "/checkout/orders/o1/status" {
		t.Errorf("thanks: %d %s", r.StatusCode, r.Body)
	}
	for _, fc := range []fragments.Context{{CartID: "c2"}, {}, {CustomerID: "u9"}} {
		r := uitest.Do(t, thanks.Handler(orders), uitest.Request{Target: "/?order=o1", Context: fc})
		// A customer's orders are on /account; a guest has none to go to (it would ask them to sign in).
		orders := r.Doc.Find("[data-testid=order-not-found-orders]").AttrOr("href", "")
		if r.StatusCode != 404 || uitest.Text(r.Doc, "[data-testid=checkout-thanks] h1") != "Order not found" ||
			uitest.Text(r.Doc, "[data-testid=checkout-thanks] p:first-of-type") != "This order does not exist, or it is not yours." ||
			(fc.CustomerID != "") != (orders == "/account") {
			t.Errorf("%+v: %d %s", fc, r.StatusCode, r.Body)
		}
	}
}

// TestThanksCancelled: an order already cancelled (a declined card) says so in its heading, says that
// nothing was charged and drops the confetti; a pending one keeps the confetti, with the note hidden for the script.
func TestThanksCancelled(t *testing.T) {
	t.Parallel()
	for _, status := range []checkout.Status{checkout.Pending, checkout.Cancelled} {
		orders := uitest.Store{OrderFunc: func(context.Context, string) (checkout.Order, error) {
			return checkout.Order{ID: "o1", CartID: "c1", Status: status, Reason: "card declined", Total: 5700,
				Lines: []checkout.OrderLine{{SKU: "CL-01-GY", ProductName: "Heritage Workhorse", Quantity: 1, UnitPrice: 5700}}}, nil
		}}
		r := uitest.Do(t, thanks.Handler(orders), uitest.Request{Target: "/?order=o1", Context: fragments.Context{CartID: "c1"}})
		note := r.Doc.Find("[data-testid=thanks-cancelled-note]")
		_, hidden := note.Attr("hidden")
		confetti := r.Doc.Find("[data-testid=thanks-confetti]").Length() == 1
		if note.Length() != 1 || hidden != (status != checkout.Cancelled) || confetti != (status != checkout.Cancelled) {
			t.Errorf("%s: note %d hidden %v, confetti %v", status, note.Length(), hidden, confetti)
		}
		want := "Thanks for your order!"
		if status == checkout.Cancelled {
			want = thanks.CancelledHeading
		}
		if got := uitest.Text(r.Doc, "[data-testid=thanks-heading]"); got != want {
			t.Errorf("%s: heading %q, want %q", status, got, want)
		}
		if title := r.Header.Get(fragments.TitleHeader); (status == checkout.Cancelled) != (title != "") {
			t.Errorf("%s: %s %q (the page's title says what the heading says)", status, fragments.TitleHeader, title)
		}
	}
}
