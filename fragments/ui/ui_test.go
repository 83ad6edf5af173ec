package ui_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"

	"github.com/inlay-dev/inlay/fragments/ui"
)

// render renders comp and parses the result for queries on data-testid.
func render(t *testing.T, comp templ.Component) (*goquery.Document, string) {
	t.Helper()
	var b strings.Builder
	if err := comp.Render(context.Background(), &b); err != nil {
		t.Fatalf("render: %v", err)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("parse %q: %v", b.String(), err)
	}
	return doc, b.String()
}

func label(s string) templ.Component { return templ.Raw(templ.EscapeString(s)) }

func TestButton(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		props     ui.ButtonProps
		children  string
		wantAttrs map[string]string // "" value: the attribute must be present; "-": absent
		wantText  string
	}{
		{
			name:     "defaults to a primary plain button",
			props:    ui.ButtonProps{TestID: "b"},
			children: "add to basket",
			wantAttrs: map[string]string{
				"type": "button", "class": "inlay-button inlay-button--primary", "disabled": "-",
			},
			wantText: "add to basket",
		},
		{
			name:      "secondary submit",
			props:     ui.ButtonProps{TestID: "b", Variant: ui.Secondary, Type: "submit"},
			children:  "select",
			wantAttrs: map[string]string{"type": "submit", "class": "inlay-button inlay-button--secondary"},
			wantText:  "select",
		},
		{
			name:      "unknown variant and type fall back",
			props:     ui.ButtonProps{TestID: "b", Variant: "shiny", Type: "javascript:alert(1)"},
			wantAttrs: map[string]string{"type": "button", "class": "inlay-button inlay-button--primary"},
		},
		{
			name:      "disabled",
			props:     ui.ButtonProps{TestID: "b", Disabled: true},
			children:  "out of stock",
			wantAttrs: map[string]string{"disabled": ""},
			wantText:  "out of stock",
		},
		{
			name: "extra attributes",
			props: ui.ButtonProps{TestID: "b", Type: "submit", Attrs: templ.Attributes{
				"name": "sku", "value": "AU-01", "hx-post": "/checkout/cart/add", "aria-label": `say "hi"`,
			}},
			wantAttrs: map[string]string{"name": "sku", "value": "AU-01", "hx-post": "/checkout/cart/add", "aria-label": `say "hi"`},
		},
		{
			name:     "children are escaped",
			props:    ui.ButtonProps{TestID: "b"},
			children: `<script>alert(1)</script>`,
			wantText: `<script>alert(1)</script>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := templ.WithChildren(context.Background(), label(tt.children))
			var b strings.Builder
			if err := ui.Button(tt.props).Render(ctx, &b); err != nil {
				t.Fatal(err)
			}
			doc, err := goquery.NewDocumentFromReader(strings.NewReader(b.String()))
			if err != nil {
				t.Fatal(err)
			}
			btn := doc.Find(`button[data-testid="b"]`)
			if btn.Length() != 1 {
				t.Fatalf("no button[data-testid=b] in %s", b.String())
			}
			for k, want := range tt.wantAttrs {
				got, ok := btn.Attr(k)
				switch {
				case want == "-" && ok:
					t.Errorf("%s present (%q), want absent", k, got)
				case want != "-" && !ok:
					t.Errorf("%s absent, want %q", k, want)
				case want != "-" && want != "" && got != want:
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if got := strings.TrimSpace(btn.Text()); got != tt.wantText {
				t.Errorf("text %q, want %q", got, tt.wantText)
			}
			if doc.Find("script").Length() != 0 {
				t.Errorf("children injected markup: %s", b.String())
			}
		})
	}
}

func TestButtonLink(t *testing.T) {
	t.Parallel()
	doc, _ := render(t, ui.ButtonLink("/checkout/checkout", ui.ButtonProps{TestID: "go", Variant: ui.Secondary}))
	a := doc.Find(`a[data-testid="go"]`)
	if href, _ := a.Attr("href"); href != "/checkout/checkout" {
		t.Errorf("href %q", href)
	}
	if class, _ := a.Attr("class"); class != "inlay-button inlay-button--secondary" {
		t.Errorf("class %q", class)
	}

	doc, _ = render(t, ui.ButtonLink("/checkout/checkout", ui.ButtonProps{TestID: "go", Disabled: true}))
	a = doc.Find(`a[data-testid="go"]`)
	if _, ok := a.Attr("href"); ok {
		t.Error("a disabled link can still be followed")
	}
	if v, _ := a.Attr("aria-disabled"); v != "true" {
		t.Errorf("aria-disabled %q", v)
	}
}

func TestPrice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		amount int64
		want   string
	}{
		{1000, "1000 Ø"},
		{0, "0 Ø"},
		{4100, "4100 Ø"},
		{-5, "-5 Ø"},
	}
	for _, tt := range tests {
		if got := ui.FormatPrice(tt.amount); got != tt.want {
			t.Errorf("FormatPrice(%d) = %q, want %q", tt.amount, got, tt.want)
		}
		doc, _ := render(t, ui.Price(tt.amount, "price"))
		span := doc.Find(`span[data-testid="price"]`)
		if span.Text() != tt.want {
			t.Errorf("Price(%d) text %q, want %q", tt.amount, span.Text(), tt.want)
		}
		if v, _ := span.Attr("data-amount"); v != strconv.FormatInt(tt.amount, 10) {
			t.Errorf("Price(%d) data-amount %q", tt.amount, v)
		}
	}
}
