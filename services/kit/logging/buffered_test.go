package logging

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/services/kit/kittest"
)

func TestBufferedHoldsInfoAndWritesWarnAtOnce(t *testing.T) {
	var sink kittest.SyncBuffer
	out := NewBuffered(&sink, 64<<10, time.Hour) // no periodic flush within the test
	log := NewWithBuffer(out, "test", slog.LevelInfo, "json")

	log.Info("request", "path", "/a")
	if s := sink.String(); s != "" {
		t.Fatalf("an info record went out before a flush: %q", s)
	}
	log.Warn("trouble")
	s := sink.String()
	if !strings.Contains(s, `"path":"/a"`) || !strings.Contains(s, `"msg":"trouble"`) {
		t.Fatalf("after a warning, want both records out, got %q", s)
	}
	log.Info("request", "path", "/b")
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sink.String(), `"path":"/b"`) {
		t.Fatalf("Close did not write out the last record: %q", sink.String())
	}
	if _, err := out.Write([]byte("late\n")); err == nil {
		t.Fatal("a write after Close succeeded")
	}
	if err := out.Close(); err != nil {
		t.Fatalf("a second Close: %v", err)
	}
}

func TestBufferedFlushesPeriodically(t *testing.T) {
	var sink kittest.SyncBuffer
	out := NewBuffered(&sink, 64<<10, 10*time.Millisecond)
	defer out.Close()
	log := NewWithBuffer(out, "test", slog.LevelInfo, "json")
	log.Info("request", "path", "/tick")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(sink.String(), `"path":"/tick"`) {
		if time.Now().After(deadline) {
			t.Fatal("the record never went out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBufferedKeepsRecordsWhole(t *testing.T) {
	var sink kittest.SyncBuffer
	out := NewBuffered(&sink, 256, time.Millisecond) // smaller than the records written below
	log := NewWithBuffer(out, "test", slog.LevelInfo, "json")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				log.Info("request", "worker", i, "n", j, "pad", strings.Repeat("x", 100))
			}
		})
	}
	wg.Wait()
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(sink.String()), "\n")
	if len(lines) != 400 {
		t.Fatalf("%d lines, want 400", len(lines))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "{") || !strings.HasSuffix(l, "}") {
			t.Fatalf("a record was torn: %q", l)
		}
	}
}
