// Package bpmn is the small BPMN 2.0 executor behind the OpenText Workflow
// sandbox. It parses the two forms the real service deploys — the Flowable
// modeler JSON kept in OpenText's .otwf files and BPMN 2.0 XML with the
// OpenText (workflow:) or Flowable extension attributes — into one internal
// model, and runs process instances of it: start events (none and message),
// user tasks (with OpenText approval outcomes, candidate users and groups,
// assignee expressions), exclusive, inclusive and parallel gateways, HTTP
// tasks (as background jobs with retries), mail tasks (recorded, not sent),
// trivial script tasks, call activities, intermediate and boundary timers,
// none and terminate end events, execution and task listeners written as
// expressions.
//
// Anything else is rejected when the model is deployed, with an error that
// names the element, so a model that deploys here runs here.
//
// Invariants (each proven by a test in engine_test.go):
//   - An API operation either applies completely or not at all: when an
//     expression fails or a gateway finds no way out, every instance it
//     touched is restored (TestEngineRollsBackFailedTransaction).
//   - HTTP tasks never run while the engine lock is held, so a callback
//     receiver may call back into the sandbox (TestHTTPTaskCallbackMayReenter).
//   - A timer or HTTP job belongs to exactly one instance and is dropped with
//     it (TestDeleteInstanceDropsJobs).
package bpmn

import (
	"fmt"
	"sort"
	"strings"
)

// Kind is the type of a flow element.
type Kind string

// The element kinds the executor runs.
const (
	KindStartEvent      Kind = "startEvent"
	KindEndEvent        Kind = "endEvent"
	KindTerminateEnd    Kind = "terminateEndEvent"
	KindUserTask        Kind = "userTask"
	KindHTTPTask        Kind = "httpTask"
	KindMailTask        Kind = "mailTask"
	KindScriptTask      Kind = "scriptTask"
	KindManualTask      Kind = "manualTask"
	KindCallActivity    Kind = "callActivity"
	KindExclusive       Kind = "exclusiveGateway"
	KindInclusive       Kind = "inclusiveGateway"
	KindParallel        Kind = "parallelGateway"
	KindTimerCatch      Kind = "intermediateTimerEvent"
	KindBoundaryTimer   Kind = "boundaryTimerEvent"
	KindSequenceFlowRef Kind = "sequenceFlow" // only used in error messages
)

// Definition is one deployed version of a process model.
type Definition struct {
	Key         string
	Name        string
	Description string
	Category    string
	Elements    map[string]*Element
	Flows       map[string]*Flow
	Messages    map[string]string // message id -> name
	order       []string          // element ids in document order
	starts      []*Element
}

// Element is one flow node of a process.
type Element struct {
	ID       string
	Name     string
	Kind     Kind
	Stencil  string // the modeler stencil id or XML tag, for messages
	Incoming []*Flow
	Outgoing []*Flow
	// Default is the id of the default outgoing flow, if any.
	Default string

	// Start events.
	MessageName string // message start event
	Initiator   string // variable that receives the starting user

	// User tasks.
	Assignee          string
	CandidateUsers    []string
	CandidateGroups   []string
	DueDate           string
	Priority          string
	Category          string
	FormKey           string
	Documentation     string
	TaskType          string // "approval" for OpenText approval tasks
	OutcomeVariable   string
	PossibleOutcomes  []Outcome
	InitiatorCanClose bool
	TaskListeners     []Listener

	// HTTP tasks.
	HTTP *HTTPSpec
	// Mail tasks.
	Mail *MailSpec
	// Script tasks.
	Script *Script

	// Call activities.
	CalledElement     string
	InheritVariables  bool
	InParams          []Param
	OutParams         []Param
	InheritBackParams bool

	// Timers (intermediate and boundary).
	Timer          *TimerSpec
	AttachedTo     string
	CancelActivity bool
	Boundaries     []*Element // boundary events attached to this activity

	SkipExpression     string
	ExecutionListeners []Listener
}

// Outcome is one possible outcome of an approval task ("Approve:approved").
type Outcome struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Flow is a sequence flow.
type Flow struct {
	ID        string
	Name      string
	Source    *Element
	Target    *Element
	Condition string
	IsDefault bool
}

// Listener is an execution or task listener the executor can run.
type Listener struct {
	Event      string // start, end, take, create, assignment, complete
	Expression string
	Script     *Script
	Mail       *MailSpec
}

// Param maps a variable into or out of a call activity.
type Param struct {
	Source           string
	SourceExpression string
	Target           string
}

// HTTPSpec configures an HTTP task.
type HTTPSpec struct {
	Method                 string
	URL                    string
	Headers                string
	Body                   string
	BodyEncoding           string
	TimeoutMS              string
	ResponseVariable       string
	SaveResponseAsJSON     bool
	SaveResponseParameters bool
	SaveRequestVariables   bool
	ResultVariablePrefix   string
	FailStatusCodes        string
	HandleStatusCodes      string
	IgnoreException        bool
	DisallowRedirects      bool
	UseCurrentToken        bool
	Auth                   *HTTPAuth
}

