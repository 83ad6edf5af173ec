package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"
)

// Generator starts new sessions at a steady rate for a while and records what they see.
type Generator struct {
	Shopping *Shopping
	Mix      Mix
	// Rate is new sessions per second; Duration how long new sessions start.
	Rate     float64
	Duration time.Duration
	// MaxActive bounds the sessions running at once; a session that would exceed it is not started
	// and counts as an error (the target is not keeping up).
	MaxActive int
	// Drain bounds the wait for the running sessions once Duration is over; they are cancelled then.
	Drain time.Duration
	// Seed makes the choice of sessions and of what they do repeatable.
	Seed uint64
	// Progress, when not nil, receives a live line every second.
	Progress io.Writer
}

// ErrTooManySessions is recorded when a session could not start because MaxActive were running.
var ErrTooManySessions = errors.New("too many sessions running; not started")

// Run runs the load until Duration is over (or ctx is done) and the sessions started have ended, and
// returns what it measured.
func (g *Generator) Run(ctx context.Context) (Summary, error) {
	if g.Rate <= 0 || g.Duration <= 0 {
		return Summary{}, fmt.Errorf("rate %v/s and duration %s must be positive", g.Rate, g.Duration)
	}
	if err := g.Mix.Validate(); err != nil {
		return Summary{}, err
	}
	rec := g.Shopping.Recorder
	start := time.Now()
	// Sessions run under their own context: cancelled when the drain is over or ctx is done.
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stopProgress := g.progress(rec)

	rnd := rand.New(rand.NewPCG(g.Seed, g.Seed+1)) //nolint:gosec // G404: a repeatable run, not a secret
	interval := time.Duration(float64(time.Second) / g.Rate)
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(g.MaxActive, 1))
	timer := time.NewTimer(0)
	defer timer.Stop()
	end := start.Add(g.Duration)
loop:
	for i := 0; ; i++ {
		next := start.Add(time.Duration(i) * interval)
		if !next.Before(end) {
			break
		}
		timer.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			break loop
		case <-timer.C:
		}
		kind, seed := g.Mix.Pick(rnd.Float64()*100), rnd.Uint64()
		select {
		case sem <- struct{}{}:
		default:
			rec.Fail("session start", KindStep, time.Now(), ErrTooManySessions)
			continue
		}
		rec.SessionStarted(time.Now())
		wg.Go(func() {
			defer func() { <-sem; rec.SessionEnded() }()
			_ = Run(sctx, g.Shopping, kind, seed) // recorded request by request
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	drain := time.NewTimer(g.Drain)
	defer drain.Stop()
	select {
	case <-done:
	case <-drain.C:
		cancel()
		<-done
	case <-ctx.Done():
		cancel()
		<-done
	}
	elapsed := time.Since(start)
	stopProgress()
	return rec.Summary(elapsed), nil
}

// progress writes the live line every second until the returned stop is called.
func (g *Generator) progress(rec *Recorder) (stop func()) {
	if g.Progress == nil {
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var lastReq int64
		last := time.Now()
		for {
			select {
			case <-quit:
				fmt.Fprintln(g.Progress)
				return
			case now := <-t.C:
				p := rec.Progress(now)
				rps := float64(p.Requests-lastReq) / now.Sub(last).Seconds()
				lastReq, last = p.Requests, now
				fmt.Fprintf(g.Progress, "\r%6s  sessions %d (%d active)  %6.0f req/s  errors %d  p99 %s ms   ",
					p.Elapsed.Round(time.Second), p.Sessions, p.Active, rps, p.Errors, ms(p.P99))
			}
		}
	}()
	return func() { close(quit); <-done }
}
