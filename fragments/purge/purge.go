// Package purge tells the shell to drop its cached copies of a team's fragments after the team's data
// changed (docs/fragments.md, "Who purges what"), so a change shows at once instead of when the cached
// fragments expire. A change purges by tag (fragments.ProductTag, fragments.SKUTag): every fragment
// that names the tag in Inlay-Tags, and nothing else; a change without tags purges the team's Whole
// targets (explore's listings as a whole). It speaks to the shell's purge API (POST /_inlay/purge);
// changes that come in a burst (a catalogue republished) make one request.
package purge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// maxTags bounds the tags of one request; more in one window purge the Whole targets instead.
const maxTags = 500

// Options configures New.
type Options struct {
	// ShellURL is the shell's base URL; empty turns purging off.
	ShellURL string
	// Token is the bearer token the shell's purge API requires (INLAY_PURGE_TOKEN); empty when the
	// shell accepts loopback callers.
	Token string
	// Whole are the targets ("explore/category") that a change without tags, or more than 500 tags
	// in one window, purges: every copy of each. Name every cached fragment the tags may cover.
	Whole []string
	// Window gathers changes into one request; 100 ms when zero.
	Window time.Duration
	// Timeout bounds one request; 2 s when zero.
	Timeout time.Duration
	Client  *http.Client
	Log     *slog.Logger
}

// Purger purges a team's fragments in the shell after changes.
type Purger struct {
	opts Options
	kick chan struct{}

	mu   sync.Mutex
	all  bool                // purge the Whole targets
	tags map[string]struct{} // purge these tags
}

// New returns a Purger; call Run to start it.
func New(opts Options) *Purger {
	if opts.Window == 0 {
		opts.Window = 100 * time.Millisecond
	}
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	opts.ShellURL = strings.TrimRight(opts.ShellURL, "/")
	return &Purger{opts: opts, kick: make(chan struct{}, 1)}
}

// Changed notes that the team's data changed: what shows the tags, or, without tags, the Whole
// targets. It never blocks.
func (p *Purger) Changed(tags ...string) {
	p.mu.Lock()
	if len(tags) == 0 {
		p.all = true
	}
	for _, t := range tags {
		if p.tags == nil {
			p.tags = map[string]struct{}{}
		}
		p.tags[t] = struct{}{}
	}
	if len(p.tags) > maxTags {
		p.all, p.tags = true, nil
	}
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default: // a purge is already due
	}
}

// Run purges after each burst of changes until ctx is done. A failed purge is logged, not retried:
// the cached fragments still expire on their own.
func (p *Purger) Run(ctx context.Context) error {
	if p.opts.ShellURL == "" {
		<-ctx.Done()
		return nil
	}
	window := time.NewTimer(p.opts.Window)
	window.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p.kick:
			window.Reset(p.opts.Window)
			select {
			case <-ctx.Done():
				return nil
			case <-window.C:
			}
			if err := p.purge(ctx); err != nil {
				p.opts.Log.Warn("purge shell cache", "error", err.Error())
			}
		}
	}
}

func (p *Purger) purge(ctx context.Context) error {
	p.mu.Lock()
	var body struct {
		Targets []string `json:"targets,omitempty"`
		Tags    []string `json:"tags,omitempty"`
	}
	if p.all {
		body.Targets = p.opts.Whole
	}
	for t := range p.tags {
		body.Tags = append(body.Tags, t)
	}
	slices.Sort(body.Tags)
	p.all, p.tags = false, nil
	p.mu.Unlock()
	if len(body.Targets)+len(body.Tags) == 0 {
		return nil
	}
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("purge request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.opts.ShellURL+"/_inlay/purge", bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("purge request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if p.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+p.opts.Token)
	}
	res, err := p.opts.Client.Do(req)
	if err != nil {
		return fmt.Errorf("purge: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("purge: status %d: %s", res.StatusCode, bytes.TrimSpace(b))
	}
	_, _ = io.Copy(io.Discard, res.Body)
	return nil
}