// HTTPAuth is an HTTP task's own token request (authenticationDetails).
type HTTPAuth struct {
	URL          string
	ContentType  string
	ClientID     string
	ClientSecret string
	GrantType    string
	Username     string
	Password     string
}

// MailSpec configures a mail task; the sandbox records mails, it sends none.
type MailSpec struct {
	To, From, Subject, CC, BCC, Text, HTML string
}

// TimerSpec is a timer event definition; exactly one field is set.
type TimerSpec struct {
	Duration string
	Date     string
	Cycle    string
}

// StartEvent returns the none start event, or the message start event for
// message when message is non-empty.
func (d *Definition) StartEvent(message string) (*Element, error) {
	for _, s := range d.starts {
		if message == "" && s.MessageName == "" {
			return s, nil
		}
		if message != "" && s.MessageName == message {
			return s, nil
		}
	}
	if message != "" {
		return nil, fmt.Errorf("process %q has no start event for message %q", d.Key, message)
	}
	return nil, fmt.Errorf("process %q has no none start event", d.Key)
}

// MessageNames lists the messages that start this process.
func (d *Definition) MessageNames() []string {
	var out []string
	for _, s := range d.starts {
		if s.MessageName != "" {
			out = append(out, s.MessageName)
		}
	}
	return out
}

// UserTasks lists the user task elements in document order.
func (d *Definition) UserTasks() []*Element {
	var out []*Element
	for _, id := range d.order {
		if el := d.Elements[id]; el.Kind == KindUserTask {
			out = append(out, el)
		}
	}
	return out
}

// UnsupportedError reports a model element the executor cannot run.
type UnsupportedError struct {
	Element string // id
	Name    string
	Type    string
	Reason  string
}

func (e *UnsupportedError) Error() string {
	name := ""
	if e.Name != "" {
		name = fmt.Sprintf(" %q", e.Name)
	}
	return fmt.Sprintf("unsupported element %s%s (id %s): %s", e.Type, name, e.Element, e.Reason)
}

func unsupported(id, name, typ, format string, args ...any) error {
	return &UnsupportedError{Element: id, Name: name, Type: typ, Reason: fmt.Sprintf(format, args...)}
}

// builder collects elements and flows while a parser walks a document.
type builder struct {
	def       *Definition
	flowSrc   map[string]string // flow id -> source id
	flowTgt   map[string]string // flow id -> target id
	flowOrder []string
	attach    map[string]string // boundary id -> activity id
}

func newBuilder() *builder {
	return &builder{
		def: &Definition{
			Elements: map[string]*Element{},
			Flows:    map[string]*Flow{},
			Messages: map[string]string{},
		},
		flowSrc: map[string]string{},
		flowTgt: map[string]string{},
		attach:  map[string]string{},
	}
}

func (b *builder) add(el *Element) error {
	if el.ID == "" {
		return fmt.Errorf("element %s %q has no id", el.Stencil, el.Name)
	}
	if _, dup := b.def.Elements[el.ID]; dup {
		return fmt.Errorf("duplicate element id %q", el.ID)
	}
	b.def.Elements[el.ID] = el
	b.def.order = append(b.def.order, el.ID)
	return nil
}

func (b *builder) addFlow(f *Flow, source, target string) error {
	if f.ID == "" {
		return fmt.Errorf("sequence flow without id")
	}
	if _, dup := b.def.Flows[f.ID]; dup {
		return fmt.Errorf("duplicate sequence flow id %q", f.ID)
	}
	b.def.Flows[f.ID] = f
	b.flowSrc[f.ID] = source
	b.flowTgt[f.ID] = target
	b.flowOrder = append(b.flowOrder, f.ID)
	return nil
}

