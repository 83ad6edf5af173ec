package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/inlay-dev/inlay/services/kit/config"
	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/logging"
	"github.com/inlay-dev/inlay/services/kit/postgres"
)

// TestSaga runs payments (this process's wiring, in process) and inventory (its real binary) on their
// own databases and exchange, plays checkout's part with an outbox and relay of its own, and watches
// every event like another context would: orders that succeed, are declined, run out of stock (and
// are refunded), arrive twice, inventory and then payments restarted mid-saga, and 50 orders at
// once for 8 units.
func TestSaga(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sg := startSaga(t, ctx)
	seen, publish, inventory, inv, payments := sg.seen, sg.publish, sg.inventory, sg.inv, sg.payments

	// The seed published every sku's stock.
	waitFor(t, ctx, "the seed's stock.changed", func() bool { return len(seen.of("AU-01-SI")) > 0 })
	setStock(t, ctx, inv, "AU-01-SI", 3)

	ok := orderPlaced(t, "o-ok", "4242 4242 4242 4242", line{"AU-01-SI", 2}, line{"AU-02-OG", 1})
	publish(ok, ok) // the same event twice, as a relay that died before marking it sent would
	publish(orderPlaced(t, "o-declined", "4000 0000 0000 0002", line{"AU-01-SI", 1}))
	publish(orderPlaced(t, "o-funds", "4000000000009995", line{"AU-01-SI", 1}))
	seen.wait(t, ctx, "o-ok", "authorized", "reserved")
	seen.wait(t, ctx, "o-declined", "declined card declined")
	seen.wait(t, ctx, "o-funds", "declined insufficient funds")

	// One AU-01-SI is left: an order of two is rejected, and its payment refunded.
	publish(orderPlaced(t, "o-short", "4242424242424242", line{"AU-02-OG", 1}, line{"AU-01-SI", 2}))
	seen.wait(t, ctx, "o-short", "authorized", "rejected out of stock [AU-01-SI]", "refunded out of stock")

	for order, want := range map[string]string{"o-ok": "authorized", "o-declined": "declined", "o-funds": "declined", "o-short": "refunded"} {
		var p struct {
			Status string `json:"status"`
			Amount int64  `json:"amount"`
			Last4  string `json:"card_last4"`
		}
		if code := get(ctx, payments+"/v1/payments/"+order, &p); code != http.StatusOK || p.Status != want {
			t.Errorf("payment of %s: %d %+v, want %s", order, code, p, want)
		}
	}
	if body := scrape(t, ctx, payments+"/metrics"); !strings.Contains(body, `inlay_payments_payments{status="refunded"} 1`) ||
		!strings.Contains(body, `inlay_payments_payments{status="declined"} 2`) {
		t.Errorf("payments' metrics do not count the payments:\n%s", body)
	}
	if code := get(ctx, payments+"/v1/payments/nobody", nil); code != http.StatusNotFound {
		t.Errorf("payment of an unknown order: %d, want 404", code)
	}
	expectStock(t, ctx, inv, "AU-01-SI", 1)
	expectStock(t, ctx, inv, "AU-02-OG", 3) // the seed's 4, one reserved by o-ok

	// inventory stops mid-saga: payments authorizes, the payment waits in inventory's queue, and a
	// restarted inventory reserves it. Then checkout cancels the order and the stock comes back.
	inventory.stop(t)
	publish(orderPlaced(t, "o-restart", "4242424242424242", line{"AU-02-OG", 1}))
	seen.wait(t, ctx, "o-restart", "authorized")
	inventory.start(t, ctx)
	seen.wait(t, ctx, "o-restart", "authorized", "reserved")
	expectStock(t, ctx, inv, "AU-02-OG", 2)
	publish(orderCancelled(t, "o-restart"))
	waitFor(t, ctx, "the released stock", func() bool { return stockOf(ctx, inv, "AU-02-OG") == 3 })

	// payments stops mid-saga: the order waits in its queue, and a restarted payments authorizes it.
	sg.paymentsd.stop(t)
	publish(orderPlaced(t, "o-payments-restart", "4242424242424242", line{"AU-02-OG", 1}))
	sg.paymentsd.start(t, ctx)
	seen.wait(t, ctx, "o-payments-restart", "authorized", "reserved")
	expectStock(t, ctx, inv, "AU-02-OG", 2)

	// 50 orders at once for a sku with 8 in stock: exactly 8 reserved, 42 rejected and refunded.
	setStock(t, ctx, inv, "AU-01-SI", 8)
	var rush []events.Event
	for i := range 50 {
		rush = append(rush, orderPlaced(t, fmt.Sprintf("rush-%02d", i), "4242424242424242", line{"AU-01-SI", 1}))
	}
	began := time.Now()
	publish(rush...)
	reserved, refunded := 0, 0
	waitFor(t, ctx, "50 orders to settle", func() bool {
		reserved, refunded = 0, 0
		seen.mu.Lock()
		defer seen.mu.Unlock()
		for i := range 50 {
			switch evs := seen.orders[fmt.Sprintf("rush-%02d", i)]; {
			case slices.Equal(evs, []string{"authorized", "reserved"}):
				reserved++
			case slices.Equal(evs, []string{"authorized", "rejected out of stock [AU-01-SI]", "refunded out of stock"}):
				refunded++
			}
		}
		return reserved+refunded == 50
	})
	t.Logf("50 orders placed → authorized → reserved or rejected and refunded in %v", time.Since(began).Round(time.Millisecond))
	if reserved != 8 || refunded != 42 {
		t.Errorf("%d reserved, %d refunded; want 8 and 42", reserved, refunded)
	}
	expectStock(t, ctx, inv, "AU-01-SI", 0)
	for _, q := range seen.of("AU-01-SI") {
		if q < 0 {
			t.Errorf("stock.changed of AU-01-SI with %d", q)
		}
	}

	// Nothing was applied twice: each order's events are exactly the expected ones.
	seen.wait(t, ctx, "o-ok", "authorized", "reserved")
	seen.wait(t, ctx, "o-short", "authorized", "rejected out of stock [AU-01-SI]", "refunded out of stock")
}

