// A consumer's topology: the routes of its handlers, and the queues they become on the broker (the
// main quorum queue bound to every route, one delay queue per retry delay, the parking queue).

package events

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// deliveryLimit is the quorum queue's own redelivery cap, a last resort against messages that
// crash the consumer process itself (they are dead-lettered to the parking queue).
const deliveryLimit = 50

type route struct {
	pattern string
	words   []string
	handler Handler
}

// QueueName is the durable quorum queue of consumer service name.
func QueueName(exchange, name string) string { return exchange + "." + name }

// ParkedQueueName is the parking queue of consumer service name.
func ParkedQueueName(exchange, name string) string { return exchange + "." + name + ".parked" }

func delayQueueName(exchange, name string, d time.Duration) string {
	return exchange + "." + name + ".delay." + d.String()
}

// Queue returns the consumer's main queue name.
func (c *Consumer) Queue() string { return c.queue }

// ParkedQueue returns the consumer's parking queue name.
func (c *Consumer) ParkedQueue() string { return c.parked }

// Handle routes events whose type matches routingKey to h. routingKey is a type
// ("decide.variant.price_changed.v1") or a topic pattern ("decide.variant.*.v1", "decide.#"); the
// queue is bound with it. An exact match wins over a pattern, then the first pattern registered.
// Call Handle before Run; an invalid key makes Run fail.
func (c *Consumer) Handle(routingKey string, h Handler) {
	if c.started.Load() {
		c.errs = append(c.errs, fmt.Errorf("Handle(%q) after Run", routingKey))
		return
	}
	words := strings.Split(routingKey, ".")
	for _, w := range words {
		if w == "" || (strings.ContainsAny(w, "*#") && w != "*" && w != "#") {
			c.errs = append(c.errs, fmt.Errorf("invalid routing key %q", routingKey))
			return
		}
	}
	if !strings.ContainsAny(routingKey, "*#") {
		if err := ValidateType(routingKey); err != nil {
			c.errs = append(c.errs, err)
			return
		}
	}
	if h == nil {
		c.errs = append(c.errs, fmt.Errorf("nil handler for %q", routingKey))
		return
	}
	c.routes = append(c.routes, route{pattern: routingKey, words: words, handler: h})
}

// handler returns the handler for typ, nil when none matches.
func (c *Consumer) handler(typ string) Handler {
	for _, r := range c.routes {
		if r.pattern == typ {
			return r.handler
		}
	}
	words := strings.Split(typ, ".")
	for _, r := range c.routes {
		if topicMatch(r.words, words) {
			return r.handler
		}
	}
	return nil
}

// topicMatch matches AMQP topic semantics: * is one word, # zero or more.
func topicMatch(pattern, words []string) bool {
	if len(pattern) == 0 {
		return len(words) == 0
	}
	if pattern[0] == "#" {
		for i := 0; i <= len(words); i++ {
			if topicMatch(pattern[1:], words[i:]) {
				return true
			}
		}
		return false
	}
	if len(words) == 0 {
		return false
	}
	if pattern[0] != "*" && pattern[0] != words[0] {
		return false
	}
	return topicMatch(pattern[1:], words[1:])
}

// declare sets up the exchange, the main quorum queue with its bindings, the delay queues and
// the parking queue.
func (c *Consumer) declare(ch *amqp.Channel) error {
	if err := declareExchange(ch, c.opts.Exchange); err != nil {
		return err
	}
	if _, err := ch.QueueDeclare(c.parked, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare queue %s: %w", c.parked, err)
	}
	if _, err := ch.QueueDeclare(c.queue, true, false, false, false, amqp.Table{
		"x-queue-type":              "quorum",
		"x-delivery-limit":          deliveryLimit,
		"x-dead-letter-exchange":    "",
		"x-dead-letter-routing-key": c.parked,
	}); err != nil {
		return fmt.Errorf("declare queue %s: %w", c.queue, err)
	}
	for _, r := range c.routes {
		if err := ch.QueueBind(c.queue, r.pattern, c.opts.Exchange, false, nil); err != nil {
			return fmt.Errorf("bind %s to %s: %w", c.queue, r.pattern, err)
		}
	}
	for _, d := range c.delays() {
		q := delayQueueName(c.opts.Exchange, c.opts.Name, d)
		if _, err := ch.QueueDeclare(q, true, false, false, false, amqp.Table{
			"x-message-ttl":             d.Milliseconds(),
			"x-dead-letter-exchange":    "",
			"x-dead-letter-routing-key": c.queue,
		}); err != nil {
			return fmt.Errorf("declare queue %s: %w", q, err)
		}
	}
	return nil
}

// delays returns the distinct retry delays.
func (c *Consumer) delays() []time.Duration {
	var ds []time.Duration
	seen := map[time.Duration]bool{}
	for _, d := range c.opts.RetryDelays {
		if d < time.Millisecond {
			d = time.Millisecond
		}
		if !seen[d] {
			seen[d] = true
			ds = append(ds, d)
		}
	}
	return ds
}

// DeleteQueues deletes the consumer's main, delay and parking queues (tests clean up with it).
func (c *Consumer) DeleteQueues(ctx context.Context) error {
	conn, err := dial(ctx, c.opts.AMQPURL, c.opts.Name+".admin")
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	names := []string{c.queue, c.parked}
	for _, d := range c.delays() {
		names = append(names, delayQueueName(c.opts.Exchange, c.opts.Name, d))
	}
	var errs []error
	for _, q := range names {
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			errs = append(errs, fmt.Errorf("delete queue %s: %w", q, err))
			if ch, err = conn.Channel(); err != nil {
				return errors.Join(append(errs, err)...)
			}
		}
	}
	return errors.Join(errs...)
}

// DeleteExchange deletes exchange (tests clean up with it).
func DeleteExchange(ctx context.Context, amqpURL, exchange string) error {
	conn, err := dial(ctx, amqpURL, "events.admin")
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	if err := ch.ExchangeDelete(exchange, false, false); err != nil {
		return fmt.Errorf("delete exchange %s: %w", exchange, err)
	}
	return nil
}
