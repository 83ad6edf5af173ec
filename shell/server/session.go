package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/inlay-dev/inlay/fragments"
)

// Session resolution: the shell turns the inlay_session cookie into a customer id with accounts'
// GET /v1/whoami (which also slides the session's expiry), remembers the answer briefly, and signs
// the id into Inlay-Context. Fragments never see the cookie.
const (
	// sessionTimeout bounds one whoami call; a slower accounts makes the visitor a guest for this
	// page, and the page still renders.
	sessionTimeout = 300 * time.Millisecond
	// sessionTTL is how long a resolved session (or a refused one) is remembered: a session ended
	// elsewhere is still honoured for at most this long (sign-out through the shell forgets at once).
	sessionTTL = 10 * time.Second
	// sessionErrorTTL is how long an accounts failure is remembered, so a down accounts is asked
	// about each session once a second instead of once per request.
	sessionErrorTTL = time.Second
	// sessionCacheSize bounds the remembered sessions.
	sessionCacheSize = 10000
)

// sessions resolves session ids to customer ids with accounts, through a small in-process cache.
type sessions struct {
	accounts  string // the session owner's context
	instances *fragments.Instances
	client    *http.Client
	log       *slog.Logger

	mu sync.Mutex
	m  map[string]sessionEntry
}

type sessionEntry struct {
	customer string
	until    time.Time
}

// newSessions returns the resolver for accounts (the team owner), asking its instances in rotation;
// nil when there is no such team (every visitor is then a guest).
func newSessions(instances *fragments.Instances, owner string, log *slog.Logger) *sessions {
	if len(instances.All(owner)) == 0 {
		return nil
	}
	return &sessions{accounts: owner, instances: instances, log: log, m: map[string]sessionEntry{},
		client: &http.Client{Timeout: sessionTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}}}
}

// customer returns the customer id of session id, or "" for a guest: no or an unknown session, or
// accounts not answering in time.
func (s *sessions) customer(ctx context.Context, id string) string {
	if s == nil || id == "" {
		return ""
	}
	now := time.Now()
	s.mu.Lock()
	e, ok := s.m[id]
	s.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.customer
	}
	customer, err := s.ask(ctx, id)
	ttl := sessionTTL
	if err != nil {
		s.log.Warn("session not resolved: treating the visitor as a guest", "error", err.Error())
		ttl = sessionErrorTTL
	}
	s.mu.Lock()
	if len(s.m) >= sessionCacheSize {
		clear(s.m)
	}
	s.m[strings.Clone(id)] = sessionEntry{customer: customer, until: now.Add(ttl)}
	s.mu.Unlock()
	return customer
}

// forget drops what is remembered of session id (after a sign-out or sign-in through the shell).
func (s *sessions) forget(id string) {
	if s == nil || id == "" {
		return
	}
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

func (s *sessions) whoami(ctx context.Context, inst *fragments.Instance, id string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, inst.URL("/v1/whoami"), nil)
	if err != nil {
		return nil, err
	}
	req.Host = inst.Host()
	req.Header.Set("Authorization", "Bearer "+id)
	return s.client.Do(req)
}

// maxWhoami bounds the answer read from accounts.
const maxWhoami = 4 << 10

func (s *sessions) ask(ctx context.Context, id string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, sessionTimeout)
	defer cancel()
	inst := s.instances.Pick(s.accounts, nil)
	res, err := s.whoami(ctx, inst, id)
	if err != nil && fragments.Refused(err) {
		// A stopping instance: once more on another, within the same deadline.
		s.instances.Down(inst)
		if other := s.instances.Pick(s.accounts, inst); other != nil {
			res, err = s.whoami(ctx, other, id)
		}
	}
	if err != nil {
		return "", fmt.Errorf("whoami: %w", err)
	}
	defer res.Body.Close()
	switch res.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized:
		return "", nil // forged, expired, ended, or its customer is gone: a guest
	default:
		return "", fmt.Errorf("whoami: status %d", res.StatusCode)
	}
	var who struct {
		CustomerID string `json:"customerId"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, maxWhoami)).Decode(&who); err != nil {
		return "", fmt.Errorf("whoami: %w", err)
	}
	if who.CustomerID == "" || len(who.CustomerID) > 64 {
		return "", errors.New("whoami: no valid customer id")
	}
	return who.CustomerID, nil
}