// saga is payments and inventory running, with checkout's outbox and a probe.
type saga struct {
	seen      *seenEvents
	publish   func(...events.Event)
	inventory *process
	paymentsd *inProcess
	inv       string // inventory's base URL
	payments  string // payments' base URL
}

// startSaga starts payments (this process's wiring, in process) and inventory (its real binary) on
// their own databases and exchange, checkout's outbox and relay, and the probe; everything stops and
// is removed when t ends.
func startSaga(t testing.TB, ctx context.Context) *saga {
	t.Helper()
	exchange := kittest.Exchange(t)
	prefix := kittest.UniqueName("t") + "_"
	inventoryBin := buildInventory(t, ctx)
	for _, name := range []string{"payments", "inventory"} {
		t.Cleanup(func() {
			cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c := config.Common{PostgresURL: kittest.PostgresURL(), DBPrefix: prefix}
			if u, err := c.DatabaseURL(name); err == nil {
				if err := postgres.DropDatabase(cctx, u); err != nil {
					t.Logf("drop %s database: %v", name, err)
				}
			}
			q := events.NewConsumer(events.ConsumerOptions{Name: name, AMQPURL: kittest.AMQPURL(), Exchange: exchange})
			if err := q.DeleteQueues(cctx); err != nil {
				t.Logf("delete %s queues: %v", name, err)
			}
		})
	}
	seen := probe(t, ctx, exchange)
	publish := checkout(t, ctx, exchange)

	inventory := &process{bin: inventoryBin, addr: kittest.FreeAddr(t), env: []string{
		"INLAY_ENV=dev", "LOG_LEVEL=warn", "POSTGRES_URL=" + kittest.PostgresURL(), "INLAY_DB_PREFIX=" + prefix,
		"AMQP_URL=" + kittest.AMQPURL(), "INLAY_EXCHANGE=" + exchange, "INVENTORY_ADMIN_TOKEN=test-token",
		"INVENTORY_CATCHUP=false"}}
	inventory.start(t, ctx)
	t.Cleanup(func() { inventory.stop(t) })

	var cfg Config
	if err := config.Load(&cfg); err != nil {
		t.Fatal(err)
	}
	cfg.PostgresURL, cfg.AMQPURL, cfg.Exchange, cfg.DBPrefix = kittest.PostgresURL(), kittest.AMQPURL(), exchange, prefix
	cfg.Addr = kittest.FreeAddr(t)
	paymentsd := &inProcess{cfg: cfg}
	paymentsd.start(t, ctx)
	t.Cleanup(func() { paymentsd.stop(t) })
	payments := "http://" + cfg.Addr
	return &saga{seen: seen, publish: publish, inventory: inventory, paymentsd: paymentsd, inv: "http://" + inventory.addr, payments: payments}
}

type line struct {
	sku      string
	quantity int
}

