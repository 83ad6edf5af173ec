// Package events is Inlay's event backbone (docs/events.md): a transactional outbox, a relay that
// publishes it to RabbitMQ, and idempotent consumers with retries and parking.
//
// # Envelope
//
// Every event travels as a JSON envelope:
//
//	{"id":"0190…","type":"decide.variant.price_changed.v1","source":"decide",
//	 "time":"2026-11-23T09:30:00.123Z","subject":"SKU-1","data":{…},"traceparent":"00-…-…-01"}
//
// id is a UUIDv7, type is the routing key {context}.{aggregate}.{event}.v{n}, subject is the
// aggregate's id (events with the same subject are delivered in the order they were written),
// data is the payload (consumers ignore fields they do not know), traceparent the W3C trace
// context. Build one with New; Decode is the strict decoder consumers use: unknown envelope
// fields, a missing field, a bad id or a malformed type are errors (*DecodeError), which a
// Consumer turns into a parked message with the reason, never a crash.
//
// # Tables
//
// Migrate(ctx, pool) creates the tables in the service's own database: inlay_outbox (with its
// NOTIFY trigger, the relay's state row, inlay_outbox_relay, and the record of published events,
// inlay_outbox_published) and
// inlay_inbox (plain idempotent SQL under an advisory lock; it does not touch the service's goose
// version table, so it coexists with the service's own migrations). Call it at start-up.
//
// # Publishing
//
// Write the state change and the event in one transaction:
//
//	out := events.NewOutbox("checkout")
//	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
//		// … update the order (lock/update the aggregate row first, then add its event) …
//		e, err := events.New("checkout", "checkout.order.placed.v1", order.ID, payload)
//		if err != nil {
//			return err
//		}
//		return out.Add(ctx, tx, e)
//	})
//
// Add inserts the row (AddBatch many with one COPY). A Relay per service (NewRelay(RelayOptions{…})
// then svc.Go(relay.Run)) publishes unsent rows in seq order to the durable topic exchange
// (default inlay.events) with publisher confirms, pipelined (up to 8 batches in flight, confirms awaited and marks committed in overlapping stages), and marks
// rows sent only after the broker confirmed them. It reconnects with backoff after losing the broker
// or the database. Only one relay per database publishes at a time (a session advisory lock;
// others stand by and take over when it dies), which keeps per-subject order. A confirmed row is
// deleted and recorded without its body in inlay_outbox_published, which keeps it for
// RelayOptions.Retention. Delivery is at least once: a relay killed between the
// confirm and the mark publishes the row again, and consumers drop the duplicate.
//
// Wake-up: an idle relay LISTENs, and an insert trigger issues pg_notify in the inserting
// transaction. A NOTIFY serialises the commits of all notifying transactions of a database
// (PostgreSQL holds a global lock through the commit's WAL flush), so producers notify only while
// the relay says it is idle (the unlogged inlay_outbox_relay row); a busy relay polls instead and
// goes back to listening after a second without rows. A relay given a CommitSignal (RelayOptions.Signal,
// installed as the tracer of the producers' pool; kit.Start does both) is woken as soon as a
// transaction of its own process that wrote the outbox has committed, busy or idle (it still polls
// every 5 ms while busy, for other processes' rows). PollInterval is the
// backup poll. Marks (the delete and its record) commit without waiting for the WAL flush: one lost in a crash of
// PostgreSQL only republishes rows the inboxes drop. Order per subject is the order of the outbox seq: lock or update the aggregate's
// row before adding its event, so that two transactions on one aggregate take seqs in commit order.
//
// # Consuming
//
//	c := events.NewConsumer(events.ConsumerOptions{Name: "explore", Pool: pool, AMQPURL: cfg.AMQPURL,
//		Exchange: cfg.Exchange, Log: log, Registry: svc.Server.Registry})
//	c.Handle("decide.variant.price_changed.v1", func(ctx context.Context, tx pgx.Tx, e events.Event) error {
//		var p PriceChanged
//		if err := e.DecodeData(&p); err != nil {
//			return events.Permanent(err) // parked at once, no retries
//		}
//		_, err := tx.Exec(ctx, `UPDATE …`, …)
//		return err
//	})
//	svc.Go(c.Run)
//	svc.Server.AddCheck("events", c.Ready)
//
// Each consumer service owns one durable quorum queue "<exchange>.<name>" bound to the routing keys
// it handles (topic patterns with * and # are allowed). The handler runs inside a pgx transaction
// together with an inbox row keyed by (consumer, event id); the transaction commits, then the
// message is acked. A duplicate finds its inbox row, is acked and skipped. The handler must do all
// its work through tx (it must not commit it) so a rollback undoes everything.
//
// Deliveries are spread over Concurrency workers by a hash of the subject, so events of one
// aggregate are handled one at a time and in order; a worker handles what is already waiting in
// one transaction (up to BatchSize, falling back to one transaction per event when any of them
// fails). A failed event is retried after a backoff through delay queues
// "<exchange>.<name>.delay.<duration>" (a queue TTL that dead-letters back to the main queue);
// after MaxAttempts, or at once for a Permanent error, an undecodable envelope or a type nobody
// handles, it lands in "<exchange>.<name>.parked" with headers x-inlay-reason, x-inlay-attempts,
// x-inlay-parked-at and x-inlay-routing-key. (Retries are the one case where a later event of
// the same subject may be handled before an earlier one; handlers should guard with versions or
// timestamps where that matters.) A failure to begin a database transaction is not counted as an
// attempt: the consumer reconnects with backoff and the messages come back. Acks are coalesced
// (one multiple-ack per contiguous run of settled deliveries). The quorum queue's own delivery
// limit (50) dead-letters a message that keeps killing the consumer process to the parking queue.
//
// Bindings are added, never removed: a routing key no longer handled keeps arriving and is parked
// as "no handler" until the binding is removed (rabbitmqctl or the management UI). Tests remove
// what they declared with Consumer.DeleteQueues and DeleteExchange.
//
// A service built on services/kit wires this with kit.Options.Events (the tables), svc.Relay() and
// svc.Consumer(opts) (name, pool, broker, log, metrics and the "events" readiness check filled in).
//
// The consumer's code reads as its pipeline: topology.go (routes, queues and bindings), receive.go
// (the session, a worker per subject hash, decoding), apply.go (handlers and inbox rows in one
// transaction), ack.go (coalesced acks) and retry.go (delay queues and parking); the relay's:
// relay.go (the lock, the broker channel, the listener), relay_publish.go (reading and publishing
// batches) and relay_confirm.go (confirms, marking rows sent, housekeeping).
//
// # Catching up
//
// RabbitMQ drops what no queue is bound for: on a platform's first start, a publisher that seeds a
// fresh database may publish before its consumers have declared their queues. CatchUp (a publisher
// passes its consumers' names, the team registry and its Republish) waits for each consumer's
// /readyz and republishes the publisher's state as they become ready; consumers drop what they
// already hold by version.
//
// ListParked and ReplayParked inspect and re-inject parked messages (replay resets the attempt
// count; the inbox keeps a replay of an applied event from applying twice); the command
// services/kit/events/cmd/inlay-events does the same from a shell:
//
//	go run ./services/kit/events/cmd/inlay-events parked list -service explore
//	go run ./services/kit/events/cmd/inlay-events parked replay -service explore [-id <event id>]
//
// # Trace context and logs
//
// Outbox.Add fills Traceparent from the caller's context (OpenTelemetry's W3C propagator) when the
// event has none; the relay sends it as the "traceparent" message header and the consumer puts it
// back into the handler's context. Every publish and every consume is logged (debug level for
// successes) with event_id and event_type.
//
// # Metrics
//
// Registered on the *prometheus.Registry passed in the options (a private one when nil):
//
//	inlay_events_outbox_backlog            gauge   unsent outbox rows
//	inlay_events_outbox_oldest_age_seconds gauge   age of the oldest unsent row
//	inlay_events_published_total           counter {type} events confirmed by the broker
//	inlay_events_handled_total             counter {consumer, type, outcome=applied|duplicate|retried|parked}
//	inlay_events_consume_lag_seconds       histogram {consumer} event time → handled
//	inlay_events_retries_total             counter {consumer}
//	inlay_events_parked_total              counter {consumer}
//	inlay_events_parked_messages           gauge   {consumer} messages in the parking queue
//	inlay_events_queue_ready_messages      gauge   {consumer} messages waiting in the main queue
//
// # Benchmark
//
//	go run ./services/kit/events/cmd/eventbench
//
// measures events/s end to end (outbox → relay → broker → consumer → inbox) and publish-to-handled
// latency at a fixed 1,000 events/s, in a database and exchange of its own, and prints a markdown
// table.
package events
