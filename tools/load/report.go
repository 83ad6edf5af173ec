package load

import (
	"fmt"
	"html"
	"io"
	"slices"
	"strings"
	"time"
)

// RunInfo describes a run for its report.
type RunInfo struct {
	Target   string
	Rate     float64 // new sessions per second
	Duration time.Duration
	Mix      Mix
	Started  time.Time
	Command  string
}

// ms formats d in milliseconds with one decimal.
func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }

// WriteReport writes the Markdown report of s: the run's settings, a table per page and per step
// (count, errors, p50/p90/p99/max in ms) and the errors seen.
func WriteReport(w io.Writer, info RunInfo, s Summary) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Load run against %s\n\n", info.Target)
	fmt.Fprintf(&b, "Started %s; %s of new sessions at %.1f/s (mix %s); %d sessions, %d requests, %d errors in %s",
		info.Started.UTC().Format(time.RFC3339), info.Duration, info.Rate, info.Mix, s.Sessions, s.Total.Count, s.Total.Errors,
		s.Elapsed.Round(100*time.Millisecond))
	if sec := s.Elapsed.Seconds(); sec > 0 {
		fmt.Fprintf(&b, " (%.0f req/s)", float64(s.Total.Count)/sec)
	}
	b.WriteString(".\n")
	if info.Command != "" {
		fmt.Fprintf(&b, "\n```\n%s\n```\n", info.Command)
	}
	b.WriteString("\n| page / step | kind | count | errors | p50 ms | p90 ms | p95 ms | p99 ms | max ms |\n|---|---|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range append(slices.Clone(s.Rows), s.Total) {
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %s | %s | %s | %s | %s |\n", r.Name, r.Kind, r.Count, r.Errors,
			ms(r.P50), ms(r.P90), ms(r.P95), ms(r.P99), ms(r.Max))
	}
	b.WriteString("\nPages are GETs that render HTML; steps are the other requests (form posts, status polls); waits span " +
		"several requests: from sending the order until its status is final, as the thank-you page polls it.\n")
	if len(s.ErrorSamples) > 0 {
		b.WriteString("\nErrors (first kinds seen):\n\n")
		keys := make([]string, 0, len(s.ErrorSamples))
		for k := range s.ErrorSamples {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "- %d× %s\n", s.ErrorSamples[k], strings.ReplaceAll(k, "\n", " "))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Chart dimensions.
const (
	chartW, chartH         = 800, 360
	padL, padR, padT, padB = 60, 60, 40, 40
)

// WriteChart writes an SVG chart of s: requests per second (left axis) and the p99 of each second in
// ms (right axis) over the seconds of the run.
func WriteChart(w io.Writer, title string, s Summary) error {
	pts := s.Points
	var maxReq int64 = 1
	maxP99 := time.Millisecond
	for _, p := range pts {
		maxReq = max(maxReq, p.Requests)
		maxP99 = max(maxP99, p.P99)
	}
	n := max(len(pts)-1, 1)
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB)
	x := func(i int) float64 { return padL + plotW*float64(i)/float64(n) }
	yReq := func(v int64) float64 { return padT + plotH*(1-float64(v)/float64(maxReq)) }
	yP99 := func(d time.Duration) float64 { return padT + plotH*(1-float64(d)/float64(maxP99)) }
	var req, p99 strings.Builder
	for i, p := range pts {
		fmt.Fprintf(&req, "%.1f,%.1f ", x(i), yReq(p.Requests))
		fmt.Fprintf(&p99, "%.1f,%.1f ", x(i), yP99(p.P99))
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#fff"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="14">%s</text>`+"\n", padL, html.EscapeString(title))
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.0f" height="%.0f" fill="none" stroke="#999"/>`+"\n", padL, padT, plotW, plotH)
	for i := 0; i <= 4; i++ {
		y := padT + plotH*float64(i)/4
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/>`+"\n", padL, chartW-padR, y, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="#1f77b4">%d</text>`+"\n", padL-6, y+4, int64(float64(maxReq)*(1-float64(i)/4)))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" fill="#d62728">%s</text>`+"\n", chartW-padR+6, y+4, ms(time.Duration(float64(maxP99)*(1-float64(i)/4))))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">seconds (0–%d)</text>`+"\n", padL+int(plotW/2), chartH-10, len(pts))
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#1f77b4">requests/s</text>`+"\n", padL, padT-6)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" fill="#d62728">p99 ms</text>`+"\n", chartW-padR, padT-6)
	fmt.Fprintf(&b, `<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="%s"/>`+"\n", strings.TrimSpace(req.String()))
	fmt.Fprintf(&b, `<polyline fill="none" stroke="#d62728" stroke-width="2" points="%s"/>`+"\n", strings.TrimSpace(p99.String()))
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
