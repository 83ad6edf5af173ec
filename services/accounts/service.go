package accounts

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/inlay-dev/inlay/services/kit/clientip"
)

// Customers is what Service needs of the customer store.
type Customers interface {
	CustomerReader
	CustomerWriter
}

// ServiceOptions configures NewService; every field but Log and Now is required.
type ServiceOptions struct {
	Customers Customers
	Sessions  SessionStore
	Throttle  Throttle
	Hasher    PasswordHasher
	Log       *slog.Logger
	Now       func() time.Time
}

// Service signs customers up, in and out, resolves sessions and changes addresses. It holds the
// rules; the stores it is given hold the state.
type Service struct {
	customers Customers
	sessions  SessionStore
	throttle  Throttle
	hasher    PasswordHasher
	log       *slog.Logger
	now       func() time.Time
	// decoy is the hash of a random password, verified when the e-mail is unknown so that an unknown
	// e-mail costs the same time as a wrong password.
	decoy string
}

// NewService returns a Service on the given stores.
func NewService(opts ServiceOptions) (*Service, error) {
	if opts.Customers == nil || opts.Sessions == nil || opts.Throttle == nil || opts.Hasher == nil {
		return nil, errors.New("accounts service: Customers, Sessions, Throttle and Hasher are required")
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	decoy, err := opts.Hasher.Hash(rand.Text())
	if err != nil {
		return nil, fmt.Errorf("accounts service: decoy hash: %w", err)
	}
	return &Service{customers: opts.Customers, sessions: opts.Sessions, throttle: opts.Throttle,
		hasher: opts.Hasher, log: opts.Log, now: opts.Now, decoy: decoy}, nil
}

// Register signs a visitor up and in: it validates r (Invalid with the errors by field), stores the
// customer with its customer.registered event (ErrEmailTaken when the e-mail is taken) and starts a
// session; previous, when not empty, is the session the request came with, which ends, as at
// sign-in. client is the visitor's address: every valid registration counts against it in the
// sign-in throttle's budget (its own key), so ErrEmailTaken cannot be asked about more addresses,
// nor accounts made (each an argon2id hash), faster than ErrRegisterThrottled allows; the throttle
// out of reach refuses with ErrSignInUnavailable (fail closed).
func (s *Service) Register(ctx context.Context, r Registration, client, previous string) (Customer, Session, error) {
	r = r.Normalize()
	if errs := r.Validate(); errs != nil {
		return Customer{}, Session{}, InvalidInput(errs)
	}
	key := "register:" + throttleClient(client)
	if err := s.throttle.Allowed(ctx, key); err != nil {
		if errors.Is(err, ErrThrottled) {
			return Customer{}, Session{}, ErrRegisterThrottled
		}
		return Customer{}, Session{}, err
	}
	if err := s.throttle.Failed(ctx, key); err != nil {
		return Customer{}, Session{}, wrapUnavailable(err)
	}
	hash, err := s.hasher.Hash(r.Password)
	if err != nil {
		return Customer{}, Session{}, fmt.Errorf("register: %w", err)
	}
	c := Customer{ID: NewID(), Email: r.Email, Name: r.Name, PasswordHash: hash, CreatedAt: s.now().UTC()}
	if err := s.customers.Create(ctx, c); err != nil {
		return Customer{}, Session{}, fmt.Errorf("register: %w", err)
	}
	sess, err := s.sessions.NewSession(ctx, c.ID)
	if err != nil {
		return c, Session{}, fmt.Errorf("register %s: %w", c.ID, wrapUnavailable(err))
	}
	s.endPrevious(ctx, previous, sess.ID)
	return c, sess, nil
}

// SignIn checks cr and starts a new session; previous, when not empty, is the session the request
// came with, which ends (a new id at every sign-in: no fixation). client is the visitor's address.
//
// It returns Invalid for a malformed e-mail or password, ErrThrottled when the e-mail from this
// client, the e-mail from anywhere or the client has used its failures (in accountsd 10, 50 and 100,
// then a few a minute), ErrBadCredentials for a wrong password and for an unknown
// e-mail alike (both cost one password verification and count one failure), and
// ErrSignInUnavailable when the throttle or the session store cannot be reached (fail closed).
func (s *Service) SignIn(ctx context.Context, cr Credentials, client, previous string) (Customer, Session, error) {
	email := NormalizeEmail(cr.Email)
	errs := FieldErrors{}
	if msg := CheckEmail(email); msg != "" {
		errs[FieldEmail] = msg
	}
	if msg := CheckPassword(cr.Password); msg != "" {
		errs[FieldPassword] = msg
	}
	if errs.OrNil() != nil {
		return Customer{}, Session{}, InvalidInput(errs)
	}
	client = throttleClient(client)
	// The e-mail from this address, the e-mail from anywhere, this address with any e-mail (the
	// limits of each: services/accounts/redis).
	keys := []string{"pair:" + client + " " + email, "email:" + email, "client:" + client}
	if err := s.throttle.Allowed(ctx, keys...); err != nil {
		return Customer{}, Session{}, err
	}
	c, err := s.customers.CustomerByEmail(ctx, email)
	known := err == nil
	if err != nil && !errors.Is(err, ErrCustomerNotFound) {
		return Customer{}, Session{}, fmt.Errorf("sign in: %w", err)
	}
	hash := s.decoy
	if known {
		hash = c.PasswordHash
	}
	ok, rehash, err := s.hasher.Verify(cr.Password, hash)
	if err != nil {
		return Customer{}, Session{}, fmt.Errorf("sign in: %w", err)
	}
	if !ok || !known {
		if err := s.throttle.Failed(ctx, keys...); err != nil {
			return Customer{}, Session{}, wrapUnavailable(err)
		}
		return Customer{}, Session{}, ErrBadCredentials
	}
	if rehash {
		s.rehash(ctx, c.ID, cr.Password)
	}
	sess, err := s.sessions.NewSession(ctx, c.ID)
	if err != nil {
		return Customer{}, Session{}, wrapUnavailable(err)
	}
	s.endPrevious(ctx, previous, sess.ID)
	return c, sess, nil
}

// endPrevious ends the session a request came with once a new one has started (sign-in and
// registration: a new id each time, and the old one no longer signs anyone in).
func (s *Service) endPrevious(ctx context.Context, previous, current string) {
	if previous == "" || previous == current {
		return
	}
	if err := s.sessions.DeleteSession(ctx, previous); err != nil {
		s.log.WarnContext(ctx, "end the previous session", "error", err.Error())
	}
}

// rehash stores a hash made with the hasher's current parameters; a failure leaves the old one,
// which still verifies.
func (s *Service) rehash(ctx context.Context, id, password string) {
	hash, err := s.hasher.Hash(password)
	if err == nil {
		_, err = s.customers.Update(ctx, id, func(c *Customer) error { c.PasswordHash = hash; return nil })
	}
	if err != nil {
		s.log.WarnContext(ctx, "rehash password", "customer_id", id, "error", err.Error())
	}
}

// SignOut ends the session id.
func (s *Service) SignOut(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	if err := s.sessions.DeleteSession(ctx, id); err != nil {
		return fmt.Errorf("sign out: %w", err)
	}
	return nil
}

// Whoami resolves the session id (sliding its expiry) to its customer. ErrNoSession for an unknown
// or expired id, and for a session whose customer no longer exists (that session ends).
func (s *Service) Whoami(ctx context.Context, id string) (Customer, Session, error) {
	if !ValidSessionID(id) {
		return Customer{}, Session{}, ErrNoSession
	}
	sess, err := s.sessions.Session(ctx, id)
	if err != nil {
		return Customer{}, Session{}, err
	}
	c, err := s.customers.Customer(ctx, sess.CustomerID)
	if errors.Is(err, ErrCustomerNotFound) {
		if err := s.sessions.DeleteSession(ctx, id); err != nil {
			s.log.WarnContext(ctx, "end the session of a deleted customer", "error", err.Error())
		}
		return Customer{}, Session{}, ErrNoSession
	}
	if err != nil {
		return Customer{}, Session{}, fmt.Errorf("whoami: %w", err)
	}
	return c, sess, nil
}

// Customer returns the customer id, or ErrCustomerNotFound.
func (s *Service) Customer(ctx context.Context, id string) (Customer, error) {
	if !ValidID(id) {
		return Customer{}, ErrCustomerNotFound
	}
	return s.customers.Customer(ctx, id)
}

// ChangeAddress validates a (Invalid with the errors by field) and makes it the customer's address,
// with its address.changed event.
func (s *Service) ChangeAddress(ctx context.Context, customerID string, a Address) (Customer, error) {
	a = a.Normalize()
	if errs := a.Validate(); errs != nil {
		return Customer{}, InvalidInput(errs)
	}
	if !ValidID(customerID) {
		return Customer{}, ErrCustomerNotFound
	}
	c, err := s.customers.Update(ctx, customerID, func(c *Customer) error { c.Address = a; return nil })
	if err != nil {
		return Customer{}, fmt.Errorf("change address: %w", err)
	}
	return c, nil
}

// NewID returns a random (version 4) UUID.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, x := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[x>>4], hex[x&0xf])
	}
	return string(out)
}

// ValidID reports whether id has the shape of a customer id (a UUID in lower-case hex).
func ValidID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		switch i {
		case 8, 13, 18, 23:
			if ch != '-' {
				return false
			}
		default:
			if !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f') {
				return false
			}
		}
	}
	return true
}

// NewSessionID returns a new session id: 256 random bits, base64url without padding (43 characters).
func NewSessionID() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ValidSessionID reports whether id has the shape NewSessionID gives: anything else is refused
// before any store is asked.
func ValidSessionID(id string) bool {
	if len(id) != 43 {
		return false
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
			return false
		}
	}
	return true
}

// throttleClient is the address the sign-in throttle counts a client's failures under: an IPv6
// address by its /64 (one subscriber's network, where the addresses are the subscriber's to
// choose), any other as it is, "unknown" when there is none (clientip.Key, as the BFFs' limits).
func throttleClient(client string) string { return clientip.Key(client) }