// finish links flows to elements and checks the graph.
func (b *builder) finish() (*Definition, error) {
	d := b.def
	if d.Key == "" {
		return nil, fmt.Errorf("the model has no process id (key)")
	}
	if !validKey(d.Key) {
		return nil, fmt.Errorf("process id %q is not a valid key (letters, digits, _ - . only, starting with a letter or _)", d.Key)
	}
	for _, id := range b.flowOrder {
		f := d.Flows[id]
		src, ok := d.Elements[b.flowSrc[id]]
		if !ok {
			return nil, fmt.Errorf("sequence flow %s: source %q is not a flow element", id, b.flowSrc[id])
		}
		tgt, ok := d.Elements[b.flowTgt[id]]
		if !ok {
			return nil, fmt.Errorf("sequence flow %s: target %q is not a flow element", id, b.flowTgt[id])
		}
		f.Source, f.Target = src, tgt
		src.Outgoing = append(src.Outgoing, f)
		tgt.Incoming = append(tgt.Incoming, f)
		if f.IsDefault {
			src.Default = f.ID
		}
	}
	for bid, aid := range b.attach {
		be := d.Elements[bid]
		act, ok := d.Elements[aid]
		if !ok {
			return nil, unsupported(bid, be.Name, be.Stencil, "attached to unknown activity %q", aid)
		}
		switch act.Kind {
		case KindUserTask, KindHTTPTask, KindCallActivity:
		default:
			return nil, unsupported(bid, be.Name, be.Stencil, "boundary timers are supported on user tasks, HTTP tasks and call activities, not on %s %s", act.Stencil, act.ID)
		}
		be.AttachedTo = aid
		act.Boundaries = append(act.Boundaries, be)
	}
	for _, id := range d.order {
		if err := checkExpressions(d.Elements[id]); err != nil {
			return nil, err
		}
	}
	for _, id := range d.order {
		el := d.Elements[id]
		sort.SliceStable(el.Boundaries, func(i, j int) bool { return el.Boundaries[i].ID < el.Boundaries[j].ID })
		if el.Default != "" {
			if f := d.Flows[el.Default]; f == nil || f.Source != el {
				return nil, fmt.Errorf("element %s: default flow %q does not leave it", el.ID, el.Default)
			}
		}
		switch el.Kind {
		case KindStartEvent:
			if len(el.Incoming) > 0 {
				return nil, fmt.Errorf("start event %s has incoming flows", el.ID)
			}
			d.starts = append(d.starts, el)
		case KindEndEvent, KindTerminateEnd:
			if len(el.Outgoing) > 0 {
				return nil, fmt.Errorf("end event %s has outgoing flows", el.ID)
			}
		case KindBoundaryTimer:
			if el.AttachedTo == "" {
				return nil, unsupported(el.ID, el.Name, el.Stencil, "boundary event is not attached to an activity")
			}
			if len(el.Outgoing) == 0 {
				return nil, fmt.Errorf("boundary event %s has no outgoing flow", el.ID)
			}
		default:
			if len(el.Outgoing) == 0 {
				return nil, fmt.Errorf("%s %s (%q) has no outgoing sequence flow", el.Stencil, el.ID, el.Name)
			}
		}
		if el.Kind != KindStartEvent && el.Kind != KindBoundaryTimer && len(el.Incoming) == 0 {
			return nil, fmt.Errorf("%s %s (%q) is not reachable: it has no incoming sequence flow", el.Stencil, el.ID, el.Name)
		}
	}
	for _, f := range d.Flows {
		if f.Condition != "" {
			if _, err := ParseTemplate(f.Condition); err != nil {
				return nil, fmt.Errorf("sequence flow %s: condition: %w", f.ID, err)
			}
		}
	}
	if len(d.starts) == 0 {
		return nil, fmt.Errorf("process %q has no start event", d.Key)
	}
	return d, nil
}

func validKey(k string) bool {
	for i, r := range k {
		switch {
		case r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'):
		case i > 0 && (r == '-' || r == '.' || (r >= '0' && r <= '9')):
		default:
			return false
		}
	}
	return k != ""
}

// checkExpressions parses every expression of el so a model with syntax the
// evaluator does not understand fails at deploy, not mid-process.
func checkExpressions(el *Element) error {
	var exprs []string
	exprs = append(exprs, el.Name, el.Assignee, el.DueDate, el.Priority, el.SkipExpression, el.Category)
	exprs = append(exprs, el.CandidateUsers...)
	exprs = append(exprs, el.CandidateGroups...)
	if h := el.HTTP; h != nil {
		exprs = append(exprs, h.Method, h.URL, h.Headers, h.Body, h.ResponseVariable, h.TimeoutMS)
		if a := h.Auth; a != nil {
			exprs = append(exprs, a.URL, a.ClientID, a.ClientSecret, a.Username, a.Password, a.GrantType)
		}
	}
	if m := el.Mail; m != nil {
		exprs = append(exprs, m.To, m.From, m.Subject, m.CC, m.BCC, m.Text, m.HTML)
	}
	if t := el.Timer; t != nil {
		exprs = append(exprs, t.Duration, t.Date, t.Cycle)
	}
	for _, p := range el.InParams {
		exprs = append(exprs, p.SourceExpression)
	}
	for _, p := range el.OutParams {
		exprs = append(exprs, p.SourceExpression)
	}
	for _, l := range append(append([]Listener(nil), el.ExecutionListeners...), el.TaskListeners...) {
		exprs = append(exprs, l.Expression)
	}
	for _, x := range exprs {
		if strings.TrimSpace(x) == "" {
			continue
		}
		if _, err := ParseTemplate(x); err != nil {
			return unsupported(el.ID, el.Name, el.Stencil, "expression %q: %v", x, err)
		}
	}
	return nil
}

// parseOutcomes reads "Approve:approved,Reject:rejected".
func parseOutcomes(s string) []Outcome {
	var out []Outcome
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		label, value, ok := strings.Cut(part, ":")
		if !ok {
			value = label
		}
		out = append(out, Outcome{Label: strings.TrimSpace(label), Value: strings.TrimSpace(value)})
	}
	return out
}

// splitList splits a comma-separated list of users or groups, keeping
// expressions (which may contain commas) whole.
func splitList(s string) []string {
	var out []string
	depth := 0
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
		case ',':
			if depth == 0 {
				if p := strings.TrimSpace(s[start:i]); p != "" {
					out = append(out, p)
				}
				start = i + 1
			}
		}
	}
	if p := strings.TrimSpace(s[start:]); p != "" {
		out = append(out, p)
	}
	return out
}
