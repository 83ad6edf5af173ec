package redis_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/checkout/internal/checkouttest"
)

// TestMerge: guest lines and saved lines add up, capped per sku, the guest cart is gone after, and a
// second merge changes nothing.
func TestMerge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	carts := checkouttest.Carts(t)
	add := func(id, sku string, n int) {
		t.Helper()
		if _, err := carts.Add(ctx, id, sku, n, checkout.MaxQuantity); err != nil {
			t.Fatal(err)
		}
	}
	add("customer", "A", 2)
	add("customer", "B", 9)
	add("guest", "C", 1)
	add("guest", "A", 3)
	add("guest", "B", 5)
	add("guest", "D", 4)

	merged, err := carts.Merge(ctx, "guest", "customer", map[string]int{"D": 2})
	if err != nil || !merged {
		t.Fatalf("Merge = %v, %v", merged, err)
	}
	want := []checkout.CartLine{{SKU: "A", Quantity: 5}, {SKU: "B", Quantity: 10}, {SKU: "C", Quantity: 1}, {SKU: "D", Quantity: 2}}
	got, err := carts.Lines(ctx, "customer")
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("customer cart %v (%v), want %v", got, err, want)
	}
	if g, _ := carts.Lines(ctx, "guest"); len(g) != 0 {
		t.Errorf("guest cart still holds %v", g)
	}
	merged, err = carts.Merge(ctx, "guest", "customer", nil)
	if err != nil || merged {
		t.Fatalf("second Merge = %v, %v", merged, err)
	}
	if again, _ := carts.Lines(ctx, "customer"); !slices.Equal(again, want) {
		t.Errorf("second merge changed the cart: %v", again)
	}
	// A guest cart into an empty customer cart: every line, in order.
	add("guest2", "X", 1)
	add("guest2", "Y", 2)
	if _, err := carts.Merge(ctx, "guest2", "fresh", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := carts.Lines(ctx, "fresh"); !slices.Equal(got, []checkout.CartLine{{SKU: "X", Quantity: 1}, {SKU: "Y", Quantity: 2}}) {
		t.Errorf("fresh cart %v", got)
	}
}

// TestMergeWaitsForAnOrder: while an order request holds the guest cart (its shopper signed in as it
// was being ordered), nothing is merged: the lines being ordered must not land in the customer's cart
// to be ordered again. Once the order took them out, the rest merges.
func TestMergeWaitsForAnOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	carts := checkouttest.Carts(t)
	if _, err := carts.Add(ctx, "guest", "A", 2, checkout.MaxQuantity); err != nil {
		t.Fatal(err)
	}
	if err := carts.ClaimPlacing(ctx, "guest", "k1"); err != nil {
		t.Fatal(err)
	}
	if merged, err := carts.Merge(ctx, "guest", "customer", nil); merged || !errors.Is(err, checkout.ErrOrderInProgress) {
		t.Fatalf("Merge during the order = %v, %v; want ErrOrderInProgress", merged, err)
	}
	if got, _ := carts.Lines(ctx, "customer"); len(got) != 0 {
		t.Fatalf("the customer's cart took the lines being ordered: %v", got)
	}
	// Added meanwhile: stays in the guest cart when the order takes its lines out, then merges.
	if _, err := carts.Add(ctx, "guest", "B", 1, checkout.MaxQuantity); err != nil {
		t.Fatal(err)
	}
	if err := carts.ClearOrdered(ctx, "guest", "o1", "k1", []checkout.CartLine{{SKU: "A", Quantity: 2}}); err != nil {
		t.Fatal(err)
	}
	if merged, err := carts.Merge(ctx, "guest", "customer", nil); !merged || err != nil {
		t.Fatalf("Merge after the order = %v, %v", merged, err)
	}
	if got, _ := carts.Lines(ctx, "customer"); !slices.Equal(got, []checkout.CartLine{{SKU: "B", Quantity: 1}}) {
		t.Fatalf("customer cart %v, want B alone", got)
	}
}