// orderPlaced is checkout's order.placed as agreed (ISSUES.md issue 6).
func orderPlaced(t testing.TB, order, card string, lines ...line) events.Event {
	t.Helper()
	var ls []map[string]any
	var total int64
	for _, l := range lines {
		ls = append(ls, map[string]any{"sku": l.sku, "name": l.sku, "quantity": l.quantity, "unit_price": 1000})
		total += int64(l.quantity) * 1000
	}
	e, err := events.New("checkout", "checkout.order.placed.v1", order, map[string]any{
		"order_id": order, "lines": ls, "total": total, "card": map[string]any{"number": card}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func orderCancelled(t testing.TB, order string) events.Event {
	t.Helper()
	e, err := events.New("checkout", "checkout.order.cancelled.v1", order, map[string]any{
		"order_id": order, "reason": "changed my mind", "lines": []map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// seenEvents collects the saga's events per order, summarised ("authorized", "declined card declined").
type seenEvents struct {
	mu     sync.Mutex
	orders map[string][]string
	stock  map[string][]int
}

func (s *seenEvents) of(sku string) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.stock[sku])
}

// wait waits until order's events are exactly want, failing at once when they went past it.
func (s *seenEvents) wait(t testing.TB, ctx context.Context, order string, want ...string) {
	t.Helper()
	waitFor(t, ctx, fmt.Sprintf("%s: %q", order, want), func() bool {
		s.mu.Lock()
		got := slices.Clone(s.orders[order])
		s.mu.Unlock()
		if len(got) > len(want) || !slices.Equal(got, want[:len(got)]) {
			t.Fatalf("%s: events %q, want %q", order, got, want)
		}
		return len(got) == len(want)
	})
}

// probe listens on the exchange like another context would.
func probe(t testing.TB, ctx context.Context, exchange string) *seenEvents {
	t.Helper()
	pool := kittest.Postgres(t, nil)
	if err := events.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	s := &seenEvents{orders: map[string][]string{}, stock: map[string][]int{}}
	c := events.NewConsumer(events.ConsumerOptions{Name: "probe", Pool: pool, AMQPURL: kittest.AMQPURL(),
		Exchange: exchange, Log: logging.New(io.Discard, "probe", slog.LevelError)})
	record := func(_ context.Context, _ pgx.Tx, e events.Event) error {
		var d struct {
			OrderID  string   `json:"order_id"`
			Reason   string   `json:"reason"`
			SKUs     []string `json:"skus"`
			SKU      string   `json:"sku"`
			Quantity int      `json:"quantity"`
		}
		if err := json.Unmarshal(e.Data, &d); err != nil {
			return events.Permanent(err)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		switch e.Type {
		case "inventory.stock.changed.v1":
			s.stock[d.SKU] = append(s.stock[d.SKU], d.Quantity)
			return nil
		case "inventory.stock.rejected.v1":
			s.orders[d.OrderID] = append(s.orders[d.OrderID], fmt.Sprintf("rejected %s %v", d.Reason, d.SKUs))
			return nil
		}
		name := e.Type[strings.LastIndex(e.Type[:len(e.Type)-3], ".")+1 : len(e.Type)-3]
		if d.Reason != "" {
			name += " " + d.Reason
		}
		s.orders[d.OrderID] = append(s.orders[d.OrderID], name)
		return nil
	}
	c.Handle("payments.#", record)
	c.Handle("inventory.#", record)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		<-done
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.DeleteQueues(cctx); err != nil {
			t.Logf("delete probe queues: %v", err)
		}
		if err := events.DeleteExchange(cctx, kittest.AMQPURL(), exchange); err != nil {
			t.Logf("delete exchange: %v", err)
		}
	})
	waitFor(t, ctx, "the probe consumer", func() bool { return c.Ready(ctx) == nil })
	return s
}

// checkout starts an outbox and relay in a database of its own, publishing to exchange as checkout
// would, and returns a function adding events to that outbox in one transaction.
func checkout(t testing.TB, ctx context.Context, exchange string) func(...events.Event) {
	t.Helper()
	db := kittest.Postgres(t, nil)
	if err := events.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	relay := events.NewRelay(events.RelayOptions{Name: "checkout", Pool: db, AMQPURL: kittest.AMQPURL(),
		Exchange: exchange, Log: logging.New(io.Discard, "checkout", slog.LevelError), PollInterval: 100 * time.Millisecond})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- relay.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("relay: %v", err)
		}
	})
	outbox := events.NewOutbox("checkout")
	return func(es ...events.Event) {
		t.Helper()
		err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
			for _, e := range es {
				// The same event twice is two outbox rows with one id: the relay publishes both.
				if _, err := tx.Exec(ctx, `SAVEPOINT dup`); err != nil {
					return err
				}
				if err := outbox.Add(ctx, tx, e); err != nil {
					if _, rerr := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT dup`); rerr != nil {
						return rerr
					}
					if err := republish(ctx, tx, e); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// republish writes e to the outbox a second time under a new row, the way a relay that died between
// the broker's confirm and marking the row sent publishes it again.
func republish(ctx context.Context, tx pgx.Tx, e events.Event) error {
	body, err := e.Marshal()
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO inlay_outbox (id, type, subject, body) VALUES (gen_random_uuid(), $1, $2, $3)`,
		e.Type, e.Subject, body)
	return err
}

// inProcess is paymentsd's wiring (run) the test starts and stops in this process.
type inProcess struct {
	cfg  Config
	stop func(t testing.TB)
}

func (p *inProcess) start(t testing.TB, ctx context.Context) {
	t.Helper()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(runCtx, p.cfg, logging.New(io.Discard, "payments", slog.LevelError)) }()
	var once sync.Once
	p.stop = func(t testing.TB) {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("paymentsd: %v", err)
			}
		})
	}
	waitFor(t, ctx, "paymentsd to be ready", func() bool {
		select {
		case err := <-done:
			t.Fatalf("paymentsd exited: %v", err)
		default:
		}
		return get(ctx, "http://"+p.cfg.Addr+"/readyz", nil) == http.StatusOK
	})
}

