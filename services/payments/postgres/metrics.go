package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// collector reports the payments table at scrape time, so the figures are what committed, never
// what a rolled-back handler counted.
type collector struct {
	s        *Store
	payments *prometheus.Desc
	amount   *prometheus.Desc
}

// Collector returns a Prometheus collector of payments by status:
//
//	inlay_payments_payments{status}       payments per status (authorized, declined, refunded)
//	inlay_payments_amount{status}         their amounts in Ø (a gauge: what the table holds now)
//
// Register it on the process's registry (svc.Server.Registry.MustRegister(store.Collector())).
func (s *Store) Collector() prometheus.Collector {
	return &collector{s: s,
		payments: prometheus.NewDesc("inlay_payments_payments", "Payments per status.", []string{"status"}, nil),
		amount:   prometheus.NewDesc("inlay_payments_amount", "Sum of the payments' amounts per status, in Ø.", []string{"status"}, nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.payments
	ch <- c.amount
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rows, err := c.s.pool.Query(ctx, `SELECT status, count(*), coalesce(sum(amount), 0) FROM payments GROUP BY status`)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.payments, err)
		return
	}
	var status string
	var n, amount int64
	_, err = pgx.ForEachRow(rows, []any{&status, &n, &amount}, func() error {
		ch <- prometheus.MustNewConstMetric(c.payments, prometheus.GaugeValue, float64(n), status)
		ch <- prometheus.MustNewConstMetric(c.amount, prometheus.GaugeValue, float64(amount), status)
		return nil
	})
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.payments, err)
	}
}
