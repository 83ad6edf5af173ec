package load

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind is what a session does.
type Kind int

// The kinds of session, in the order Mix lists them.
const (
	Browse    Kind = iota // home → category → product → another variant
	Search                // home → search (often misspelt) → a result
	AddToCart             // browse to a product, add it to the cart, look at the cart
	Buy                   // add to cart, checkout with a test card, thank-you page until the order is final
	numKinds
)

var kindNames = [numKinds]string{"browse", "search", "add", "buy"}

func (k Kind) String() string {
	if k < 0 || k >= numKinds {
		return "kind(" + strconv.Itoa(int(k)) + ")"
	}
	return kindNames[k]
}

// Mix is the share of each kind of session, in percent; the shares add up to 100.
type Mix [numKinds]int

// DefaultMix is the documented default: 60% browse, 20% search, 15% add to cart, 5% buy.
var DefaultMix = Mix{Browse: 60, Search: 20, AddToCart: 15, Buy: 5}

// ParseMix reads "browse=60,search=20,add=15,buy=5"; kinds left out get 0. The shares must add up to 100.
func ParseMix(s string) (Mix, error) {
	var m Mix
	seen := map[string]bool{}
	for part := range strings.SplitSeq(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return Mix{}, fmt.Errorf("mix %q: %q is not kind=percent", s, part)
		}
		k := -1
		for i, n := range kindNames {
			if n == name {
				k = i
			}
		}
		if k < 0 {
			return Mix{}, fmt.Errorf("mix %q: unknown kind %q (browse, search, add, buy)", s, name)
		}
		if seen[name] {
			return Mix{}, fmt.Errorf("mix %q: %s appears twice", s, name)
		}
		seen[name] = true
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 || n > 100 {
			return Mix{}, fmt.Errorf("mix %q: %s=%q is not a percentage", s, name, val)
		}
		m[k] = n
	}
	if err := m.Validate(); err != nil {
		return Mix{}, err
	}
	return m, nil
}

// Validate reports whether the shares are non-negative and add up to 100.
func (m Mix) Validate() error {
	sum := 0
	for _, n := range m {
		if n < 0 {
			return fmt.Errorf("mix %s: negative share", m)
		}
		sum += n
	}
	if sum != 100 {
		return fmt.Errorf("mix %s: shares add up to %d, not 100", m, sum)
	}
	return nil
}

// Pick returns the kind for a uniform draw p in [0, 100): the kinds take consecutive ranges of their
// share, in Mix's order.
func (m Mix) Pick(p float64) Kind {
	acc := 0
	for k, n := range m {
		acc += n
		if p < float64(acc) {
			return Kind(k)
		}
	}
	for k := numKinds - 1; k >= 0; k-- { // p at the top edge: the last kind with a share
		if m[k] > 0 {
			return k
		}
	}
	return Browse
}

func (m Mix) String() string {
	parts := make([]string, numKinds)
	for k, n := range m {
		parts[k] = kindNames[k] + "=" + strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}
