package load

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram bounds: 1 µs to 2 minutes at three significant figures.
const (
	histMin     = 1
	histMax     = int64(2 * time.Minute / time.Microsecond)
	histSigFigs = 3
)

// Stat kinds: a page is a GET that renders HTML; a step is any other request a session sends (a form
// post, a status poll); a wait is a span of several requests, not a request of its own (from placing an
// order until its status is final).
const (
	KindPage = "page"
	KindStep = "step"
	KindWait = "wait"
)

// Recorder collects the latency and outcome of every request of a run, by name, and per second of the
// run for the chart. It is safe for concurrent use.
type Recorder struct {
	start time.Time

	mu       sync.Mutex
	stats    map[string]*stat
	all      *hdrhistogram.Histogram
	requests int64
	errors   int64
	sessions int64
	active   int64
	seconds  []*second
	errLog   map[string]int // the first errors, by message, for the report
}

type stat struct {
	kind   string
	hist   *hdrhistogram.Histogram
	count  int64
	errors int64
}

type second struct {
	requests, errors, sessions int64
	hist                       *hdrhistogram.Histogram
}

// NewRecorder returns a Recorder whose time line starts at start.
func NewRecorder(start time.Time) *Recorder {
	return &Recorder{start: start, stats: map[string]*stat{}, all: newHist(), errLog: map[string]int{}}
}

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histSigFigs) }

func (r *Recorder) secondAt(t time.Time) *second {
	i := max(int(t.Sub(r.start)/time.Second), 0)
	for len(r.seconds) <= i {
		r.seconds = append(r.seconds, &second{hist: newHist()})
	}
	return r.seconds[i]
}

// stat returns name's figures, new ones the first time; r.mu is held.
func (r *Recorder) stat(name, kind string) *stat {
	s, ok := r.stats[name]
	if !ok {
		s = &stat{kind: kind, hist: newHist()}
		r.stats[name] = s
	}
	return s
}

// Record adds one request (or step) named name of kind that ended at end after d; err is why it
// failed, nil when it did not.
func (r *Recorder) Record(name, kind string, end time.Time, d time.Duration, err error) {
	us := max(d.Microseconds(), histMin)
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stat(name, kind)
	s.count++
	_ = s.hist.RecordValue(us) // out of range only beyond histMax: counted, clamped below
	sec := r.secondAt(end)
	if kind != KindWait { // not a request of its own: the requests it spans are counted
		r.requests++
		sec.requests++
		_ = r.all.RecordValue(us)
		_ = sec.hist.RecordValue(us)
	}
	if err != nil {
		s.errors++
		r.errors++
		sec.errors++
		r.logError(name, err)
	}
}

// Fail counts a failure of the page or step name that sent no request (the shopper could not go on),
// at t.
func (r *Recorder) Fail(name, kind string, t time.Time, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stat(name, kind).errors++
	r.errors++
	r.secondAt(t).errors++
	r.logError(name, err)
}

func (r *Recorder) logError(name string, err error) {
	if msg := name + ": " + err.Error(); len(r.errLog) < 20 || r.errLog[msg] > 0 {
		r.errLog[msg]++
	}
}

// SessionStarted counts a new session, at t.
func (r *Recorder) SessionStarted(t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sessions++
	r.active++
	r.secondAt(t).sessions++
}

// SessionEnded counts a session as finished.
func (r *Recorder) SessionEnded() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.active--
}

// Progress is the run so far, for the live line.
type Progress struct {
	Elapsed          time.Duration
	Sessions, Active int64
	Requests, Errors int64
	P99              time.Duration
}

// Progress returns the figures so far at now.
func (r *Recorder) Progress(now time.Time) Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Progress{Elapsed: now.Sub(r.start), Sessions: r.sessions, Active: r.active, Requests: r.requests,
		Errors: r.errors, P99: time.Duration(r.all.ValueAtQuantile(99)) * time.Microsecond}
}

// Row is one page's or step's figures.
type Row struct {
	Name, Kind              string
	Count, Errors           int64
	P50, P90, P95, P99, Max time.Duration
}

// Point is one second of the run.
type Point struct {
	Second                     int
	Requests, Errors, Sessions int64
	P99                        time.Duration
}

// Summary is what a run measured.
type Summary struct {
	Rows         []Row   // pages first, then steps, then waits, each by name
	Total        Row     // every request
	Points       []Point // per second
	Sessions     int64
	ErrorSamples map[string]int
	Elapsed      time.Duration
}

func row(name, kind string, h *hdrhistogram.Histogram, count, errs int64) Row {
	q := func(p float64) time.Duration { return time.Duration(h.ValueAtQuantile(p)) * time.Microsecond }
	return Row{Name: name, Kind: kind, Count: count, Errors: errs, P50: q(50), P90: q(90), P95: q(95), P99: q(99),
		Max: time.Duration(h.Max()) * time.Microsecond}
}

// Summary returns the figures of the run, which lasted elapsed.
func (r *Recorder) Summary(elapsed time.Duration) Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Summary{Sessions: r.sessions, Elapsed: elapsed, ErrorSamples: map[string]int{}}
	for name, st := range r.stats {
		s.Rows = append(s.Rows, row(name, st.kind, st.hist, st.count, st.errors))
	}
	rank := map[string]int{KindPage: 0, KindStep: 1, KindWait: 2}
	slices.SortFunc(s.Rows, func(a, b Row) int {
		return cmp.Or(cmp.Compare(rank[a.Kind], rank[b.Kind]), strings.Compare(a.Name, b.Name))
	})
	s.Total = row("all requests", "", r.all, r.requests, r.errors)
	for i, sec := range r.seconds {
		s.Points = append(s.Points, Point{Second: i, Requests: sec.requests, Errors: sec.errors, Sessions: sec.sessions,
			P99: time.Duration(sec.hist.ValueAtQuantile(99)) * time.Microsecond})
	}
	for k, v := range r.errLog {
		s.ErrorSamples[k] = v
	}
	return s
}
