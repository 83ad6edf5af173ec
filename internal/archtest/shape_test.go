package archtest

import (
	"path/filepath"
	"slices"
	"testing"
)

// TestTeamsHaveOneShape checks every team's packages against the shape rules. Tests are left out:
// a handler's test may run it on the real store (no mocks where the real thing runs).
func TestTeamsHaveOneShape(t *testing.T) {
	pkgs := listPackages(t, false)
	for _, v := range CheckShape(module, pkgs) {
		t.Error(v)
	}
}

// TestEventsLiveInEvents checks the repository's services/ for published events outside events/.
func TestEventsLiveInEvents(t *testing.T) {
	t.Parallel()
	vs, err := CheckEventHomes(filepath.Join("..", "..", "services"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		t.Error(v)
	}
}

func TestCheckShape(t *testing.T) {
	t.Parallel()
	m := module
	co := m + "/services/checkout"
	const (
		rootRule = " (a team's root package imports only the standard library, services/kit/errs and services/kit/clientip)"
		portRule = " (ui/, api/ and events/ reach postgres/ and redis/ only through interfaces; cmd/ wires them)"
	)
	tests := []struct {
		name string
		pkgs []Package
		want []string
	}{
		{name: "root imports the standard library and kit/errs; its external test imports it",
			pkgs: []Package{{co, []string{"errors", "net/mail", m + "/services/kit/errs", co}}}},
		{name: "root imports Fiber's server",
			pkgs: []Package{{co, []string{"fmt", m + "/services/kit/server"}}},
			want: []string{co + ": imports " + m + "/services/kit/server" + rootRule}},
		{name: "root imports a third-party package",
			pkgs: []Package{{co, []string{"github.com/google/uuid"}}},
			want: []string{co + ": imports github.com/google/uuid" + rootRule}},
		{name: "root imports its own adapter",
			pkgs: []Package{{co, []string{co + "/postgres"}}},
			want: []string{co + ": imports " + co + "/postgres" + rootRule}},
		{name: "a new import from ui to postgres",
			pkgs: []Package{{co + "/ui/cart", []string{co, co + "/postgres"}}},
			want: []string{co + "/ui/cart: imports " + co + "/postgres" + portRule}},
		{name: "ui imports redis",
			pkgs: []Package{{co + "/ui", []string{co + "/redis"}}},
			want: []string{co + "/ui: imports " + co + "/redis" + portRule}},
		{name: "events imports a postgres sub-package",
			pkgs: []Package{{co + "/events", []string{co + "/postgres/migrations"}}},
			want: []string{co + "/events: imports " + co + "/postgres/migrations" + portRule}},
		{name: "api imports postgres",
			pkgs: []Package{{m + "/services/decide/api", []string{m + "/services/decide/postgres"}}},
			want: []string{m + "/services/decide/api: imports " + m + "/services/decide/postgres" + portRule}},
		{name: "cmd wires adapters; postgres imports events; ui imports kit, pgx and its interfaces' types",
			pkgs: []Package{
				{co + "/cmd/checkoutd", []string{co + "/postgres", co + "/redis", co + "/ui", co + "/events"}},
				{co + "/postgres", []string{co, co + "/events", "github.com/jackc/pgx/v5"}},
				{co + "/ui/cart", []string{co, m + "/services/kit/errs", m + "/fragments", "github.com/gofiber/fiber/v2"}},
				{co + "/events", []string{co, "github.com/jackc/pgx/v5", m + "/services/kit/events"}},
			}},
		{name: "a package only named like a port",
			pkgs: []Package{{co + "/uikit", []string{co + "/postgres"}}}},
		{name: "the kit is no team",
			pkgs: []Package{{m + "/services/kit", []string{m + "/services/kit/server"}}, {m + "/services/kit/events/ui", []string{m + "/services/kit/postgres"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, v := range CheckShape(module, tt.pkgs) {
				got = append(got, v.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("CheckShape =\n %q\nwant\n %q", got, tt.want)
			}
		})
	}
}

// TestCheckEventHomesOnAFixture runs the check on testdata/services: a team "shop" whose postgres/
// declares an event type and whose redis/testdata holds an example event.
func TestCheckEventHomesOnAFixture(t *testing.T) {
	t.Parallel()
	vs, err := CheckEventHomes(filepath.Join("testdata", "services"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs {
		got = append(got, v.String())
	}
	want := []string{
		"services/shop/postgres/store.go: declares shop.order.placed.v1 (published event types live in events/, never in storage)",
		"services/shop/redis/testdata/order_placed.json: holds an example event (example events live in events/testdata)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("CheckEventHomes =\n %q\nwant\n %q", got, want)
	}
}
