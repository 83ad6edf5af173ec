package load

import (
	"strings"
	"testing"
)

func TestParseGauge(t *testing.T) {
	text := `# HELP inlay_events_queue_ready_messages Messages waiting in the consumer's queue (its backlog).
# TYPE inlay_events_queue_ready_messages gauge
inlay_events_queue_ready_messages{consumer="explore"} 1234
inlay_events_queue_ready_messages_total{consumer="explore"} 99
inlay_events_queue_ready_messages{consumer="other"} 6
`
	if got := parseGauge(strings.NewReader(text), "inlay_events_queue_ready_messages"); got != 1240 {
		t.Errorf("parseGauge = %d, want 1240", got)
	}
	if got := parseGauge(strings.NewReader(text), "no_such_gauge"); got != -1 {
		t.Errorf("parseGauge of a missing gauge = %d, want -1", got)
	}
}
