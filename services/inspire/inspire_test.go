package inspire_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/inlay-dev/inlay/services/inspire"
)

func TestParseColor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want inspire.RGB
		ok   bool
	}{
		{"#C0C0C0", inspire.RGB{R: 192, G: 192, B: 192}, true},
		{"#dd5219", inspire.RGB{R: 0xdd, G: 0x52, B: 0x19}, true},
		{"#fff", inspire.RGB{R: 255, G: 255, B: 255}, true},
		{"dd5219", inspire.RGB{}, false},
		{"#dd521", inspire.RGB{}, false},
		{"#xx5219", inspire.RGB{}, false},
	}
	for _, tt := range tests {
		got, err := inspire.ParseColor(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseColor(%q) = %v, %v", tt.in, got, err)
		}
		if back, err := inspire.ParseColor(got.Hex()); tt.ok && (err != nil || back != got) {
			t.Errorf("Hex() = %s does not read back", got.Hex())
		}
	}
}

func TestDistance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b inspire.RGB
		want float64
	}{
		{inspire.RGB{R: 0, G: 0, B: 0}, inspire.RGB{R: 0, G: 0, B: 0}, 0},
		{inspire.RGB{R: 0, G: 0, B: 0}, inspire.RGB{R: 3, G: 4, B: 0}, 5},
		{inspire.RGB{R: 255, G: 255, B: 255}, inspire.RGB{R: 0, G: 0, B: 0}, math.Sqrt(3 * 255 * 255)},
		{inspire.RGB{R: 10, G: 20, B: 30}, inspire.RGB{R: 20, G: 10, B: 30}, math.Sqrt(200)},
	}
	for _, tt := range tests {
		if got := inspire.Distance(tt.a, tt.b); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("Distance(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if inspire.Distance(tt.a, tt.b) != inspire.Distance(tt.b, tt.a) {
			t.Errorf("Distance is not symmetric for %v, %v", tt.a, tt.b)
		}
	}
}

func TestAverage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []inspire.RGB
		want inspire.RGB
		ok   bool
	}{
		{"none", nil, inspire.RGB{}, false},
		{"one", []inspire.RGB{{1, 2, 3}}, inspire.RGB{R: 1, G: 2, B: 3}, true},
		{"black and white", []inspire.RGB{{0, 0, 0}, {255, 255, 255}}, inspire.RGB{R: 128, G: 128, B: 128}, true},
		{"rounds to nearest", []inspire.RGB{{0, 0, 0}, {0, 0, 1}, {0, 0, 1}}, inspire.RGB{R: 0, G: 0, B: 1}, true},
		{"three", []inspire.RGB{{255, 0, 0}, {0, 255, 0}, {0, 0, 255}}, inspire.RGB{R: 85, G: 85, B: 85}, true},
		{"grey and red", []inspire.RGB{{0x80, 0x80, 0x80}, {0xff, 0x24, 0x00}}, inspire.RGB{R: 0xc0, G: 0x52, B: 0x40}, true},
	}
	for _, tt := range tests {
		got, ok := inspire.Average(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("%s: Average = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func v(sku, hex string) inspire.Variant {
	c, err := inspire.ParseColor(hex)
	if err != nil {
		panic(err)
	}
	return inspire.Variant{SKU: sku, ProductID: sku[:2], Color: c}
}

func skus(vs []inspire.Variant) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		out = append(out, v.SKU)
	}
	return out
}

