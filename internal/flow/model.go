// Package flow is the flow file: its model, YAML parsing with positions,
// validation that collects every problem (file:line:col, a stable code, a
// hint), compilation of ${{ }} expressions once per flow version, and the JSON
// Schema editors use for completion.
package flow

import (
	"time"
)

// Flow is one version of a parsed, validated and compiled flow file.
type Flow struct {
	Name        string
	Version     int
	Description string
	// Params in declaration order.
	Params []*Param
	// Connections maps a role ("dam") to the connector and connection it names.
	Connections map[string]ConnRef
	Trigger     Trigger
	Steps       []*Step
	// Output, when set, is evaluated at the end of a run; it is the run's
	// output and what a calling flow's `call` step receives.
	Output *Value

	// File is the path the flow was read from (for messages).
	File string
	// Source is the file's bytes; Hash is the hex SHA-256 of Source.
	Source []byte
	Hash   string
}

// ConnRef is what a role names.
type ConnRef struct {
	Connector  string
	Connection string // defaults to the connector's name
	Pos        Pos    // of the role

	connPos Pos // of the connector name
}

// Param is a declared flow parameter.
type Param struct {
	Name     string
	Type     string // string, int, number, bool, list, object, duration
	Default  any
	Required bool
	Doc      string
	Enum     []any
	Pos      Pos
}

// TriggerKind says where a flow's runs come from.
type TriggerKind string

// Trigger kinds.
const (
	TriggerConnector TriggerKind = "connector" // on: <role>.<trigger>
	TriggerWebhook   TriggerKind = "webhook"   // on: webhook (flow-level, /hooks/<flow>/webhook)
	TriggerSchedule  TriggerKind = "schedule"  // on: schedule, with cron
	TriggerManual    TriggerKind = "manual"    // on: manual (CLI, API, UI, or call)
)

// Trigger is the flow's trigger.
type Trigger struct {
	Kind TriggerKind
	// Role and Name are set for TriggerConnector ("dam", "asset_events").
	Role string
	Name string
	// Connector is the connector the role names (filled by validation); for a
	// builtin connector's trigger Role is "" and Connector names it.
	Connector string
	// Config holds trigger options, checked against the trigger spec, with
	// the spec's defaults filled (for webhook: verify, header).
	Config map[string]any
	// Cron is the schedule for TriggerSchedule (5 fields, or @every 5m / @hourly …).
	Cron string
	// Filter decides whether an event starts a run (nil: every event does).
	Filter *Value
	// Dedupe computes a key; a second event with the same key starts no run.
	Dedupe *Value
	// Echoes makes patchbay's own writes coming back start runs of this flow
	// (chaining flows through an external system, e.g. UC1's approval
	// starting UC8). Off by default: an echo starts no flow, so
	// bi-directional sync cannot loop.
	Echoes bool
	Pos    Pos

	at     map[string]keyPos // positions of the trigger's keys and values
	config *Value            // Config as written, with positions
}

// Kind is a step's kind.
type Kind string

// Step kinds.
const (
	KindAction  Kind = "action"
	KindIf      Kind = "if"
	KindSwitch  Kind = "switch"
	KindForeach Kind = "foreach"
	KindSet     Kind = "set"
	KindWait    Kind = "wait"
	KindSleep   Kind = "sleep"
	KindCall    Kind = "call"
	KindFail    Kind = "fail"
)

