package config_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/inlay-dev/inlay/services/kit/config"
)

type testConfig struct {
	config.Common
	Addr string `env:"TESTD_ADDR" envDefault:":9999"`
}

func TestLoadDefaults(t *testing.T) {
	var cfg testConfig
	if err := config.Load(&cfg); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if cfg.Addr != ":9999" || !cfg.Dev() || cfg.Exchange != "inlay.events" {
		t.Fatalf("unexpected defaults: %+v", cfg)
	}
	got, err := cfg.DatabaseURL("decide")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "/inlay_decide?") {
		t.Fatalf("DatabaseURL = %q, want the inlay_decide database", got)
	}
	if cfg.KeyPrefix("checkout") != "checkout:" {
		t.Fatalf("KeyPrefix = %q", cfg.KeyPrefix("checkout"))
	}
}

func TestLoadOverridesAndErrors(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(*testing.T, testConfig)
	}{
		{name: "prefixes", env: map[string]string{"INLAY_DB_PREFIX": "inlay_e2e_", "INLAY_REDIS_PREFIX": "t1:"},
			check: func(t *testing.T, c testConfig) {
				if c.DatabaseName("explore") != "inlay_e2e_explore" || c.KeyPrefix("explore") != "t1:explore:" {
					t.Errorf("prefixes not applied: %q %q", c.DatabaseName("explore"), c.KeyPrefix("explore"))
				}
			}},
		{name: "bad env", env: map[string]string{"INLAY_ENV": "staging"}, wantErr: "INLAY_ENV"},
		{name: "bad duration", env: map[string]string{"INLAY_SHUTDOWN_TIMEOUT": "soon"}, wantErr: "INLAY_SHUTDOWN_TIMEOUT"},
		{name: "bad level", env: map[string]string{"LOG_LEVEL": "loud"}, wantErr: "LOG_LEVEL"},
		{name: "bad limit", env: map[string]string{"INLAY_BODY_LIMIT": "0"}, wantErr: "INLAY_BODY_LIMIT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var cfg testConfig
			err := config.Load(&cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load error = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, cfg)
		})
	}
}

// prodConfig has one variable of each kind prod refuses: one with a dev default, one without.
type prodConfig struct {
	config.Common
	config.FragmentServer
	Token string `env:"TESTD_TOKEN" envDefault:"dev-token" prod:"required"`
	Plain string `env:"TESTD_PLAIN" envDefault:"fine"`
}

func TestLoadProdRequired(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		missing []string // named in the error; none: Load succeeds
	}{
		{name: "dev needs none", env: map[string]string{"INLAY_ENV": "dev"}},
		{name: "prod needs all", env: map[string]string{"INLAY_ENV": "prod"}, missing: []string{"INLAY_SHELL_PUBLIC_KEY", "INLAY_EMBED_PUBLIC_KEY", "TESTD_TOKEN"}},
		{name: "prod refuses the dev default", env: map[string]string{"INLAY_ENV": "prod", "TESTD_TOKEN": "dev-token", "INLAY_SHELL_PUBLIC_KEY": "k", "INLAY_EMBED_PUBLIC_KEY": "e"},
			missing: []string{"TESTD_TOKEN"}},
		{name: "prod refuses blank", env: map[string]string{"INLAY_ENV": "prod", "TESTD_TOKEN": "s3cret", "INLAY_SHELL_PUBLIC_KEY": " ", "INLAY_EMBED_PUBLIC_KEY": "e"},
			missing: []string{"INLAY_SHELL_PUBLIC_KEY"}},
		{name: "prod with all set", env: map[string]string{"INLAY_ENV": "prod", "TESTD_TOKEN": "s3cret", "INLAY_SHELL_PUBLIC_KEY": "k", "INLAY_EMBED_PUBLIC_KEY": "e"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var cfg prodConfig
			err := config.Load(&cfg)
			if len(tt.missing) == 0 {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load succeeded, want an error naming %v", tt.missing)
			}
			for _, name := range tt.missing {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("Load error %q does not name %s", err, name)
				}
			}
			if strings.Contains(err.Error(), "TESTD_PLAIN") {
				t.Errorf("Load error %q names TESTD_PLAIN, which prod does not require", err)
			}
		})
	}
}

func TestProdRequired(t *testing.T) {
	f, _ := reflect.TypeFor[prodConfig]().FieldByName("Token")
	if name, ok := config.ProdRequired(f.Tag); !ok || name != "TESTD_TOKEN" {
		t.Errorf("ProdRequired(Token) = %q, %v; want TESTD_TOKEN, true", name, ok)
	}
	f, _ = reflect.TypeFor[prodConfig]().FieldByName("Plain")
	if name, ok := config.ProdRequired(f.Tag); ok {
		t.Errorf("ProdRequired(Plain) = %q, true; want false", name)
	}
}

func TestCheckAdminToken(t *testing.T) {
	dev, prod := config.Common{Env: "dev"}, config.Common{Env: "prod"}
	if err := dev.CheckAdminToken("X_ADMIN_TOKEN", config.DevAdminToken); err != nil {
		t.Errorf("dev with the dev token: %v", err)
	}
	if err := prod.CheckAdminToken("X_ADMIN_TOKEN", config.DevAdminToken); err == nil || !strings.Contains(err.Error(), "X_ADMIN_TOKEN") {
		t.Errorf("prod with the dev token: %v", err)
	}
	if err := prod.CheckAdminToken("X_ADMIN_TOKEN", "s3cret"); err != nil {
		t.Errorf("prod with a secret: %v", err)
	}
}
