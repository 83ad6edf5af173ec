// Package ui is accounts' storefront surface: the manifest, the fragments under /fragments/{name}
// (account-menu, sign-in, register, profile; one sub-package each) and the form endpoints under
// /ui/... that the shell proxies from /accounts/... (POST /accounts/login reaches POST /ui/login).
// Everything sits behind the Inlay-Context check; the endpoints also need the context's CSRF token.
package ui

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/accounts/static"
	"github.com/inlay-dev/inlay/services/accounts/ui/accountmenu"
	"github.com/inlay-dev/inlay/services/accounts/ui/internal/form"
	"github.com/inlay-dev/inlay/services/accounts/ui/profile"
	"github.com/inlay-dev/inlay/services/accounts/ui/register"
	"github.com/inlay-dev/inlay/services/accounts/ui/signin"
)

// Context is accounts' context name: its manifest name, data-boundary and asset prefix.
const Context = "accounts"

// Service is what the fragments and endpoints ask of accounts' domain (accounts.Service).
type Service interface {
	accountmenu.CustomerReader
	accountmenu.SessionEnder
	signin.SignInner
	register.Registrar
	profile.AddressChanger
}

// Options configures Mount.
type Options struct {
	Service Service
	Flashes form.Flashes
	Assets  *static.Assets
	// Verifier checks the shell's Inlay-Context on every fragment and /ui request.
	Verifier *fragments.Verifier
	// SecureCookie marks the session cookie Secure (outside dev mode).
	SecureCookie bool
}

// Mount adds the manifest, the assets, the fragments and the /ui endpoints to r and returns the
// manifest.
func Mount(r fiber.Router, opts Options) (fragments.Manifest, error) {
	if opts.Service == nil || opts.Flashes == nil || opts.Assets == nil || opts.Verifier == nil {
		return fragments.Manifest{}, fmt.Errorf("accounts ui: Service, Flashes, Assets and Verifier are required")
	}
	css, err := opts.Assets.Path("accounts.css")
	if err != nil {
		return fragments.Manifest{}, err
	}
	m, err := manifest(opts.Assets.Version(), css)
	if err != nil {
		return fragments.Manifest{}, err
	}
	fragments.ServeManifest(r, m)
	opts.Assets.Mount(r)

	assets := func(name string) fragments.RenderOption { return fragments.Assets(m, name) }
	g := r.Group("/fragments", fragments.Middleware(opts.Verifier))
	g.Get("/"+accountmenu.Name, accountmenu.Handler(opts.Service, assets(accountmenu.Name)))
	g.Get("/"+signin.Name, signin.Handler(opts.Flashes, assets(signin.Name)))
	g.Get("/"+register.Name, register.Handler(opts.Flashes, assets(register.Name)))
	g.Get("/"+profile.Name, profile.Handler(opts.Service, opts.Flashes, assets(profile.Name)))

	u := r.Group("/ui", fragments.Middleware(opts.Verifier), fragments.RequireCSRF())
	u.Post("/login", signin.Submit(opts.Service, opts.Flashes, opts.SecureCookie))
	u.Post("/register", register.Submit(opts.Service, opts.Flashes, opts.SecureCookie))
	u.Post("/logout", accountmenu.SignOut(opts.Service, opts.SecureCookie))
	u.Post("/address", profile.SubmitAddress(opts.Service, opts.Flashes))
	return m, nil
}

func manifest(version, css string) (fragments.Manifest, error) {
	m := fragments.Manifest{Name: Context, Version: version, Fragments: map[string]fragments.Fragment{}}
	for _, f := range []struct {
		name     string
		timeout  time.Duration
		fallback templ.Component
		params   []string
		// csrf: the fragment renders a form a guest can post (the account menu's sign-out form is
		// a customer's only, and a customer's context always carries the token).
		csrf bool
	}{
		{accountmenu.Name, 200 * time.Millisecond, menuFallback(), nil, false},
		{signin.Name, time.Second, unavailable("sign-in", "Signing in is not possible right now. Please try again in a minute."), []string{"next", "error"}, true},
		{register.Name, time.Second, unavailable("register", "Creating an account is not possible right now. Please try again in a minute."), []string{"error"}, true},
		{profile.Name, time.Second, unavailable("profile", "Your account cannot be shown right now. Please try again in a minute."), []string{"saved"}, true},
	} {
		var b bytes.Buffer
		if err := f.fallback.Render(context.Background(), &b); err != nil {
			return m, fmt.Errorf("accounts manifest: %s fallback: %w", f.name, err)
		}
		m.Fragments[f.name] = fragments.Fragment{Params: f.params, Timeout: fragments.Duration(f.timeout),
			Fallback: b.String(), Cache: fragments.Private, CSS: []string{css}, CSRF: f.csrf}
	}
	if err := m.Validate(); err != nil {
		return m, err
	}
	return m, nil
}
