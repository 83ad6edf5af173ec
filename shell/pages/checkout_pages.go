package pages

import (
	"github.com/a-h/templ"

	"github.com/inlay-dev/inlay/shell"
)

// Cart is GET /checkout/cart: Header, checkout's cart (primary; it nests inspire's Recommendations
// for the cart's skus) and Footer. ?error= carries the code of a refused add without JavaScript.
func Cart() shell.Page {
	return shell.Page{
		Name:   "cart",
		Route:  "/checkout/cart",
		Layout: func(r shell.PageRequest) templ.Component { return CartLayout(r) },
	}
}

// Checkout is GET /checkout/checkout: the Compact Header, checkout's form with the Store Picker
// (primary) and Footer. ?store= preselects a store.
func Checkout() shell.Page {
	return shell.Page{
		Name:   "checkout",
		Route:  "/checkout/checkout",
		Layout: func(r shell.PageRequest) templ.Component { return CheckoutLayout(r) },
	}
}

// Thanks is GET /checkout/thanks?order={id}: Header (its Mini Cart now empty), the thank-you content
// with the order's live status (primary; 404 for an order that is not the visitor's) and Footer.
func Thanks() shell.Page {
	return shell.Page{
		Name:   "thanks",
		Route:  "/checkout/thanks",
		Title:  title, // "Order not found" for an order that is not the visitor's
		Layout: func(r shell.PageRequest) templ.Component { return ThanksLayout(r) },
	}
}

// Order is GET /checkout/orders/{id}: Header, the order with its live status (primary; 404 for an
// order that is not the visitor's) and Footer.
func Order() shell.Page {
	return shell.Page{
		Name:   "order",
		Route:  "/checkout/orders/:id",
		Title:  title, // "Order not found" for an order that is not the visitor's
		Layout: func(r shell.PageRequest) templ.Component { return OrderLayout(r) },
	}
}
