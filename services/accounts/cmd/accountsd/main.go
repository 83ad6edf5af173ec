// Command accountsd runs the accounts service: customers, credentials and addresses (PostgreSQL, with
// the event outbox and its relay), sessions, the sign-in throttle and form flashes (Redis), the
// fragments and form endpoints the shell composes and proxies, and the /v1 JSON API, on
// ACCOUNTS_ADDR (default :8107). Every other variable is listed in the README.
package main

import (
	"context"
	"log/slog"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/accounts"
	"github.com/inlay-dev/inlay/services/accounts/api"
	"github.com/inlay-dev/inlay/services/accounts/argon2id"
	"github.com/inlay-dev/inlay/services/accounts/postgres"
	accountsredis "github.com/inlay-dev/inlay/services/accounts/redis"
	"github.com/inlay-dev/inlay/services/accounts/static"
	"github.com/inlay-dev/inlay/services/accounts/ui"
	"github.com/inlay-dev/inlay/services/accounts/ui/accountmenu"
	"github.com/inlay-dev/inlay/services/accounts/ui/signin"
	"github.com/inlay-dev/inlay/services/kit"
	"github.com/inlay-dev/inlay/services/kit/config"
)

// Config is the accounts process's configuration.
type Config struct {
	config.Common
	config.FragmentServer
	// Addr is the listen address; ":0" picks a free port.
	Addr string `env:"ACCOUNTS_ADDR" envDefault:":8107"`
}

func main() { kit.Main("accounts", run) }

func run(ctx context.Context, cfg Config, log *slog.Logger) error {
	svc, err := kit.Start(ctx, kit.Options{
		Name:       ui.Context,
		Addr:       cfg.Addr,
		Common:     cfg.Common,
		Log:        log,
		Migrations: postgres.Migrations(),
		Events:     true,
		Fragments:  &cfg.FragmentServer,
		Redis:      true,
	})
	if err != nil {
		return err
	}
	defer svc.Close()

	hasher, err := argon2id.New(argon2id.Default)
	if err != nil {
		return err
	}
	service, err := accounts.NewService(accounts.ServiceOptions{
		Customers: postgres.NewCustomers(svc.DB),
		Sessions:  accountsredis.NewSessions(svc.Redis, svc.Keys, accounts.SessionIdle),
		Throttle: accountsredis.NewThrottle(svc.Redis, svc.Keys, accountsredis.SignInLimit).
			WithLimit(accountsredis.EmailKeyPrefix, accountsredis.EmailSignInLimit).
			WithLimit(accountsredis.ClientKeyPrefix, accountsredis.ClientSignInLimit),
		Hasher: hasher,
		Log:    log,
	})
	if err != nil {
		return err
	}
	assets, err := static.New(fragments.AssetURL(ui.Context, ""))
	if err != nil {
		return err
	}
	if _, err := ui.Mount(svc.Server.App, ui.Options{Service: service, Flashes: accountsredis.NewFlashes(svc.Redis, svc.Keys),
		Assets: assets, Verifier: svc.Verifier, SecureCookie: !cfg.Dev()}); err != nil {
		return err
	}
	api.New(service, svc.Verifier).Mount(svc.Server.App)
	// Ready once the header's Account Menu and the sign-in form have rendered (pools open, queries warm).
	svc.Server.AddCheck("warm", fragments.WarmUp(svc.Server.App, svc.Verifier, accountmenu.Name, signin.Name))

	svc.Relay() // publishes the outbox: customer.registered, address.changed
	return svc.Run(ctx)
}
