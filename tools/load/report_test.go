package load

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestReport(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rec := NewRecorder(start)
	rec.SessionStarted(start)
	// 100 home pages of 1..100 ms in the first second, one failed cart post in the third.
	for i := 1; i <= 100; i++ {
		rec.Record(PageHome, KindPage, start.Add(500*time.Millisecond), time.Duration(i)*time.Millisecond, nil)
	}
	rec.Record(StepAddToCart, KindStep, start.Add(2500*time.Millisecond), 7*time.Millisecond, errors.New("status 403, want 303"))
	rec.Record(WaitConfirmed, KindWait, start.Add(2600*time.Millisecond), 90*time.Millisecond, nil)
	rec.SessionEnded()
	sum := rec.Summary(3 * time.Second)

	if sum.Total.Count != 101 || sum.Total.Errors != 1 {
		t.Errorf("total %d requests, %d errors; want 101 (the order's wait is no request), 1", sum.Total.Count, sum.Total.Errors)
	}
	if len(sum.Rows) != 3 || sum.Rows[0].Name != PageHome {
		t.Fatalf("rows %+v, want home first (pages before steps)", sum.Rows)
	}
	home := sum.Rows[0]
	near := func(got, want time.Duration) bool { return got >= want-want/100 && got <= want+want/100 }
	if home.Count != 100 || !near(home.P50, 50*time.Millisecond) || !near(home.P99, 99*time.Millisecond) || !near(home.Max, 100*time.Millisecond) {
		t.Errorf("home %+v: want 100 requests, p50 50 ms, p99 99 ms, max 100 ms", home)
	}
	if len(sum.Points) != 3 || sum.Points[0].Requests != 100 || sum.Points[0].Sessions != 1 || sum.Points[1].Requests != 0 ||
		sum.Points[2].Requests != 1 || sum.Points[2].Errors != 1 {
		t.Errorf("points %+v", sum.Points)
	}

	var md strings.Builder
	if err := WriteReport(&md, RunInfo{Target: "http://127.0.0.1:8080", Rate: 10, Duration: 3 * time.Second, Mix: DefaultMix,
		Started: start, Command: "loadgen -rate 10"}, sum); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| page / step | kind | count | errors | p50 ms | p90 ms | p95 ms | p99 ms | max ms |",
		"| home | page | 100 | 0 | 50.0 |",
		"| POST cart/add | step | 1 | 1 | 7.0 |",
		"| all requests |  | 101 | 1 |",
		"1 sessions, 101 requests, 1 errors",
		"1× POST cart/add: status 403, want 303",
		"loadgen -rate 10",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, md.String())
		}
	}

	var svg strings.Builder
	if err := WriteChart(&svg, "a <title> & more", sum); err != nil {
		t.Fatal(err)
	}
	// Well-formed XML with the two series, one point per second, the title escaped.
	var doc struct {
		Polylines []struct {
			Points string `xml:"points,attr"`
		} `xml:"polyline"`
	}
	if err := xml.Unmarshal([]byte(svg.String()), &doc); err != nil {
		t.Fatalf("chart is not XML: %v\n%s", err, svg.String())
	}
	if len(doc.Polylines) != 2 {
		t.Fatalf("chart has %d polylines, want 2", len(doc.Polylines))
	}
	for _, pl := range doc.Polylines {
		if n := len(strings.Fields(pl.Points)); n != 3 {
			t.Errorf("series with %d points, want 3", n)
		}
	}
	if !strings.Contains(svg.String(), "a &lt;title&gt; &amp; more") {
		t.Error("chart title not escaped")
	}
}
