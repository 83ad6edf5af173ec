package mobile

import "time"

// The teams' answers, as far as the BFF reads them (a tolerant reader: a field it does not name is
// ignored). The tests decode each team's api/testdata examples into these types and check that every
// field named here is in the example, so a team cannot change a field the BFF reads without a failing
// test.

// decideProduct is decide's GET /v1/products/{id}.
type decideProduct struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Category   string          `json:"category"`
	Highlights []string        `json:"highlights"`
	Variants   []decideVariant `json:"variants"`
}

// decideVariant is a variant of decideProduct, and decide's GET /v1/variants/{sku} (with ProductID).
type decideVariant struct {
	SKU       string `json:"sku"`
	Name      string `json:"name"`
	Color     string `json:"color"`
	Price     int64  `json:"price"`
	Image     string `json:"image"`
	Thumbnail string `json:"thumbnail"`
}

// inventoryStock is inventory's GET /v1/stock/{sku}.
type inventoryStock struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// signIn is accounts' POST /v1/sessions answer.
type signIn struct {
	Token    string    `json:"token"`
	Expires  time.Time `json:"expires"`
	Customer struct {
		CustomerID string `json:"customerId"`
		Name       string `json:"name"`
		Email      string `json:"email"`
	} `json:"customer"`
}

// whoami is accounts' GET /v1/whoami answer.
type whoami struct {
	CustomerID string `json:"customerId"`
	Name       string `json:"name"`
}

// inspireRecommendations is inspire's GET /v1/recommendations?sku=.
type inspireRecommendations struct {
	Recommendations []struct {
		SKU         string `json:"sku"`
		ProductID   string `json:"productId"`
		ProductName string `json:"productName"`
		Name        string `json:"name"`
		Price       int64  `json:"price"`
		Image       string `json:"image"`
	} `json:"recommendations"`
}

// exploreProduct is a product summary of explore's answers.
type exploreProduct struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Category   string `json:"category"`
	Image      string `json:"image"`
	Color      string `json:"color"`
	StartPrice int64  `json:"startPrice"`
}

// exploreCategory is explore's GET /v1/categories/{key} (and each of GET /v1/categories').
type exploreCategory struct {
	Key      string           `json:"key"`
	Name     string           `json:"name"`
	Title    string           `json:"title"`
	Total    int              `json:"total"`
	Products []exploreProduct `json:"products"`
}

// exploreCategories is explore's GET /v1/categories.
type exploreCategories struct {
	Categories []exploreCategory `json:"categories"`
}

// exploreStores is explore's GET /v1/stores.
type exploreStores struct {
	Stores []struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Street string `json:"street"`
		City   string `json:"city"`
	} `json:"stores"`
}

// exploreSearch is explore's GET /v1/search.
type exploreSearch struct {
	Query    string           `json:"query"`
	Limit    int              `json:"limit"`
	Offset   int              `json:"offset"`
	More     bool             `json:"more"`
	Products []exploreProduct `json:"products"`
}

// checkoutCart is checkout's GET /v1/cart (and the answer of its changes).
type checkoutCart struct {
	Lines []struct {
		SKU         string `json:"sku"`
		ProductID   string `json:"productId"`
		ProductName string `json:"productName"`
		Name        string `json:"name"`
		Color       string `json:"color"`
		Image       string `json:"image"`
		Quantity    int    `json:"quantity"`
		UnitPrice   int64  `json:"unitPrice"`
		Total       int64  `json:"total"`
		Stock       int    `json:"stock"`
	} `json:"lines"`
	Quantity int   `json:"quantity"`
	Total    int64 `json:"total"`
}

// checkoutOrderSummary is an order of checkout's GET /v1/orders.
type checkoutOrderSummary struct {
	ID      string    `json:"id"`
	Status  string    `json:"status"`
	Reason  string    `json:"reason"`
	Final   bool      `json:"final"`
	StoreID string    `json:"storeId"`
	Total   int64     `json:"total"`
	Created time.Time `json:"created"`
}

// checkoutOrders is checkout's GET /v1/orders.
type checkoutOrders struct {
	Orders []checkoutOrderSummary `json:"orders"`
}

// checkoutOrder is checkout's GET /v1/orders/{id} and POST /v1/orders answer.
type checkoutOrder struct {
	checkoutOrderSummary
	Updated   time.Time `json:"updated"`
	CardLast4 string    `json:"cardLast4"`
	Customer  struct {
		FirstName string `json:"firstName"`
		LastName  string `json:"lastName"`
		Email     string `json:"email"`
	} `json:"customer"`
	Lines []struct {
		SKU         string `json:"sku"`
		ProductID   string `json:"productId"`
		ProductName string `json:"productName"`
		Name        string `json:"name"`
		Image       string `json:"image"`
		Quantity    int    `json:"quantity"`
		UnitPrice   int64  `json:"unitPrice"`
		Total       int64  `json:"total"`
	} `json:"lines"`
}
