package fragments

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// The client's transport was chosen by these two benchmarks: six parallel fragment requests (a page)
// against the same loopback server, through fasthttp (Client) and through a tuned net/http Transport.
// Both include the server's cost, which is the same for both.

func benchServer(b *testing.B) string {
	b.Helper()
	body := "<section>" + strings.Repeat("<p>lorem ipsum dolor sit amet</p>", 96) + "</section>"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, body)
	})}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func BenchmarkPageFasthttpClient(b *testing.B) {
	url := benchServer(b)
	c, err := NewClient(ClientOptions{Teams: Teams{"t": {url}}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ReportAllocs()
	for b.Loop() {
		var wg sync.WaitGroup
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := c.Fetch(context.Background(), FetchRequest{Team: "t", Path: "/fragments/a", Forwarded: Forwarded{Context: "x"}})
				if err != nil || resp.Status != 200 {
					b.Error(err)
				}
				resp.Release()
			}()
		}
		wg.Wait()
	}
}

func BenchmarkPageNetHTTPClient(b *testing.B) {
	url := benchServer(b)
	tr := &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: 30 * time.Second,
		DisableCompression: true, ForceAttemptHTTP2: false}
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	b.ReportAllocs()
	for b.Loop() {
		var wg sync.WaitGroup
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/fragments/a", nil)
				req.Header.Set(ContextHeader, "x")
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
			}()
		}
		wg.Wait()
	}
}
