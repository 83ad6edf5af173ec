package api_test

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/services/kit/errs"
	"github.com/inlay-dev/inlay/services/kit/kittest/apitest"
	"github.com/inlay-dev/inlay/services/kit/logging"
	"github.com/inlay-dev/inlay/services/kit/server"
	"github.com/inlay-dev/inlay/services/payments"
	"github.com/inlay-dev/inlay/services/payments/api"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json from the current responses")

type reader map[string]payments.Payment

func (r reader) Payment(_ context.Context, id string) (payments.Payment, error) {
	if id == "broken" {
		return payments.Payment{}, errors.New("database down")
	}
	p, ok := r[id]
	if !ok {
		return payments.Payment{}, errs.Errorf(errs.ENOTFOUND, "no payment for order %q", id)
	}
	return p, nil
}

func TestAPI(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	srv := server.New(server.Options{Name: "payments", Log: logging.New(io.Discard, "payments", slog.LevelError)})
	api.New(reader{
		"o1": {ID: "p1", OrderID: "o1", Status: payments.StatusRefunded, Amount: 900, Reason: "out of stock",
			CardLast4: "4242", CreatedAt: at, UpdatedAt: at},
		"o2": {ID: "p2", OrderID: "o2", Status: payments.StatusAuthorized, Amount: 100, CardLast4: "4242", CreatedAt: at, UpdatedAt: at},
	}).Mount(srv.App)
	for _, tc := range []struct {
		path string
		code int
		want string
	}{
		{"/v1/payments/o1", 200, `{"payment_id":"p1","order_id":"o1","status":"refunded","amount":900,"reason":"out of stock","card_last4":"4242","created_at":"2026-11-23T09:00:00Z","updated_at":"2026-11-23T09:00:00Z"}`},
		{"/v1/payments/o2", 200, `"status":"authorized","amount":100,"card_last4"`},
		{"/v1/payments/o3", 404, `"code":"not_found"`},
		{"/v1/payments/broken", 500, `"code":"internal"`},
	} {
		resp, err := srv.App.Test(httptest.NewRequest("GET", tc.path, nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.want) {
			t.Errorf("GET %s: %d %s; want %d with %s", tc.path, resp.StatusCode, b, tc.code, tc.want)
		}
		if strings.Contains(string(b), "database down") {
			t.Errorf("GET %s leaks the internal error: %s", tc.path, b)
		}
		if tc.path == "/v1/payments/o1" {
			apitest.Example(t, filepath.Join("testdata", "payment.json"), b, *update)
			apitest.Decode(t, filepath.Join("testdata", "payment.json"), &api.Payment{})
		}
	}
}