// process is a service binary the test starts and stops.
type process struct {
	bin, addr string
	env       []string
	cmd       *exec.Cmd
	out       bytes.Buffer
	done      chan error
}

func (p *process) start(t testing.TB, ctx context.Context) {
	t.Helper()
	p.cmd = exec.Command(p.bin)
	p.cmd.Env = append(os.Environ(), append(p.env, "INVENTORY_ADDR="+p.addr)...)
	p.out.Reset()
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.done = make(chan error, 1)
	go func() { p.done <- p.cmd.Wait() }()
	waitFor(t, ctx, p.bin+" to be ready", func() bool {
		select {
		case err := <-p.done:
			t.Fatalf("%s exited: %v\n%s", p.bin, err, p.out.String())
		default:
		}
		return get(ctx, "http://"+p.addr+"/readyz", nil) == http.StatusOK
	})
}

func (p *process) stop(t testing.TB) {
	t.Helper()
	if p.cmd == nil {
		return
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Logf("stop %s: %v", p.bin, err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("%s: %v\n%s", p.bin, err, p.out.String())
		}
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%s did not stop on SIGTERM", p.bin)
	}
	p.cmd = nil
}

// buildInventory builds inventoryd: the test runs the other service as the real process it is.
func buildInventory(t testing.TB, ctx context.Context) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "inventoryd")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/inlay-dev/inlay/services/inventory/cmd/inventoryd")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build inventoryd: %v\n%s", err, out)
	}
	return bin
}

var client = &http.Client{Timeout: 5 * time.Second}

// get fetches url into v (when not nil) and returns the status, 0 when the request failed.
func get(ctx context.Context, url string, v any) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			return 0
		}
	}
	return resp.StatusCode
}

func stockOf(ctx context.Context, base, sku string) int {
	var s struct {
		Quantity int `json:"quantity"`
	}
	if get(ctx, base+"/v1/stock/"+sku, &s) != http.StatusOK {
		return -1
	}
	return s.Quantity
}

func expectStock(t testing.TB, ctx context.Context, base, sku string, want int) {
	t.Helper()
	if got := stockOf(ctx, base, sku); got != want {
		t.Errorf("stock of %s: %d, want %d", sku, got, want)
	}
}

func setStock(t testing.TB, ctx context.Context, base, sku string, q int) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/admin/stock/"+sku, strings.NewReader(fmt.Sprintf(`{"quantity": %d}`, q)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer test-token")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("set stock of %s: %d", sku, resp.StatusCode)
	}
}

func waitFor(t testing.TB, ctx context.Context, what string, ok func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}

// BenchmarkSaga measures one order at a time from checkout's outbox commit to inventory's
// stock.reserved seen by another context (order.placed → payments → payment.authorized → inventory
// → stock.reserved, through RabbitMQ), and reports the p50 and p95 of that latency:
//
//	go test -run XXX -bench Saga -benchtime 200x ./services/payments/cmd/paymentsd
func BenchmarkSaga(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sg := startSaga(b, ctx)
	waitFor(b, ctx, "the seed's stock.changed", func() bool { return len(sg.seen.of("AU-01-SI")) > 0 })
	setStock(b, ctx, sg.inv, "AU-01-SI", 1_000_000)
	latencies := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		order := fmt.Sprintf("bench-%d", i)
		e := orderPlaced(b, order, "4242424242424242", line{"AU-01-SI", 1})
		began := time.Now()
		sg.publish(e)
		sg.seen.wait(b, ctx, order, "authorized", "reserved")
		latencies = append(latencies, time.Since(began))
	}
	b.StopTimer()
	slices.Sort(latencies)
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(latencies[len(latencies)*95/100].Microseconds())/1000, "p95-ms")
}

func scrape(t testing.TB, ctx context.Context, url string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
