package server

import (
	"time"

	"github.com/inlay-dev/inlay/services/kit/config"
)

// Config is the shell process's configuration.
type Config struct {
	config.Common
	// Addr is the shell's listen address.
	Addr string `env:"SHELL_ADDR" envDefault:":8080"`
	// AdminAddr is the admin listener's address: /metrics and the purge API, never on the public port.
	AdminAddr string `env:"SHELL_ADMIN_ADDR" envDefault:"127.0.0.1:9080"`
	// ReadyWait bounds how long /readyz waits for every team's manifest to be read once: after it the
	// shell reports ready anyway, so a team that is down cannot keep the shell out of rotation.
	ReadyWait time.Duration `env:"SHELL_READY_WAIT" envDefault:"30s"`
	// Teams is the team registry: context=baseURL pairs, comma-separated; fragments.DefaultTeams
	// (every team on its local port) when empty.
	Teams string `env:"INLAY_TEAMS"`
	// DNSRefresh is how often a registry URL's host name is resolved again, each address it resolves
	// to an instance of the team; 0 leaves names to the dialer (one instance per URL).
	DNSRefresh time.Duration `env:"INLAY_DNS_REFRESH" envDefault:"10s"`
	// PrivateKey is the base64 Ed25519 seed (32 bytes) the shell signs Inlay-Context with. In dev an
	// ephemeral key is generated (and logged) when it is unset.
	PrivateKey string `env:"INLAY_SHELL_PRIVATE_KEY" prod:"required"`
	// PagesDir, when set, is a directory of page template files (*.html) served at /{name}.
	PagesDir string `env:"INLAY_PAGES_DIR"`
	// ManifestRefresh is how often the teams' manifests are re-read.
	ManifestRefresh time.Duration `env:"INLAY_MANIFEST_REFRESH" envDefault:"15s"`
	// FragmentTimeout is a fragment's deadline when neither its tag nor its manifest names one.
	FragmentTimeout time.Duration `env:"INLAY_FRAGMENT_TIMEOUT" envDefault:"500ms"`
	// PurgeToken, when set, is the bearer token the cache purge API requires; when unset only
	// loopback callers may purge (dev only: in prod the teams purge from other hosts).
	PurgeToken string `env:"INLAY_PURGE_TOKEN" prod:"required"`
	// Cache turns the fragment cache (in process and Redis) on or off.
	Cache bool `env:"INLAY_FRAGMENT_CACHE" envDefault:"true"`
	// TrustedProxies lists the addresses and CIDR prefixes of the proxies in front of the shell whose
	// X-Forwarded-For it believes when it signs the client's address into Inlay-Context.
	TrustedProxies string `env:"INLAY_TRUSTED_PROXIES"`
	// StreamGrace is how long a page whose primary has answered waits for its other fragments before
	// it streams: a page whose fragments all arrive within it goes out in one write.
	StreamGrace time.Duration `env:"INLAY_STREAM_GRACE" envDefault:"20ms"`
	// MaxPages is how many pages the shell composes at once (0: no limit). A page past it waits up
	// to PageWait for one to end, and is then shed: 503 with Retry-After, the shell's own page, no
	// fragment fetched. An overloaded shell bounds the fragment requests it has in flight (six or so
	// per page) and the memory of its compositions, instead of starting every page that arrives.
	// What it does not bound is the connections the clients open (BENCHMARKS.md, load: past capacity).
	MaxPages int `env:"INLAY_MAX_PAGES" envDefault:"512"`
	// PageWait is how long a page past MaxPages waits for a slot before it is shed.
	PageWait time.Duration `env:"INLAY_PAGE_WAIT" envDefault:"100ms"`
}
