package events

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
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
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
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
