//go:build e2e

package e2e

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/fragments"
)

// TestTeamAPIs drives the teams' /v1 APIs as bff/mobile does, over the real processes: contexts
// signed with the mobile key (which the teams accept from INLAY_MOBILE_PUBLIC_KEY), a search on
// explore, recommendations from inspire, and a customer's cart on checkout through place order (with
// an idempotency key, sent twice) to the order confirmed by the saga (inventory, payments).
func TestTeamAPIs(t *testing.T) {
	t.Parallel()
	pub, priv, err := fragments.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	p := Start(t, Only("decide", "explore", "checkout", "inspire", "inventory", "payments"),
		WithEnv("INLAY_MOBILE_PUBLIC_KEY="+base64.StdEncoding.EncodeToString(pub)))
	signer := fragments.NewKeySigner(fragments.KeyMobile, priv)
	client := &http.Client{Timeout: 10 * time.Second}
	call := func(method, url, body string, ctx *fragments.Context, header ...string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		if ctx != nil {
			c := *ctx
			c.Expires = time.Now().Add(time.Minute)
			h, err := signer.Sign(c)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set(fragments.ContextHeader, h)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	// until polls f (true: done) until the deadline.
	until := func(what string, timeout time.Duration, f func() bool) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for !f() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %s", what, timeout)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	explore, checkout, inspire := p.URL(t, "explore"), p.URL(t, "checkout"), p.URL(t, "inspire")
	until("explore finds the Titan", 60*time.Second, func() bool {
		status, b := call("GET", explore+"/v1/search?q=titan", "", nil)
		return status == 200 && strings.Contains(string(b), `"id":"AU-02"`)
	})
	until("inspire recommends for AU-01-SI", 60*time.Second, func() bool {
		status, b := call("GET", inspire+"/v1/recommendations?sku=AU-01-SI", "", nil)
		var r struct{ Recommendations []struct{ SKU string } }
		return status == 200 && json.Unmarshal(b, &r) == nil && len(r.Recommendations) == 4
	})

	ada := &fragments.Context{CustomerID: "0b5c1d2e-3f40-4a51-8b62-7c8d9eaf0b1c"}
	if status, b := call("POST", checkout+"/v1/cart/items", `{"sku":"AU-02-OG"}`, nil); status != 401 {
		t.Fatalf("add without a context: %d %s", status, b)
	}
	until("checkout knows AU-02-OG with stock", 60*time.Second, func() bool {
		status, _ := call("POST", checkout+"/v1/cart/items", `{"sku":"AU-02-OG","quantity":1}`, ada)
		return status == 200
	})
	if status, b := call("POST", checkout+"/v1/cart/items", `{"sku":"AU-02-OG","quantity":1.5}`, ada); status != 400 ||
		!strings.Contains(string(b), `"quantity"`) {
		t.Fatalf("quantity 1.5: %d %s", status, b)
	}
	order := `{"storeId":"store-a","card":"4242424242424242","firstName":"Ada","lastName":"Lovelace","email":"ada@example.com"}`
	var placed struct{ ID, Status string }
	until("checkout knows store-a", 60*time.Second, func() bool {
		status, b := call("POST", checkout+"/v1/orders", order, ada, "Idempotency-Key", "e2e-order-1")
		return status == 201 && json.Unmarshal(b, &placed) == nil
	})
	status, b := call("POST", checkout+"/v1/orders", order, ada, "Idempotency-Key", "e2e-order-1")
	var again struct{ ID string }
	if status != 200 || json.Unmarshal(b, &again) != nil || again.ID != placed.ID {
		t.Fatalf("the same key again: %d %s, want 200 with order %s", status, b, placed.ID)
	}
	until("the order is confirmed", 60*time.Second, func() bool {
		status, b := call("GET", checkout+"/v1/orders/"+placed.ID, "", ada)
		var o struct{ Status string }
		return status == 200 && json.Unmarshal(b, &o) == nil && o.Status == "confirmed"
	})
	status, b = call("GET", checkout+"/v1/orders", "", ada)
	if n := strings.Count(string(b), placed.ID); status != 200 || n != 1 {
		t.Errorf("the customer's orders (%d): %s, the order %d times", status, b, n)
	}
	if status, _ := call("GET", checkout+"/v1/orders/"+placed.ID, "", &fragments.Context{CustomerID: "someone-else"}); status != 404 {
		t.Errorf("another customer's view of the order: %d, want 404", status)
	}
}
