package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/kittest"
)

func TestParkedListAndReplay(t *testing.T) {
	exchange := kittest.Exchange(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := amqp.Dial(kittest.AMQPURL())
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run after the test's defers, last registered first: the connection closes after the
	// queues are deleted through it.
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	mainQ, parked := events.QueueName(exchange, "cmdtest"), events.ParkedQueueName(exchange, "cmdtest")
	for _, q := range []string{mainQ, parked} {
		if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			c, err := conn.Channel()
			if err == nil {
				_, _ = c.QueueDelete(q, false, false, false)
			}
		})
	}
	e, err := events.New("test", "test.thing.happened.v1", "thing-1", map[string]int{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := e.Marshal()
	if err := ch.PublishWithContext(ctx, "", parked, false, false, amqp.Publishing{
		MessageId: e.ID, Body: body, DeliveryMode: amqp.Persistent,
		Headers: amqp.Table{
			events.HeaderReason: "handle: boom", events.HeaderAttempt: int32(5), events.HeaderSubject: "thing-1",
			events.HeaderRoutingKey: e.Type, events.HeaderParkedAt: time.Now().UTC().Format(time.RFC3339Nano),
		},
	}); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	args := []string{"-service", "cmdtest", "-exchange", exchange, "-amqp", kittest.AMQPURL()}
	if err := run(ctx, append([]string{"parked", "list"}, args...), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{e.ID, "test.thing.happened.v1", "thing-1", "handle: boom", "1 parked in " + parked} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("list output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := run(ctx, append([]string{"parked", "replay", "-id", e.ID}, args...), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "replayed 1 to "+mainQ) {
		t.Fatalf("replay output: %s", out.String())
	}
	d, ok, err := ch.Get(mainQ, true)
	if err != nil || !ok {
		t.Fatalf("replayed message not in %s: %v", mainQ, err)
	}
	if d.MessageId != e.ID || d.Headers[events.HeaderRoutingKey] != e.Type || d.Headers[events.HeaderReason] != nil {
		t.Fatalf("replayed message id %s headers %v", d.MessageId, d.Headers)
	}
	if _, ok, _ := ch.Get(parked, true); ok {
		t.Fatal("the message is still parked")
	}
	if err := run(ctx, []string{"parked", "list"}, &out); err == nil {
		t.Fatal("list without -service did not fail")
	}
}
