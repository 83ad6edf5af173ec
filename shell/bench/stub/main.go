// Command stub is the fragment server of the side-by-side composition benchmark (run-anchors.sh,
// run.sh, cpu.sh): every composer measured — nginx SSI, Tailor, the shell, the floor — fetches the
// same fragments from it.
//
//	GET /f/{name} or /fragments/{name} ?size=bytes&delay=ms&cc=cache-control
//
// answers an HTML fragment of about size bytes (2048 by default) after delay ms, with the given
// Cache-Control. Bodies are built once per name and size, so the stub costs little per request.
// There is no manifest (/fragments/manifest.json answers 404): a shell registers the stub as a team
// and gives its fragments the defaults.
//
//	go run ./shell/bench/stub -addr 127.0.0.1:9100
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"html"
	"log"
	"net/http"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// maxSize and maxDelay bound what a request may ask for.
const (
	maxSize  = 1 << 20
	maxDelay = 10 * time.Second
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9100", "listen address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, addr string) error {
	srv := &http.Server{Addr: addr, Handler: newHandler(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return fmt.Errorf("stub: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stub: shutdown: %w", err)
	}
	return nil
}

// newHandler returns the stub's routes.
func newHandler() http.Handler {
	mux := http.NewServeMux()
	s := &stub{bodies: map[bodyKey][]byte{}}
	mux.HandleFunc("GET /f/{name}", s.serve)
	mux.HandleFunc("GET /fragments/{name}", s.serve)
	return mux
}

type bodyKey struct {
	name string
	size int
}

// stub memoizes the fragment bodies it has built.
type stub struct {
	mu     sync.Mutex
	bodies map[bodyKey][]byte
}

func (s *stub) serve(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == "manifest.json" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	size, err := param(q.Get("size"), 2048, maxSize)
	if err != nil {
		http.Error(w, "size: "+err.Error(), http.StatusBadRequest)
		return
	}
	delay, err := param(q.Get("delay"), 0, int(maxDelay/time.Millisecond))
	if err != nil {
		http.Error(w, "delay: "+err.Error(), http.StatusBadRequest)
		return
	}
	if delay > 0 {
		t := time.NewTimer(time.Duration(delay) * time.Millisecond)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if cc := q.Get("cc"); cc != "" {
		w.Header().Set("Cache-Control", cc)
	}
	_, _ = w.Write(s.body(name, size))
}

// param reads a non-negative integer parameter: def when empty, an error when malformed or over limit.
func param(v string, def, limit int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > limit {
		return 0, fmt.Errorf("want an integer from 0 to %d, got %q", limit, v)
	}
	return n, nil
}

// body returns the fragment of about size bytes for name, built once.
func (s *stub) body(name string, size int) []byte {
	k := bodyKey{name, size}
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.bodies[k]; ok {
		return b
	}
	var b strings.Builder
	name = html.EscapeString(name)
	fmt.Fprintf(&b, "<section class=\"frag-%s\">", name)
	for b.Len() < size-20 {
		fmt.Fprintf(&b, "<p>%s lorem ipsum dolor sit amet</p>", name)
	}
	b.WriteString("</section>")
	s.bodies[k] = []byte(b.String())
	return s.bodies[k]
}
