// Package connector is patchbay's connector SDK: the interfaces a connector
// implements, the specs it declares as data, the events its triggers emit, and
// the registry the binary fills from its import list.
//
// A connector package registers itself from init:
//
//	func init() { connector.Register(Connector{}) }
//
// Connectors know nothing of the engine, store or HTTP layer. They receive a
// Config with decrypted settings, return typed results and kind-carrying errors
// (package fault), and report the external writes they made so the engine can
// audit them and keep links current.
package connector

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Connector is the integration with one external system.
type Connector interface {
	// Spec declares the connector. It must return the same value every call.
	Spec() *Spec
	// Open prepares a connection. It should not call the provider: Test does.
	Open(ctx context.Context, cfg Config) (Conn, error)
}

// Config is a connection as the connector sees it.
type Config struct {
	// Name is the connection's name ("acme-iconik").
	Name string
	// Values holds the settings declared in Spec.Connection, secrets decrypted,
	// defaults filled.
	Values map[string]any
	// PublicURL is patchbay's externally reachable base URL, for registering webhooks.
	PublicURL string
	Logger    *slog.Logger
	// Now tells the time; nil means time.Now.
	Now func() time.Time
}

// String returns a string setting or "".
func (c Config) String(name string) string {
	s, _ := c.Values[name].(string)
	return s
}

// Conn is an opened connection. It must be safe for concurrent use.
type Conn interface {
	// Do runs one action. The context carries the step's deadline.
	Do(ctx context.Context, action string, req *Request) (*Result, error)
	Close() error
}

// Request is one action invocation.
type Request struct {
	// Input holds the step's resolved input, checked against the action spec
	// and with defaults filled.
	Input map[string]any
	// IdempotencyKey is stable across re-executions of the same step of the
	// same run; pass it to the provider where it supports one.
	IdempotencyKey string
	RunID          string
	StepID         string
	Logger         *slog.Logger
	// Link carries what patchbay knows of the objects linked to the step's
	// link key, for upserts by link. Nil when the step declares no link.
	Link *Link
}

// Link is the link group a step addresses: the objects in several systems
// that are the same thing, with what patchbay last wrote to each.
type Link struct {
	Key   string
	Sides []LinkSide
}

// LinkSide is one object of a link group.
type LinkSide struct {
	Object  string    `json:"object"`
	Version string    `json:"version,omitempty"`
	Hash    string    `json:"hash,omitempty"`
	At      time.Time `json:"at"`
}

// Side returns the side whose object starts with prefix ("contentstack:entry/").
func (l *Link) Side(prefix string) (LinkSide, bool) {
	if l == nil {
		return LinkSide{}, false
	}
	for _, s := range l.Sides {
		if len(s.Object) >= len(prefix) && s.Object[:len(prefix)] == prefix {
			return s, true
		}
	}
	return LinkSide{}, false
}

// Result is what an action returns.
type Result struct {
	// Output is the step output, usually a map[string]any.
	Output any
	// Writes lists what the action changed in the external system.
	Writes []Write
}

// Write is one change an action made to an external object.
type Write struct {
	// Object is the reference of the object written ("iconik:asset/ID").
	Object string `json:"object"`
	// Op is the operation: create, update, delete, publish, ...
	Op string `json:"op"`
	// Version is the object's version after the write, when the provider has one.
	Version string `json:"version,omitempty"`
	// Hash is a content hash of what was written, for recognising the echo.
	Hash string `json:"hash,omitempty"`
	// Summary says what changed, with secrets left out.
	Summary map[string]any `json:"summary,omitempty"`
}

// Event is a normalized inbound fact produced by a trigger.
type Event struct {
	// ID is the provider's event id. Empty means the ingest derives one from a
	// content hash of Type, Object and Data.
	ID string `json:"id,omitempty"`
	// Type is the normalized type ("asset.created").
	Type string `json:"type"`
	// Object is the main object reference ("iconik:asset/ID").
	Object string `json:"object,omitempty"`
	// Objects lists further object references the event touches.
	Objects []string `json:"objects,omitempty"`
	// Data is the normalized payload.
	Data map[string]any `json:"data,omitempty"`
	// Time is when the provider says it happened; zero means unknown.
	Time time.Time `json:"time,omitzero"`
	// Version and Hash describe the object's state in the event, compared with
	// what patchbay last wrote to recognise its own writes coming back.
	Version string `json:"version,omitempty"`
	Hash    string `json:"hash,omitempty"`
}

// WebhookReceiver is implemented by a Conn whose triggers receive webhooks.
type WebhookReceiver interface {
	// Receive verifies and normalizes one delivery to /hooks/{connection}/{trigger}.
	// A verification failure returns an error of kind fault.Unauthorized.
	Receive(ctx context.Context, trigger string, req *WebhookRequest) (*WebhookResponse, error)
}

// WebhookRequest is one inbound delivery, its body already read (and size-limited).
type WebhookRequest struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// WebhookResponse tells the ingest what the delivery held and how to answer.
type WebhookResponse struct {
	Events []Event
	// Status and Body, when set, are sent instead of the default 202 with the
	// event ids (for providers' verification handshakes).
	Status int
	Header http.Header
	Body   []byte
}

// Poller is implemented by a Conn whose triggers poll.
type Poller interface {
	// Poll returns events since cursor and the cursor to continue from. An
	// empty cursor means first poll: a poller should start from "now" rather
	// than replay history unless its config says otherwise. Configs holds the
	// trigger config of every active flow on this trigger.
	Poll(ctx context.Context, trigger string, req *PollRequest) (*PollResult, error)
}

// PollRequest is one poll.
type PollRequest struct {
	Cursor  string
	Configs []map[string]any
	// Keys lists correlation keys that waiting runs are parked on for this
	// trigger, so a poller can ask only about those objects.
	Keys []string
}

// PollResult is what one poll found.
type PollResult struct {
	Events []Event
	Cursor string
	// More asks for another poll at once (the provider had more pages).
	More bool
}

// Tester is implemented by a Conn that can check its credentials.
type Tester interface {
	Test(ctx context.Context) error
}

// Setupper is implemented by a Conn that can prepare the provider for
// patchbay (register webhooks, list metadata fields). It must be idempotent.
type Setupper interface {
	Setup(ctx context.Context, req *SetupRequest) (*SetupReport, error)
}

// SetupRequest asks a connection to prepare its provider.
type SetupRequest struct {
	// HookURL is the URL of /hooks/{connection}/ on patchbay's public address.
	HookURL string
	// DryRun reports what would change without changing it.
	DryRun bool
}

// SetupReport says what Setup found and did.
type SetupReport struct {
	Checks  []string       `json:"checks"`
	Changes []string       `json:"changes"`
	Info    map[string]any `json:"info,omitempty"`
}

// EventMatcher is implemented by a Conn whose triggers take per-flow
// options (trigger.config in a flow) that select events, such as the content
// types or environments a flow cares about. The ingest asks it for each flow
// before the flow's filter expression; a Conn without it delivers every
// event of the trigger to every flow.
type EventMatcher interface {
	MatchEvent(trigger string, config map[string]any, ev *Event) bool
}
