package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"github.com/inlay-dev/inlay/services/kit/kittest"
)

// stores are the local PostgreSQL, Redis and RabbitMQ the platform runs against, at the addresses the
// processes read (POSTGRES_URL, REDIS_URL, AMQP_URL) with the same local defaults.
type stores struct {
	postgresURL, redisURL, amqpURL string
}

func newStores() stores {
	return stores{postgresURL: kittest.PostgresURL(), redisURL: kittest.RedisURL(), amqpURL: kittest.AMQPURL()}
}

// reachable fails with how to start each store that does not answer.
func (s stores) reachable() error {
	var errs []error
	for _, st := range []struct{ name, url, start string }{
		{"PostgreSQL", s.postgresURL, "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"},
		{"Redis", s.redisURL, `redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log`},
		{"RabbitMQ", s.amqpURL, "rabbitmq-server -detached"},
	} {
		u, err := url.Parse(st.url)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s url: %w", st.name, err))
			continue
		}
		conn, err := net.DialTimeout("tcp", u.Host, 3*time.Second)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s is not reachable at %s (%w); start it with: %s (or: make services-up)", st.name, u.Host, err, st.start))
			continue
		}
		conn.Close()
	}
	return errors.Join(errs...)
}

// remove deletes everything a platform created: its databases, its Redis keys, the queues named after
// its exchange, and the exchange.
func (s stores) remove(ctx context.Context, dbPrefix, redisPrefix, exchange string) error {
	return errors.Join(
		s.dropDatabases(ctx, dbPrefix),
		s.deleteKeys(ctx, redisPrefix),
		s.deleteExchange(ctx, exchange),
	)
}

func (s stores) dropDatabases(ctx context.Context, prefix string) error {
	conn, err := pgx.Connect(ctx, s.postgresURL)
	if err != nil {
		return fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", prefix)
	if err != nil {
		return fmt.Errorf("list e2e databases: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list e2e databases: %w", err)
	}
	var errs []error
	for _, name := range names {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			errs = append(errs, fmt.Errorf("drop database %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func (s stores) deleteKeys(ctx context.Context, prefix string) error {
	opts, err := redis.ParseURL(s.redisURL)
	if err != nil {
		return fmt.Errorf("redis url: %w", err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("scan redis keys %s*: %w", prefix, err)
	}
	for len(keys) > 0 {
		n := min(len(keys), 500)
		if err := c.Unlink(ctx, keys[:n]...).Err(); err != nil {
			return fmt.Errorf("delete redis keys %s*: %w", prefix, err)
		}
		keys = keys[n:]
	}
	return nil
}

// deleteExchange deletes the exchange and every queue named "<exchange>.*" (consumer, delay and
// parking queues; see services/kit/events). AMQP cannot list queues, so the names come from the local
// broker's rabbitmqctl.
func (s stores) deleteExchange(ctx context.Context, exchange string) error {
	queues, err := listQueues(ctx)
	if err != nil {
		return err
	}
	conn, err := amqp.DialConfig(s.amqpURL, amqp.Config{Dial: amqp.DefaultDial(10 * time.Second)})
	if err != nil {
		return fmt.Errorf("connect to rabbitmq: %w", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("rabbitmq channel: %w", err)
	}
	var errs []error
	for _, q := range queues {
		if !strings.HasPrefix(q, exchange+".") {
			continue
		}
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			errs = append(errs, fmt.Errorf("delete queue %s: %w", q, err))
			if ch, err = conn.Channel(); err != nil {
				return errors.Join(append(errs, err)...)
			}
		}
	}
	if err := ch.ExchangeDelete(exchange, false, false); err != nil {
		var aerr *amqp.Error
		if !errors.As(err, &aerr) || aerr.Code != amqp.NotFound {
			errs = append(errs, fmt.Errorf("delete exchange %s: %w", exchange, err))
		}
	}
	return errors.Join(errs...)
}

func listQueues(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "rabbitmqctl", "-q", "list_queues", "--no-table-headers", "name")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("list rabbitmq queues (rabbitmqctl): %w\n%s", err, stderr.String())
	}
	return strings.Fields(stdout.String()), nil
}
