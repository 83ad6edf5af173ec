// Command orderbench measures the order saga end to end through the shell: each virtual customer
// adds one in-stock tractor (the background post of Add To Cart), opens the checkout page, places
// the order and polls its status until it is final, like the thank-you page does. It prints the
// place-order → confirmed latency (p50, p95, max) over the confirmed orders.
//
//	go run ./services/checkout/cmd/orderbench -shell http://127.0.0.1:8080 -n 200 -c 4
//
// Every order takes one unit of stock: run it against a platform with stock to spare (a fresh
// database prefix), never against production.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

func main() {
	shell := flag.String("shell", "http://127.0.0.1:8080", "the shell's base URL")
	n := flag.Int("n", 200, "orders to place")
	c := flag.Int("c", 1, "customers placing orders at once")
	card := flag.String("card", "4242424242424242", "card number (test cards of the simulated provider)")
	timeout := flag.Duration("timeout", 30*time.Second, "deadline for one order to become final")
	flag.Parse()
	if err := run(*shell, *n, *c, *card, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "orderbench:", err)
		os.Exit(1)
	}
}

var (
	productLink = regexp.MustCompile(`href="/product/([A-Za-z0-9_-]+)"`)
	skuLink     = regexp.MustCompile(`\?sku=([A-Za-z0-9_-]+)|data-sku="([A-Za-z0-9_-]+)"`)
	csrfField   = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	keyField    = regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`)
)

type skuPool struct {
	mu   sync.Mutex
	skus []string
}

func (p *skuPool) get() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.skus) == 0 {
		return "", false
	}
	return p.skus[0], true
}

func (p *skuPool) drop(sku string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.skus = slices.DeleteFunc(p.skus, func(s string) bool { return s == sku })
}

func run(shell string, n, c int, card string, timeout time.Duration) error {
	skus, err := discover(shell)
	if err != nil {
		return err
	}
	pool := &skuPool{skus: skus}
	jobs := make(chan int)
	var mu sync.Mutex
	var confirmed []time.Duration
	outcomes := map[string]int{}
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				d, status, err := order(shell, pool, card, timeout)
				mu.Lock()
				if err != nil {
					outcomes["error: "+err.Error()]++
				} else {
					outcomes[status]++
					if status == "confirmed" {
						confirmed = append(confirmed, d)
					}
				}
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	fmt.Printf("orders: %d in %v with %d customers at once\n", n, elapsed.Round(time.Millisecond), c)
	for k, v := range outcomes {
		fmt.Printf("  %s: %d\n", k, v)
	}
	if len(confirmed) == 0 {
		return errors.New("no order was confirmed")
	}
	slices.Sort(confirmed)
	q := func(p float64) time.Duration { return confirmed[min(len(confirmed)-1, int(p*float64(len(confirmed))))] }
	fmt.Printf("place-order → confirmed over %d orders: p50 %v, p95 %v, max %v\n", len(confirmed),
		q(0.50).Round(100*time.Microsecond), q(0.95).Round(100*time.Microsecond), confirmed[len(confirmed)-1].Round(100*time.Microsecond))
	return nil
}

func client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(hc *http.Client, u string) (string, error) {
	res, err := hc.Get(u)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		return "", fmt.Errorf("GET %s: %d", u, res.StatusCode)
	}
	return string(b), err
}

// discover lists every sku linked from the product pages.
func discover(shell string) ([]string, error) {
	hc := client()
	hc.CheckRedirect = nil // a product page without ?sku= redirects to its first variant
	page, err := get(hc, shell+"/products")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var skus []string
	for _, m := range productLink.FindAllStringSubmatch(page, -1) {
		if seen[m[1]] {
			continue
		}
		seen[m[1]] = true
		p, err := get(hc, shell+"/product/"+m[1])
		if err != nil {
			return nil, err
		}
		for _, s := range skuLink.FindAllStringSubmatch(p, -1) {
			sku := s[1] + s[2]                                  // a variant link, or the selected variant's Add To Cart
			if !seen[sku] && strings.HasPrefix(sku, m[1]+"-") { // not the recommendations' skus
				seen[sku] = true
				skus = append(skus, m[1]+"?sku="+sku) // the product page of the sku
			}
		}
	}
	if len(skus) == 0 {
		return nil, errors.New("no skus found on " + shell + "/products")
	}
	return skus, nil
}

// order runs one customer: add, checkout, place, poll. It returns the time from posting the order
// to its final status.
func order(shell string, pool *skuPool, card string, timeout time.Duration) (time.Duration, string, error) {
	hc := client()
	csrf := ""
	for {
		product, ok := pool.get()
		if !ok {
			return 0, "", errors.New("no sku in stock left")
		}
		_, sku, _ := strings.Cut(product, "?sku=")
		if csrf == "" { // the product page sets the CSRF cookie; Add To Cart carries its token
			p, err := get(hc, shell+"/product/"+product)
			if err != nil {
				return 0, "", err
			}
			if m := csrfField.FindStringSubmatch(p); m != nil {
				csrf = m[1]
			}
		}
		req, _ := http.NewRequest(http.MethodPost, shell+"/checkout/cart/add", strings.NewReader(url.Values{"sku": {sku}, "csrf": {csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-CSRF-Token", csrf)
		res, err := hc.Do(req)
		if err != nil {
			return 0, "", err
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusConflict {
			pool.drop(product) // out of stock
			continue
		}
		if res.StatusCode != 200 {
			return 0, "", fmt.Errorf("add %s: %d", sku, res.StatusCode)
		}
		break
	}
	page, err := get(hc, shell+"/checkout/checkout")
	if err != nil {
		return 0, "", err
	}
	k := keyField.FindStringSubmatch(page)
	if k == nil {
		return 0, "", errors.New("checkout page without idempotency key")
	}
	form := url.Values{"first_name": {"Bench"}, "last_name": {"Customer"}, "email": {"bench@example.com"},
		"card": {card}, "store": {"store-a"}, "idempotency_key": {k[1]}, "csrf": {csrf}}
	start := time.Now()
	res, err := hc.PostForm(shell+"/checkout/place-order", form)
	if err != nil {
		return 0, "", err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	loc := res.Header.Get("Location")
	id := strings.TrimPrefix(loc, "/checkout/thanks?order=")
	if res.StatusCode != http.StatusSeeOther || id == loc {
		return 0, "", fmt.Errorf("place order: %d %s", res.StatusCode, loc)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, shell+"/checkout/orders/"+id+"/status", nil)
		req.Header.Set("Accept", "application/json")
		res, err := hc.Do(req)
		if err != nil {
			return 0, "", err
		}
		var st struct {
			Status string `json:"status"`
			Final  bool   `json:"final"`
		}
		err = json.NewDecoder(res.Body).Decode(&st)
		res.Body.Close()
		if err != nil {
			return 0, "", fmt.Errorf("status of %s: %w", id, err)
		}
		if st.Final {
			return time.Since(start), st.Status, nil
		}
		select {
		case <-ctx.Done():
			return 0, "", fmt.Errorf("order %s still %s after %v", id, st.Status, timeout)
		case <-time.After(5 * time.Millisecond):
		}
	}
}
