package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// collector reports stock and reservations at scrape time, so the figures are what committed.
type collector struct {
	s            *Store
	reservations *prometheus.Desc
	units        *prometheus.Desc
	skus         *prometheus.Desc
	soldOut      *prometheus.Desc
}

// Collector returns a Prometheus collector of inventory's state:
//
//	inlay_inventory_reservations{status}  orders per reservation status (reserved, rejected, released, cancelled)
//	inlay_inventory_units                 units on hand over all skus
//	inlay_inventory_skus                  skus with a stock row
//	inlay_inventory_skus_sold_out         skus with nothing on hand
//
// Register it on the process's registry (svc.Server.Registry.MustRegister(store.Collector())).
func (s *Store) Collector() prometheus.Collector {
	return &collector{s: s,
		reservations: prometheus.NewDesc("inlay_inventory_reservations", "Orders per reservation status.", []string{"status"}, nil),
		units:        prometheus.NewDesc("inlay_inventory_units", "Units on hand over all skus.", nil, nil),
		skus:         prometheus.NewDesc("inlay_inventory_skus", "Skus with a stock row.", nil, nil),
		soldOut:      prometheus.NewDesc("inlay_inventory_skus_sold_out", "Skus with nothing on hand.", nil, nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.reservations
	ch <- c.units
	ch <- c.skus
	ch <- c.soldOut
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var units, skus, soldOut int64
	if err := c.s.pool.QueryRow(ctx, `SELECT coalesce(sum(quantity), 0), count(*), count(*) FILTER (WHERE quantity = 0) FROM stock`).
		Scan(&units, &skus, &soldOut); err != nil {
		ch <- prometheus.NewInvalidMetric(c.units, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.units, prometheus.GaugeValue, float64(units))
	ch <- prometheus.MustNewConstMetric(c.skus, prometheus.GaugeValue, float64(skus))
	ch <- prometheus.MustNewConstMetric(c.soldOut, prometheus.GaugeValue, float64(soldOut))
	rows, err := c.s.pool.Query(ctx, `SELECT status, count(*) FROM reservations GROUP BY status`)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.reservations, err)
		return
	}
	var status string
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&status, &n}, func() error {
		ch <- prometheus.MustNewConstMetric(c.reservations, prometheus.GaugeValue, float64(n), status)
		return nil
	}); err != nil {
		ch <- prometheus.NewInvalidMetric(c.reservations, err)
	}
}
