package events

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/inlay-dev/inlay/services/kit/kittest"
)

// TestHeldConnSendsABatchInOneWrite checks that writes between hold and release reach the peer
// as one write, in order, and that writes outside a hold go straight through.
func TestHeldConnSendsABatchInOneWrite(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	counted := &countingConn{Conn: raw}
	c := &heldConn{Conn: counted}
	defer c.Close()
	peer := <-accepted
	if peer == nil {
		t.Fatal("accept failed")
	}
	defer peer.Close()

	write := func(s string) {
		t.Helper()
		if n, err := c.Write([]byte(s)); err != nil || n != len(s) {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	write("a")
	if counted.writes != 1 {
		t.Fatalf("a write outside a hold made %d socket writes, want 1", counted.writes)
	}
	c.hold()
	for _, s := range []string{"b", "c", "d"} {
		write(s)
	}
	if counted.writes != 1 {
		t.Fatalf("held writes reached the socket: %d socket writes", counted.writes)
	}
	if err := c.release(time.Second); err != nil {
		t.Fatal(err)
	}
	if counted.writes != 2 {
		t.Fatalf("release made %d socket writes, want 1", counted.writes-1)
	}
	if err := c.release(time.Second); err != nil || counted.writes != 2 {
		t.Fatalf("a release with nothing held: err %v, %d socket writes", err, counted.writes)
	}
	write("e")

	got := make([]byte, 5)
	_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(peer, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, []byte("abcde")) {
		t.Fatalf("peer read %q, want %q", got, "abcde")
	}
}

// TestHeldConnReleaseFailsOnAClosedSocket checks that a batch that cannot be sent is an error.
func TestHeldConnReleaseFailsOnAClosedSocket(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	b.Close()
	c := &heldConn{Conn: a}
	c.hold()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatalf("a held write failed: %v", err)
	}
	if err := c.release(time.Second); err == nil {
		t.Fatal("release on a closed socket succeeded")
	}
}

type countingConn struct {
	net.Conn
	writes int
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes++
	return c.Conn.Write(p)
}

// TestAckerAcksWhatABatchSettles checks the consumer's acker against RabbitMQ: a batch that
// completes the lowest tags acks them, and the settled tags it leaves behind an unsettled one are
// acked one by one in the same call once more than limit of them wait. What the broker counts as
// acked is read back by closing the channel: the unacked deliveries return to the queue.
func TestAckerAcksWhatABatchSettles(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := dial(ctx, kittest.AMQPURL(), "test.acker")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	admin, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q, err := admin.QueueDeclare("inlay.test.acker."+uuid.NewString()[:8], false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = admin.QueueDelete(q.Name, false, false, false) }()
	if err := admin.Confirm(false); err != nil {
		t.Fatal(err)
	}
	const n = 10
	for i := range n {
		dc, err := admin.PublishWithDeferredConfirmWithContext(ctx, "", q.Name, false, false,
			amqp.Publishing{Body: []byte{byte(i)}})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := dc.WaitContext(ctx); err != nil || !ok {
			t.Fatalf("confirm: %t %v", ok, err)
		}
	}

	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(q.Name, "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		select {
		case d := <-deliveries:
			if d.DeliveryTag != uint64(i+1) {
				t.Fatalf("delivery %d has tag %d", i, d.DeliveryTag)
			}
		case <-ctx.Done():
			t.Fatal("deliveries did not arrive")
		}
	}
	a := &acker{ch: ch, next: 1, done: map[uint64]bool{}, limit: 3}
	// Tag 2 is still being handled: 1 is acked as a run, and 3–7 (five, over the limit) one by one
	// in the same call, so that a slow event does not hold the prefetch window.
	if err := a.ack(1, 3, 4, 5, 6, 7); err != nil {
		t.Fatal(err)
	}
	if err := ch.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "unacked deliveries back in the queue", func() bool {
		st, err := admin.QueueDeclarePassive(q.Name, false, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		return st.Messages == 4 // 2, 8, 9 and 10
	})
}
