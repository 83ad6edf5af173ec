package events

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// notifyChannel is the LISTEN/NOTIFY channel the outbox trigger signals (per database).
const notifyChannel = "inlay_outbox"

// schema is idempotent; Migrate runs it under a transaction-scoped advisory lock so that several
// processes starting at once do not race. It keeps no goose version table, so it coexists with the
// service's own goose migrations.
const schema = `
CREATE TABLE IF NOT EXISTS inlay_outbox (
	seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id          uuid        NOT NULL,
	type        text        NOT NULL,
	subject     text        NOT NULL,
	body        bytea       NOT NULL,
	traceparent text        NOT NULL DEFAULT '',
	created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
	sent_at     timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS inlay_outbox_id ON inlay_outbox (id);

-- The relay deletes a row once the broker has confirmed it and records the event here, without its
-- body, for RelayOptions.Retention (which event went out when). Until 2026-11-30 it set sent_at
-- instead, which rewrote the whole row and its index entries; databases of that time get their
-- sent rows moved here (once: later runs find none) and lose the two indexes that served sent_at.
-- sent_at stays, always NULL for new rows, so that a relay of the older version still running
-- during a deploy keeps working (and publishes nothing twice): its marks are moved when a relay of
-- this version next takes the lead.
CREATE TABLE IF NOT EXISTS inlay_outbox_published (
	seq        bigint      NOT NULL,
	id         uuid        NOT NULL,
	type       text        NOT NULL,
	subject    text        NOT NULL,
	created_at timestamptz NOT NULL,
	sent_at    timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS inlay_outbox_published_sent ON inlay_outbox_published (sent_at);
` + moveMarked + `;
DROP INDEX IF EXISTS inlay_outbox_unsent;
DROP INDEX IF EXISTS inlay_outbox_sent;

-- The relay's state: producers NOTIFY only when no relay has said it is busy reading (a NOTIFY
-- serialises commits database-wide, so it is kept for waking an idle relay). Unlogged: after a
-- crash the row is gone, which means "notify".
CREATE UNLOGGED TABLE IF NOT EXISTS inlay_outbox_relay (
	id        int  PRIMARY KEY CHECK (id = 1),
	listening bool NOT NULL
);

CREATE OR REPLACE FUNCTION inlay_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM inlay_outbox_relay WHERE NOT listening) THEN
		PERFORM pg_notify('` + notifyChannel + `', '');
	END IF;
	RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER inlay_outbox_notify AFTER INSERT ON inlay_outbox
	FOR EACH STATEMENT EXECUTE FUNCTION inlay_outbox_notify();

CREATE TABLE IF NOT EXISTS inlay_inbox (
	consumer   text        NOT NULL,
	event_id   uuid        NOT NULL,
	type       text        NOT NULL,
	handled_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (consumer, event_id)
);
CREATE INDEX IF NOT EXISTS inlay_inbox_handled ON inlay_inbox (handled_at);
`

// moveMarked moves the rows that a relay of the version before inlay_outbox_published marked sent
// (it set sent_at) to inlay_outbox_published. Migrate runs it, and so does a relay when it takes the
// lead (an older relay may have published until then), so that no marked row stays in the outbox,
// where every read would step over it.
const moveMarked = `WITH moved AS (DELETE FROM inlay_outbox WHERE sent_at IS NOT NULL
	RETURNING seq, id, type, subject, created_at, sent_at)
INSERT INTO inlay_outbox_published (seq, id, type, subject, created_at, sent_at) SELECT * FROM moved`

// Migrate creates the outbox and inbox tables (and the outbox's NOTIFY trigger) in the service's
// database. It is idempotent and safe to run from several processes at once.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('inlay.events.migrate', 0))`); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if _, err := tx.Exec(ctx, schema); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate event tables: %w", err)
	}
	return nil
}
