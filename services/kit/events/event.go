package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// DefaultExchange is the durable topic exchange events go through when none is configured.
const DefaultExchange = "inlay.events"

// Event is the envelope every event travels in (see the package doc).
type Event struct {
	// ID is a UUIDv7, unique per event; consumers deduplicate on it.
	ID string `json:"id"`
	// Type is the routing key {context}.{aggregate}.{event}.v{n}.
	Type string `json:"type"`
	// Source is the context that published the event.
	Source string `json:"source"`
	// Time is when the event happened.
	Time time.Time `json:"time"`
	// Subject is the aggregate's id; events with the same subject are delivered in order.
	Subject string `json:"subject"`
	// Data is the payload, JSON.
	Data json.RawMessage `json:"data"`
	// Traceparent is the W3C trace context of the publishing request, if any.
	Traceparent string `json:"traceparent,omitempty"`
}

var (
	typeRE        = regexp.MustCompile(`^[a-z][a-z0-9_-]*\.[a-z][a-z0-9_-]*\.[a-z][a-z0-9_-]*\.v[1-9][0-9]{0,3}$`)
	traceparentRE = regexp.MustCompile(`^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$`)
)

// New builds an event with a fresh UUIDv7 id and the current time; data is marshalled to JSON
// (a json.RawMessage or []byte holding JSON is used as is).
func New(source, typ, subject string, data any) (Event, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return Event{}, fmt.Errorf("new event id: %w", err)
	}
	var raw json.RawMessage
	switch d := data.(type) {
	case json.RawMessage:
		raw = d
	case []byte:
		raw = json.RawMessage(d)
	default:
		raw, err = json.Marshal(data)
		if err != nil {
			return Event{}, fmt.Errorf("marshal %s data: %w", typ, err)
		}
	}
	e := Event{ID: id.String(), Type: typ, Source: source, Time: time.Now().UTC(), Subject: subject, Data: raw}
	if err := e.Validate(); err != nil {
		return Event{}, err
	}
	return e, nil
}

// ValidateType reports whether typ is a well-formed routing key {context}.{aggregate}.{event}.v{n}.
func ValidateType(typ string) error {
	if !typeRE.MatchString(typ) {
		return fmt.Errorf("event type %q is not {context}.{aggregate}.{event}.v{n} (lower case)", typ)
	}
	return nil
}

// TypeVersion splits a valid type into its name ({context}.{aggregate}.{event}) and version n.
func TypeVersion(typ string) (name string, version int, err error) {
	if err := ValidateType(typ); err != nil {
		return "", 0, err
	}
	i := strings.LastIndex(typ, ".v")
	v, err := strconv.Atoi(typ[i+2:])
	if err != nil {
		return "", 0, fmt.Errorf("event type %q version: %w", typ, err)
	}
	return typ[:i], v, nil
}

// Validate checks every field of the envelope.
func (e Event) Validate() error {
	var errs []error
	if id, err := uuid.Parse(e.ID); err != nil || id.Version() != 7 || len(e.ID) != 36 {
		errs = append(errs, fmt.Errorf("id %q is not a UUIDv7", e.ID))
	}
	if err := ValidateType(e.Type); err != nil {
		errs = append(errs, err)
	}
	if strings.TrimSpace(e.Source) == "" {
		errs = append(errs, errors.New("source is empty"))
	}
	if e.Time.IsZero() {
		errs = append(errs, errors.New("time is missing"))
	}
	if strings.TrimSpace(e.Subject) == "" {
		errs = append(errs, errors.New("subject is empty"))
	}
	if len(bytes.TrimSpace(e.Data)) == 0 {
		errs = append(errs, errors.New("data is missing"))
	} else if !json.Valid(e.Data) {
		errs = append(errs, errors.New("data is not valid JSON"))
	}
	if e.Traceparent != "" && !traceparentRE.MatchString(e.Traceparent) {
		errs = append(errs, fmt.Errorf("traceparent %q is not W3C trace context", e.Traceparent))
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid event: %w", errors.Join(errs...))
	}
	return nil
}

// Marshal encodes the envelope as JSON after validating it.
func (e Event) Marshal() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("marshal event %s: %w", e.ID, err)
	}
	return b, nil
}

// DecodeError is why a message is not a valid envelope; consumers park such messages with Reason.
type DecodeError struct {
	Reason string
}

func (e *DecodeError) Error() string { return "decode event: " + e.Reason }

// Decode strictly decodes an envelope: unknown envelope fields, trailing data, missing or malformed
// fields are a *DecodeError. Unknown fields inside data are left for the handler (which ignores
// them when it unmarshals into its own struct). An invalid traceparent is dropped, not an error
// (W3C: a malformed trace context is ignored).
func Decode(body []byte) (Event, error) {
	var e Event
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Event{}, &DecodeError{Reason: "malformed envelope: " + err.Error()}
	}
	if dec.More() {
		return Event{}, &DecodeError{Reason: "malformed envelope: trailing data after the JSON object"}
	}
	if e.Traceparent != "" && !traceparentRE.MatchString(e.Traceparent) {
		e.Traceparent = ""
	}
	if err := e.Validate(); err != nil {
		return Event{}, &DecodeError{Reason: err.Error()}
	}
	return e, nil
}

// permanentError marks a handler error that retrying cannot fix.
type permanentError struct{ err error }

func (p permanentError) Error() string { return "permanent: " + p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent wraps a handler error that no retry can fix (a payload the handler cannot use): the
// message is parked at once with the error as the reason.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err: err}
}

// IsPermanent reports whether err was wrapped with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// DecodeData unmarshals the payload into v; fields v does not know are ignored, so a publisher can
// add fields without breaking consumers.
func (e Event) DecodeData(v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("decode %s data: %w", e.Type, err)
	}
	return nil
}
