// Package ui is Inlay's shared pattern library: small templ components every team's fragments use so
// the storefront looks like one site (STYLE.md, "Fragments and templ"). Components take props
// structs, do no I/O, accept extra attributes as templ.Attributes and content as children. Their
// look is the library's own stylesheet (ui.css, keyed on the classes documented here), which the
// shell serves content-hashed (Assets) and links once in every composed page.
package ui

import (
	"strconv"
	"strings"

	"github.com/a-h/templ"
)

// ButtonVariant chooses a button's emphasis.
type ButtonVariant string

// Button variants: one primary action per view (add to basket, place order); secondary for the rest.
const (
	Primary   ButtonVariant = "primary"
	Secondary ButtonVariant = "secondary"
)

// ButtonProps configures Button and ButtonLink.
type ButtonProps struct {
	// Variant is Primary (the default when empty) or Secondary.
	Variant ButtonVariant
	// Type is the button's type attribute: "button" (default), "submit" or "reset". ButtonLink ignores it.
	Type string
	// Disabled renders a disabled button (ButtonLink: aria-disabled and no href).
	Disabled bool
	// TestID is the data-testid, for tests and the e2e harness.
	TestID string
	// Attrs are extra attributes: name/value, hx-post, form, aria-*, ...
	Attrs templ.Attributes
}

// variant returns the variant, defaulting to Primary; an unknown one falls back to Primary too, so a
// typo cannot produce an unstyled button.
func (p ButtonProps) variant() ButtonVariant {
	if p.Variant == Secondary {
		return Secondary
	}
	return Primary
}

// class is "inlay-button inlay-button--{variant}".
func (p ButtonProps) class() string {
	return "inlay-button inlay-button--" + string(p.variant())
}

func (p ButtonProps) buttonType() string {
	switch p.Type {
	case "submit", "reset":
		return p.Type
	default:
		return "button"
	}
}

// PriceCurrency is the storefront's currency sign.
const PriceCurrency = "Ø"

// FormatPrice writes an amount of whole Ø as the storefront shows it: "1000 Ø", "-5 Ø".
func FormatPrice(amount int64) string {
	var b strings.Builder
	b.WriteString(strconv.FormatInt(amount, 10))
	b.WriteString(" ")
	b.WriteString(PriceCurrency)
	return b.String()
}

func amountAttr(amount int64) string { return strconv.FormatInt(amount, 10) }
