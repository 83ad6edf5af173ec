package events

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/services/kit/kittest"
)

// TestCeilingMovesEveryMessageAndRemovesItsQueue runs the broker-alone ceiling on a small count
// with batches and acks that do not divide it, and checks that every message went through (Ceiling
// returns only then) and that its queue is gone afterwards.
func TestCeilingMovesEveryMessageAndRemovesItsQueue(t *testing.T) {
	exchange := kittest.Exchange(t)
	amqpURL := kittest.AMQPURL()
	queue := exchange + ".ceiling"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := DeleteExchange(ctx, amqpURL, exchange); err != nil {
			t.Logf("delete exchange: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	took, err := Ceiling(ctx, CeilingOptions{AMQPURL: amqpURL, Exchange: exchange, Queue: queue,
		Messages: 1234, Body: []byte(`{"n":1}`), BatchSize: 100, Window: 3, Prefetch: 200, AckEvery: 64})
	if err != nil {
		t.Fatal(err)
	}
	if took <= 0 {
		t.Fatalf("took %s", took)
	}
	conn, err := dial(ctx, amqpURL, "ceiling.test")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil); err == nil || !strings.Contains(err.Error(), "NOT_FOUND") {
		t.Fatalf("queue %s still there after Ceiling (err %v)", queue, err)
	}
	if _, err := Ceiling(ctx, CeilingOptions{AMQPURL: amqpURL, Exchange: exchange, Queue: queue}); err == nil {
		t.Fatal("Ceiling with no messages succeeded")
	}
}
