// Waking the relay: a pool's query tracer that sees a transaction writing the outbox commit, and tells
// the relay of the same process at once, so that the relay neither polls nor needs a NOTIFY for it.

package events

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// outboxInsert begins every statement the Outbox writes a row with (Add, Queue).
const outboxInsert = `INSERT INTO inlay_outbox (`

// CommitSignal wakes a relay as soon as a transaction that wrote the outbox has ended, when producer
// and relay share a process (a service's request handlers and event handlers, and its relay). It is
// a pgx tracer: install it on the producers' pool (postgres.Options.Tracer, wrapping any other
// tracer) and give it to the relay (RelayOptions.Signal). It recognises the Outbox's own statements
// (Add, Queue, AddBatch) and, once the connection that ran one is no longer in a transaction —
// committed, or rolled back, which only costs the relay a read that finds nothing — signals the
// relay.
//
// It only shortens the wait: a relay without one, or rows written by another process, are found by
// the relay's polling and the producers' NOTIFY as before (see Relay).
type CommitSignal struct {
	next pgx.QueryTracer // may be nil

	n       atomic.Int32 // len(pending), read without the lock on every statement
	mu      sync.Mutex
	pending map[*pgx.Conn]struct{} // connections whose transaction wrote the outbox
	c       chan struct{}
}

// maxPending bounds the connections remembered: a connection that breaks inside a transaction never
// ends it. Past the bound the set is cleared and the relay woken once.
const maxPending = 4096

// NewCommitSignal returns a signal whose tracer passes every call on to next (nil for none): next's
// batch, copy, prepare and connect tracing too, when it implements them.
func NewCommitSignal(next pgx.QueryTracer) *CommitSignal {
	return &CommitSignal{next: next, pending: map[*pgx.Conn]struct{}{}, c: make(chan struct{}, 1)}
}

// wakeups is what the relay selects on; nil for a nil signal (a nil channel never fires).
func (s *CommitSignal) wakeups() <-chan struct{} {
	if s == nil {
		return nil
	}
	return s.c
}

func (s *CommitSignal) wake() {
	select {
	case s.c <- struct{}{}:
	default:
	}
}

// wrote notes that conn's current transaction (or statement, outside one) wrote the outbox.
func (s *CommitSignal) wrote(conn *pgx.Conn) {
	s.mu.Lock()
	if len(s.pending) >= maxPending {
		clear(s.pending)
		s.wake()
	}
	s.pending[conn] = struct{}{}
	s.n.Store(int32(len(s.pending)))
	s.mu.Unlock()
}

// settle wakes the relay when conn wrote the outbox and its transaction has ended.
func (s *CommitSignal) settle(conn *pgx.Conn) {
	if s.n.Load() == 0 || conn.PgConn().TxStatus() != 'I' {
		return
	}
	s.mu.Lock()
	_, ok := s.pending[conn]
	if ok {
		delete(s.pending, conn)
		s.n.Store(int32(len(s.pending)))
	}
	s.mu.Unlock()
	if ok {
		s.wake()
	}
}

type outboxWrite struct{}

func (s *CommitSignal) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if strings.HasPrefix(data.SQL, outboxInsert) {
		ctx = context.WithValue(ctx, outboxWrite{}, true)
	}
	if s.next != nil {
		ctx = s.next.TraceQueryStart(ctx, conn, data)
	}
	return ctx
}

func (s *CommitSignal) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	if s.next != nil {
		s.next.TraceQueryEnd(ctx, conn, data)
	}
	if data.Err == nil && ctx.Value(outboxWrite{}) != nil {
		s.wrote(conn)
	}
	s.settle(conn)
}

func (s *CommitSignal) TraceBatchStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	if t, ok := s.next.(pgx.BatchTracer); ok {
		return t.TraceBatchStart(ctx, conn, data)
	}
	return ctx
}

func (s *CommitSignal) TraceBatchQuery(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchQueryData) {
	if t, ok := s.next.(pgx.BatchTracer); ok {
		t.TraceBatchQuery(ctx, conn, data)
	}
	if data.Err == nil && strings.HasPrefix(data.SQL, outboxInsert) {
		s.wrote(conn)
	}
}

func (s *CommitSignal) TraceBatchEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchEndData) {
	if t, ok := s.next.(pgx.BatchTracer); ok {
		t.TraceBatchEnd(ctx, conn, data)
	}
	s.settle(conn)
}

func (s *CommitSignal) TraceCopyFromStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	if len(data.TableName) > 0 && data.TableName[len(data.TableName)-1] == "inlay_outbox" {
		ctx = context.WithValue(ctx, outboxWrite{}, true)
	}
	if t, ok := s.next.(pgx.CopyFromTracer); ok {
		ctx = t.TraceCopyFromStart(ctx, conn, data)
	}
	return ctx
}

func (s *CommitSignal) TraceCopyFromEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceCopyFromEndData) {
	if t, ok := s.next.(pgx.CopyFromTracer); ok {
		t.TraceCopyFromEnd(ctx, conn, data)
	}
	if data.Err == nil && ctx.Value(outboxWrite{}) != nil {
		s.wrote(conn)
	}
	s.settle(conn)
}

func (s *CommitSignal) TracePrepareStart(ctx context.Context, conn *pgx.Conn, data pgx.TracePrepareStartData) context.Context {
	if t, ok := s.next.(pgx.PrepareTracer); ok {
		return t.TracePrepareStart(ctx, conn, data)
	}
	return ctx
}

func (s *CommitSignal) TracePrepareEnd(ctx context.Context, conn *pgx.Conn, data pgx.TracePrepareEndData) {
	if t, ok := s.next.(pgx.PrepareTracer); ok {
		t.TracePrepareEnd(ctx, conn, data)
	}
}

func (s *CommitSignal) TraceConnectStart(ctx context.Context, data pgx.TraceConnectStartData) context.Context {
	if t, ok := s.next.(pgx.ConnectTracer); ok {
		return t.TraceConnectStart(ctx, data)
	}
	return ctx
}

func (s *CommitSignal) TraceConnectEnd(ctx context.Context, data pgx.TraceConnectEndData) {
	if t, ok := s.next.(pgx.ConnectTracer); ok {
		t.TraceConnectEnd(ctx, data)
	}
}
