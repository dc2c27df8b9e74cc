// Package fault gives errors a kind. The kind alone decides whether the engine
// retries a step, delays it, or fails it, and which HTTP status the API answers.
//
// Connectors and the HTTP client return errors built with E (or wrap them with
// %w around one); the engine reads them back with KindOf and RetryAfter.
package fault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Kind classifies an error.
type Kind uint8

// The kinds. Transient is the default for unclassified errors: retrying is the
// safe choice for an error nobody looked at.
const (
	Transient    Kind = iota // may succeed if tried again (5xx, timeout, connection reset)
	Invalid                  // the request is wrong; retrying will not help
	NotFound                 // the object does not exist
	Conflict                 // the object changed or already exists
	Unauthorized             // credentials missing, wrong or expired
	Forbidden                // credentials valid but not allowed
	RateLimited              // slow down; RetryAfter says how long
	Permanent                // fails the same way every time for other reasons
	Canceled                 // the caller gave up (context cancelled, run cancelled)
	TooLarge                 // a payload is over a size limit
)

var kindNames = [...]string{
	Transient: "transient", Invalid: "invalid", NotFound: "not_found", Conflict: "conflict",
	Unauthorized: "unauthorized", Forbidden: "forbidden", RateLimited: "rate_limited",
	Permanent: "permanent", Canceled: "canceled", TooLarge: "too_large",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// ParseKind is the inverse of Kind.String.
func ParseKind(s string) (Kind, bool) {
	for k, n := range kindNames {
		if n == s {
			return Kind(k), true
		}
	}
	return Transient, false
}

// Retryable reports whether an error of this kind may succeed when tried again.
func (k Kind) Retryable() bool { return k == Transient || k == RateLimited }

// Status is the HTTP status an API answers for an error of this kind.
func (k Kind) Status() int {
	switch k {
	case Invalid:
		return http.StatusBadRequest
	case NotFound:
		return http.StatusNotFound
	case Conflict:
		return http.StatusConflict
	case Unauthorized:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case RateLimited:
		return http.StatusTooManyRequests
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	case Canceled:
		return 499
	case Permanent:
		return http.StatusUnprocessableEntity
	default:
		return http.StatusServiceUnavailable
	}
}

// Error is an error with a kind.
type Error struct {
	Kind Kind
	// Op names what was being done ("iconik: getting asset").
	Op string
	// RetryAfter, for RateLimited (and sometimes Transient), says when to try again.
	RetryAfter time.Duration
	// Status is the upstream HTTP status, when there was one.
	Status int
	// Safe means retrying cannot duplicate an effect (see Safe).
	Safe bool
	Err  error
}

func (e *Error) Error() string {
	msg := ""
	if e.Err != nil {
		msg = e.Err.Error()
	}
	switch {
	case e.Op != "" && msg != "":
		return e.Op + ": " + msg
	case e.Op != "":
		return e.Op + ": " + e.Kind.String()
	case msg != "":
		return msg
	}
	return e.Kind.String()
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an Error of kind k. args may hold an op string (first string
// argument), an error, a time.Duration (retry after) and an int (HTTP status);
// further strings are formatted into the message with fmt.Sprint.
func E(k Kind, args ...any) error {
	e := &Error{Kind: k}
	var msg []any
	for _, a := range args {
		switch v := a.(type) {
		case string:
			if e.Op == "" && len(msg) == 0 {
				e.Op = v
			} else {
				msg = append(msg, v)
			}
		case error:
			e.Err = v
		case time.Duration:
			e.RetryAfter = v
		case int:
			e.Status = v
		default:
			msg = append(msg, v)
		}
	}
	if len(msg) > 0 {
		m := errors.New(fmt.Sprint(msg...))
		if e.Err != nil {
			e.Err = fmt.Errorf("%s: %w", m, e.Err)
		} else {
			e.Err = m
		}
	}
	return e
}

// Errorf builds an Error of kind k with a formatted message (use %w to wrap).
func Errorf(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Err: fmt.Errorf(format, args...)}
}

// KindOf returns the kind of the outermost *Error in err's chain, Canceled for
// context cancellation, and Transient for anything unclassified.
func KindOf(err error) Kind {
	if err == nil {
		return Transient
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	if errors.Is(err, context.Canceled) {
		return Canceled
	}
	return Transient
}

// Is reports whether err has kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// RetryAfter returns the delay the error asks for, or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// FromStatus maps an upstream HTTP status to a kind.
func FromStatus(status int) Kind {
	switch {
	case status == http.StatusTooManyRequests:
		return RateLimited
	case status == http.StatusUnauthorized:
		return Unauthorized
	case status == http.StatusForbidden:
		return Forbidden
	case status == http.StatusNotFound || status == http.StatusGone:
		return NotFound
	case status == http.StatusConflict || status == http.StatusPreconditionFailed:
		return Conflict
	case status == http.StatusRequestEntityTooLarge:
		return TooLarge
	case status == http.StatusRequestTimeout:
		return Transient
	case status >= 400 && status < 500:
		return Invalid
	default:
		return Transient
	}
}

// Safe marks err as safe to retry even for an action that is not
// idempotent: nothing was applied (the connection was refused, the provider
// answered 429), or the operation is idempotent by nature (an HTTP PUT).
func Safe(err error) error {
	return &Error{Kind: KindOf(err), RetryAfter: RetryAfter(err), Err: err, Safe: true}
}

// IsSafe reports whether err was marked Safe.
func IsSafe(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Safe
}
