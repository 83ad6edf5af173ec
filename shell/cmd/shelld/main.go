// Command shelld is the Inlay shell: it composes the storefront's pages from the teams' fragments,
// proxies /{context}/... to each team and serves the shell's assets. Configuration: SHELL_ADDR,
// SHELL_ADMIN_ADDR, SHELL_READY_WAIT, INLAY_TEAMS, INLAY_SHELL_PRIVATE_KEY, INLAY_PAGES_DIR, INLAY_MANIFEST_REFRESH,
// INLAY_FRAGMENT_TIMEOUT, INLAY_FRAGMENT_CACHE, INLAY_PURGE_TOKEN, INLAY_TRUSTED_PROXIES and the common variables
// (README).
package main

import (
	"context"
	"log/slog"

	"github.com/inlay-dev/inlay/services/kit"
	kitserver "github.com/inlay-dev/inlay/services/kit/server"
	"github.com/inlay-dev/inlay/shell/pages"
	"github.com/inlay-dev/inlay/shell/server"
)

func main() { kit.Main("shell", run) }

func run(ctx context.Context, cfg server.Config, log *slog.Logger) error {
	// Request bodies are not streamed: fasthttp then refuses a declared length over INLAY_BODY_LIMIT
	// with 413 before reading it, and cuts a chunked body off at the limit; the proxy holds form
	// posts to the tighter server.FormBodyLimit.
	svc, err := kit.Start(ctx, kit.Options{Name: "shell", Addr: cfg.Addr, Common: cfg.Common, Log: log,
		Redis: cfg.Cache, AdminAddr: cfg.AdminAddr, Public: true, ErrorPage: server.ErrorPage, ReadBufferSize: kitserver.PublicReadBuffer})
	if err != nil {
		return err
	}
	defer svc.Close()
	sh, err := server.New(ctx, server.Options{Config: cfg, Log: log, Pages: pages.All(), NotFound: pages.NotFound(),
		Redis: svc.Redis, RedisPrefix: string(svc.Keys), Registry: svc.Server.Registry, Tracer: svc.Tracing})
	if err != nil {
		return err
	}
	defer sh.Close()
	sh.Mount(svc.Server.App)
	sh.MountAdmin(svc.Server.Admin)
	svc.Server.AddCheck("manifests", sh.Ready)
	svc.Server.App.Use(sh.NotFound)
	svc.Go(sh.Run)
	return svc.Run(ctx)
}
