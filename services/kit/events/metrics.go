package events

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// register registers c on reg, returning the collector already registered under the same
// description when there is one (two consumers of one process share the vectors).
func register[T prometheus.Collector](reg *prometheus.Registry, c T) T {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(T); ok {
				return existing
			}
		}
	}
	return c
}

type relayMetrics struct {
	backlog   prometheus.Gauge
	oldest    prometheus.Gauge
	published *prometheus.CounterVec
}

func newRelayMetrics(reg *prometheus.Registry) *relayMetrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	return &relayMetrics{
		backlog: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "inlay_events_outbox_backlog", Help: "Outbox rows not yet confirmed by the broker."})),
		oldest: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "inlay_events_outbox_oldest_age_seconds", Help: "Age of the oldest unsent outbox row (0 when none)."})),
		published: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inlay_events_published_total", Help: "Events published and confirmed by the broker, by type."},
			[]string{"type"})),
	}
}

type consumerMetrics struct {
	handled  *prometheus.CounterVec
	lag      prometheus.Observer
	retries  prometheus.Counter
	parked   prometheus.Counter
	inParked prometheus.Gauge
	ready    prometheus.Gauge
	name     string
}

func newConsumerMetrics(reg *prometheus.Registry, consumer string) *consumerMetrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	handled := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "inlay_events_handled_total",
		Help: "Events taken off the queue, by outcome: applied, duplicate, retried or parked."},
		[]string{"consumer", "type", "outcome"}))
	lag := register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "inlay_events_consume_lag_seconds",
		Help:    "Time from the event's time to its handling transaction's commit.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}},
		[]string{"consumer"}))
	retries := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "inlay_events_retries_total", Help: "Failed handlings sent to a delay queue for another attempt."},
		[]string{"consumer"}))
	parked := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "inlay_events_parked_total", Help: "Messages moved to the parking queue."},
		[]string{"consumer"}))
	inParked := register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "inlay_events_parked_messages", Help: "Messages waiting in the parking queue."},
		[]string{"consumer"}))
	ready := register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "inlay_events_queue_ready_messages", Help: "Messages waiting in the consumer's queue (its backlog)."},
		[]string{"consumer"}))
	return &consumerMetrics{
		ready:    ready.WithLabelValues(consumer),
		handled:  handled,
		lag:      lag.WithLabelValues(consumer),
		retries:  retries.WithLabelValues(consumer),
		parked:   parked.WithLabelValues(consumer),
		inParked: inParked.WithLabelValues(consumer),
		name:     consumer,
	}
}

func (m *consumerMetrics) outcome(typ, outcome string) {
	m.handled.WithLabelValues(m.name, typ, outcome).Inc()
}