func TestNearest(t *testing.T) {
	t.Parallel()
	all := []inspire.Variant{
		v("RED", "#ff0000"), v("DARKRED", "#cc0000"), v("PINK", "#ff8080"), v("BLUE", "#0000ff"),
		v("GREEN", "#00ff00"), v("BLACK", "#000000"), v("WHITE", "#ffffff"), v("TIE-A", "#800000"), v("TIE-B", "#800000"),
	}
	red, _ := inspire.ParseColor("#ff0000")
	tests := []struct {
		name    string
		target  inspire.RGB
		exclude []string
		n       int
		want    []string
	}{
		{"nearest first, excluding", red, []string{"RED"}, 4, []string{"DARKRED", "TIE-A", "TIE-B", "PINK"}},
		{"ties by sku", inspire.RGB{R: 0x80, G: 0, B: 0}, nil, 2, []string{"TIE-A", "TIE-B"}},
		{"fewer than n", red, skus(all[1:]), 4, []string{"RED"}},
		{"none left", red, skus(all), 4, []string{}},
	}
	for _, tt := range tests {
		got := skus(inspire.Nearest(all, tt.target, tt.exclude, tt.n))
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestParseSKUs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"CL-01-GY", []string{"CL-01-GY"}},
		{" CL-01-GY , AU-07-MT,,CL-01-GY ", []string{"CL-01-GY", "AU-07-MT"}},
	}
	for _, tt := range tests {
		if got := inspire.ParseSKUs(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("ParseSKUs(%q) = %v", tt.in, got)
		}
	}
	many := ""
	for i := range 100 {
		many += string(rune('A'+i%26)) + string(rune('a'+i/26)) + ","
	}
	if n := len(inspire.ParseSKUs(many)); n != inspire.MaxSKUs {
		t.Errorf("%d skus, want at most %d", n, inspire.MaxSKUs)
	}
}

// memStore is an in-memory VariantStore built on the domain functions.
type memStore struct {
	vs  []inspire.Variant
	err error
}

func (m memStore) Variants(_ context.Context, skus []string) ([]inspire.Variant, error) {
	var out []inspire.Variant
	for _, v := range m.vs {
		if slices.Contains(skus, v.SKU) {
			out = append(out, v)
		}
	}
	return out, m.err
}

func (m memStore) Nearest(_ context.Context, target inspire.RGB, exclude []string, n int) ([]inspire.Variant, error) {
	return inspire.Nearest(m.vs, target, exclude, n), m.err
}

func TestRecommend(t *testing.T) {
	t.Parallel()
	store := memStore{vs: []inspire.Variant{
		v("RED", "#ff0000"), v("BLUE", "#0000ff"), v("PURPLE", "#800080"), v("VIOLET", "#7f007f"),
		v("GREEN", "#00ff00"), v("BLACK", "#000000"), v("WHITE", "#ffffff"),
	}}
	tests := []struct {
		name string
		skus []string
		want []string
	}{
		{"no skus", nil, nil},
		{"unknown skus only", []string{"NOPE"}, nil},
		{"average of red and blue is purple", []string{"RED", "BLUE"}, []string{"PURPLE", "VIOLET", "BLACK", "WHITE"}},
		{"unknown skus are ignored", []string{"RED", "NOPE", "BLUE"}, []string{"PURPLE", "VIOLET", "BLACK", "WHITE"}},
		{"one sku, equal distances by sku", []string{"WHITE"}, []string{"PURPLE", "VIOLET", "BLUE", "GREEN"}},
	}
	for _, tt := range tests {
		got, err := inspire.Recommend(context.Background(), store, tt.skus)
		if err != nil {
			t.Fatal(err)
		}
		if g := skus(got); !slices.Equal(g, tt.want) && !(len(g) == 0 && len(tt.want) == 0) {
			t.Errorf("%s: %v, want %v", tt.name, g, tt.want)
		}
		if len(got) > inspire.MaxRecommendations {
			t.Errorf("%s: %d recommendations", tt.name, len(got))
		}
	}
	if _, err := inspire.Recommend(context.Background(), memStore{err: errors.New("down")}, []string{"RED"}); err == nil {
		t.Error("a store failure must be an error")
	}
}

func BenchmarkNearest(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	vs := make([]inspire.Variant, 10000)
	for i := range vs {
		vs[i] = inspire.Variant{SKU: string(rune(i)), Color: inspire.RGB{R: uint8(r.IntN(256)), G: uint8(r.IntN(256)), B: uint8(r.IntN(256))}}
	}
	b.ReportAllocs()
	for b.Loop() {
		inspire.Nearest(vs, inspire.RGB{R: 10, G: 200, B: 30}, nil, 4)
	}
}
