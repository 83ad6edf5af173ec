package toxictest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Loads is what PageLoads measured.
type Loads struct {
	Durations []time.Duration
	// Failures are the first few pages that were not 200 with everything wanted; NFailures counts all.
	Failures  []string
	NFailures int
	// Slowest is the slowest page's Server-Timing header: the fragments' own times.
	Slowest string
	max     time.Duration
}

// Quantile returns the q quantile (0.99 for p99, 1 for the maximum) of the durations.
func (l Loads) Quantile(q float64) time.Duration {
	if len(l.Durations) == 0 {
		return 0
	}
	d := slices.Clone(l.Durations)
	slices.Sort(d)
	i := int(float64(len(d))*q+0.999999) - 1
	return d[max(0, min(len(d)-1, i))]
}

// PageLoads loads url n times, c at once (a new connection each time), each time checking for a 200
// page holding every one of want, and measures each load from request to the body's last byte.
func PageLoads(url string, n, c int, want ...string) Loads {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	var mu sync.Mutex
	var res Loads
	jobs := make(chan struct{})
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for range jobs {
				start := time.Now()
				resp, err := client.Get(url)
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				d := time.Since(start)
				problem := ""
				switch {
				case err != nil:
					problem = err.Error()
				case resp.StatusCode != 200:
					problem = fmt.Sprintf("status %d", resp.StatusCode)
				default:
					for _, w := range want {
						if !bytes.Contains(body, []byte(w)) {
							problem = fmt.Sprintf("%q missing from %.300q", w, body)
							break
						}
					}
				}
				mu.Lock()
				res.Durations = append(res.Durations, d)
				if d > res.max && resp != nil {
					res.max, res.Slowest = d, resp.Header.Get("Server-Timing")
				}
				if problem != "" {
					res.NFailures++
					if len(res.Failures) < 3 {
						res.Failures = append(res.Failures, problem)
					}
				}
				mu.Unlock()
			}
		})
	}
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	return res
}