// Step is one step. Which fields are set depends on Kind.
type Step struct {
	// ID is the step's id: given in the file, or generated from its position
	// when absent: "step-3" at the top level, "<parent id>.<block>-N" inside a
	// block (block is then, else, case-K, default or do; K and N count from 1),
	// so "gate.then-1", "route.case-2-1". IDs are unique in a flow.
	ID string
	// Explicit is false when the ID was generated.
	Explicit bool
	Name     string // display title
	Kind     Kind
	Pos      Pos
	// When skips the step when it evaluates to false.
	When    *Value
	Retry   *Retry
	Timeout time.Duration // 0: the engine default
	// ContinueOnError keeps the run going when the step fails for good; the
	// step's error is then readable as steps.<id>.error.
	ContinueOnError bool

	// KindAction
	Role   string // "" for builtin connectors (core, http) once validated
	Action string // action name ("get_asset")
	// Connector is the connector name the role resolves to (filled by validation).
	Connector string
	Input     *Value // a map
	// Link names the link group the action reads and updates (sync-style upserts).
	Link *Value

	// KindIf
	Cond *Value
	Then []*Step
	Else []*Step

	// KindSwitch: Value is compared with each case's Value, or a case's When
	// is evaluated; the first match wins, then Default.
	Switch  *Value
	Cases   []*Case
	Default []*Step

	// KindForeach
	Items       *Value
	As          string // variable name of the element; default "item"
	Concurrency int    // default 1
	Do          []*Step
	// Collect is evaluated at the end of each iteration; the list of results
	// is the step's output. Default: the output of the iteration's last step.
	Collect *Value

	// KindSet: assignments to vars, in order.
	Set []*Assign

	// KindWait
	Wait *Wait

	// KindSleep: Sleep evaluates to a duration string or number of seconds;
	// Until evaluates to a time (RFC 3339 string). One of them is set.
	Sleep *Value
	Until *Value

	// KindCall
	Call      string // flow name
	CallInput *Value // a map: the called flow's params

	// KindFail
	Fail *Value // message

	at map[string]keyPos // positions of the step's keys and values
}

// keyPos is where a key and its value are written.
type keyPos struct{ Key, Val Pos }

// Case is one branch of a switch.
type Case struct {
	Value *Value // compared for equality with the switch value
	When  *Value // or a condition
	Steps []*Step
	Pos   Pos
}

// Assign sets one variable.
type Assign struct {
	Name  string
	Value *Value
	Pos   Pos
}

// Wait describes a wait step.
type Wait struct {
	// For lists the event sources: "<role>.<trigger>" entries.
	For []WaitSource
	// Key evaluates, when the wait starts, to this run's correlation value.
	Key *Value
	// EventKey computes an incoming event's correlation value; nil means the
	// event's object reference (event.object).
	EventKey *Value
	// Match is an extra condition on a candidate event (env has event and the run's context).
	Match *Value
	// Timeout ends the wait; 0 means wait forever.
	Timeout time.Duration
	// TimeoutExpr is set instead of Timeout when the timeout is an expression
	// (`timeout: ${{ params.timeout }}`); it evaluates, when the wait starts,
	// to a duration string ("7d") or a number of seconds.
	TimeoutExpr *Value
	// OnTimeout is "fail" (default) or "continue" (the step's output is {timed_out: true}).
	OnTimeout string
}

// WaitSource is one event source of a wait.
type WaitSource struct {
	Role    string
	Trigger string
	// Connector is the connector the role names (filled by validation); Role
	// is "" for a builtin connector's trigger.
	Connector string
	Pos       Pos
}

// Retry is a step's retry policy. Step.Retry is nil when the file gives
// none, and fields the file leaves out are zero: the engine applies its
// defaults to both.
type Retry struct {
	Attempts int           // total tries, including the first; 1 means no retry
	Backoff  string        // exponential (default), linear, fixed
	Delay    time.Duration // first delay; default 1s
	Max      time.Duration // cap on one delay; default 5m
	// Unsafe allows retrying a non-idempotent action after an ambiguous failure.
	Unsafe bool
}

// Pos is a position in a flow file (1-based).
type Pos struct {
	Line int
	Col  int
}

// Walk calls fn for every step in pre-order (a step before its children,
// siblings in order), stopping when fn returns false.
func Walk(steps []*Step, fn func(*Step) bool) bool {
	for _, s := range steps {
		if !fn(s) {
			return false
		}
		for _, block := range s.Blocks() {
			if !Walk(block, fn) {
				return false
			}
		}
	}
	return true
}

// Blocks returns the step's child step lists in order.
func (s *Step) Blocks() [][]*Step {
	var out [][]*Step
	switch s.Kind {
	case KindIf:
		out = append(out, s.Then, s.Else)
	case KindSwitch:
		for _, c := range s.Cases {
			out = append(out, c.Steps)
		}
		out = append(out, s.Default)
	case KindForeach:
		out = append(out, s.Do)
	}
	return out
}

// Step returns the step with the given id.
func (f *Flow) Step(id string) (*Step, bool) {
	var found *Step
	Walk(f.Steps, func(s *Step) bool {
		if s.ID == id {
			found = s
			return false
		}
		return true
	})
	return found, found != nil
}

// Param returns the named parameter.
func (f *Flow) Param(name string) (*Param, bool) {
	for _, p := range f.Params {
		if p.Name == name {
			return p, true
		}
	}
	return nil, false
}
