package server

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"

	"github.com/inlay-dev/inlay/shell/compose"
)

// metrics are the shell's own Prometheus metrics: fragment outcomes, breaker states, instance
// ejections and page times.
type metrics struct {
	fragments *prometheus.HistogramVec
	breakers  *prometheus.GaugeVec
	ejections *prometheus.CounterVec
	pages     *prometheus.HistogramVec

	mu        sync.RWMutex
	observers map[string]*[compose.SourceFailed + 1]prometheus.Observer // by team, then source
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		fragments: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "inlay_fragment_duration_seconds",
			Help:    "Fragment time by team and source (fetch, cache, stale, fallback, failed).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"team", "source"}),
		breakers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "inlay_fragment_breaker_state",
			Help: "Circuit breaker state per team: 0 closed, 1 half-open, 2 open.",
		}, []string{"team"}),
		ejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inlay_fragment_instance_ejections_total",
			Help: "Team instances taken out of rotation for requests that failed on them in a row, by team.",
		}, []string{"team"}),
		pages: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "inlay_page_duration_seconds",
			Help:    "Composed page time, to its last byte, by route and outcome (ok, degraded, unavailable, not_found, redirect, shed).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "outcome"}),
		observers: map[string]*[compose.SourceFailed + 1]prometheus.Observer{},
	}
	if reg != nil {
		reg.MustRegister(m.fragments, m.breakers, m.ejections, m.pages)
	}
	return m
}

func (m *metrics) observe(team, _ string, src compose.Source, d time.Duration) {
	m.mu.RLock()
	obs := m.observers[team]
	m.mu.RUnlock()
	if obs == nil {
		obs = new([compose.SourceFailed + 1]prometheus.Observer)
		for s := range obs {
			obs[s] = m.fragments.WithLabelValues(team, compose.Source(s).String())
		}
		m.mu.Lock()
		m.observers[team] = obs
		m.mu.Unlock()
	}
	if int(src) < len(obs) {
		obs[src].Observe(d.Seconds())
	}
}

func (m *metrics) breaker(team string, st gobreaker.State) {
	v := 0.0
	switch st {
	case gobreaker.StateHalfOpen:
		v = 1
	case gobreaker.StateOpen:
		v = 2
	}
	m.breakers.WithLabelValues(team).Set(v)
}

func (m *metrics) ejected(team string) { m.ejections.WithLabelValues(team).Inc() }

func (m *metrics) page(route, outcome string, d time.Duration) {
	m.pages.WithLabelValues(route, outcome).Observe(d.Seconds())
}
