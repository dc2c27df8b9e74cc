package bpmn

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// OTWFSchemaID is the schemaId of OpenText's .otwf workflow files.
const OTWFSchemaID = "https://www.opentext.com/ocp/devx/workflow/1.0.0/Flow"

type shape struct {
	ResourceID  string              `json:"resourceId"`
	Properties  map[string]any      `json:"properties"`
	Stencil     struct{ ID string } `json:"stencil"`
	ChildShapes []shape             `json:"childShapes"`
	Outgoing    []struct {
		ResourceID string `json:"resourceId"`
	} `json:"outgoing"`
	Target *struct {
		ResourceID string `json:"resourceId"`
	} `json:"target"`
}

// ModelerJSON extracts the modeler JSON (the "data" of an .otwf file) from
// raw, which may be the whole .otwf file or the modeler JSON itself.
func ModelerJSON(raw []byte) (json.RawMessage, error) {
	var probe struct {
		SchemaID    string          `json:"schemaId"`
		Data        json.RawMessage `json:"data"`
		ChildShapes json.RawMessage `json:"childShapes"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("decoding model JSON: %w", err)
	}
	if len(probe.ChildShapes) == 0 && len(probe.Data) > 0 {
		return probe.Data, nil
	}
	return raw, nil
}

// ParseJSON parses a process model in Flowable modeler JSON (optionally
// wrapped in an .otwf file).
func ParseJSON(raw []byte) (*Definition, error) {
	data, err := ModelerJSON(raw)
	if err != nil {
		return nil, err
	}
	var root shape
	if err := json.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("decoding model JSON: %w", err)
	}
	if root.Stencil.ID != "" && root.Stencil.ID != "BPMNDiagram" {
		return nil, fmt.Errorf("model JSON root stencil is %q, want BPMNDiagram", root.Stencil.ID)
	}
	b := newBuilder()
	props := root.Properties
	b.def.Key = str(props, "process_id")
	b.def.Name = str(props, "name")
	b.def.Description = str(props, "documentation")
	b.def.Category = str(props, "process_namespace")
	for id, name := range parseMessageDefs(props["messagedefinitions"]) {
		b.def.Messages[id] = name
	}
	var all []shape
	var collect func([]shape) error
	collect = func(shapes []shape) error {
		for _, s := range shapes {
			switch s.Stencil.ID {
			case "Pool", "Lane":
				if err := collect(s.ChildShapes); err != nil {
					return err
				}
				continue
			}
			all = append(all, s)
		}
		return nil
	}
	if err := collect(root.ChildShapes); err != nil {
		return nil, err
	}
	// The modeler lists flows and attached boundary events as the
	// "outgoing" of their source.
	source := map[string]string{}
	ids := map[string]string{}
	for _, s := range all {
		ids[s.ResourceID] = s.ResourceID
		if o := str(s.Properties, "overrideid"); o != "" {
			ids[s.ResourceID] = o
		}
	}
	for _, s := range all {
		for _, o := range s.Outgoing {
			if s.Stencil.ID != "SequenceFlow" {
				source[o.ResourceID] = s.ResourceID
			}
		}
	}
	for _, s := range all {
		if err := b.addShape(s, source, ids); err != nil {
			return nil, err
		}
	}
	return b.finish()
}

// addShape adds one modeler shape; ids maps resource ids to element ids
// (Flowable uses a shape's overrideid as its BPMN id when set).
func (b *builder) addShape(s shape, source, ids map[string]string) error {
	p := s.Properties
	id := ids[s.ResourceID]
	name := str(p, "name")
	st := s.Stencil.ID
	el := &Element{ID: id, Name: name, Stencil: st, Documentation: str(p, "documentation"), SkipExpression: str(p, "skipexpression")}
	if mi := str(p, "multiinstance_type"); mi != "" && !strings.EqualFold(mi, "None") {
		return unsupported(id, name, st, "multi-instance (%s) is not supported", mi)
	}
	ls, err := parseListeners(id, name, st, p["executionlisteners"], "executionListeners")
	if err != nil {
		return err
	}
	el.ExecutionListeners = ls
	switch st {
	case "SequenceFlow":
		f := &Flow{ID: id, Name: name, IsDefault: boolProp(p, "defaultflow"), Condition: conditionOf(p["conditionsequenceflow"])}
		tgt := ""
		if s.Target != nil {
			tgt = s.Target.ResourceID
		} else if len(s.Outgoing) > 0 {
			tgt = s.Outgoing[0].ResourceID
		}
		return b.addFlow(f, ids[source[s.ResourceID]], ids[tgt])
	case "TextAnnotation", "Association", "Association_Undirected", "Association_Unidirectional", "Association_Bidirectional", "DataStore", "DataObject":
		return nil
	case "StartNoneEvent":
		el.Kind = KindStartEvent
		el.Initiator = str(p, "initiator")
	case "StartMessageEvent":
		el.Kind = KindStartEvent
		el.Initiator = str(p, "initiator")
		ref := str(p, "messageref")
		if ref == "" {
			return unsupported(id, name, st, "message start event without a message reference")
		}
		el.MessageName = ref
		if n, ok := b.def.Messages[ref]; ok {
			el.MessageName = n
		}
	case "EndNoneEvent":
		el.Kind = KindEndEvent
	case "EndTerminateEvent":
		el.Kind = KindTerminateEnd
	case "UserTask":
		el.Kind = KindUserTask
		if err := userTaskFromJSON(el, p); err != nil {
			return err
		}
	case "HttpTask":
		el.Kind = KindHTTPTask
		el.HTTP = httpFromJSON(p)
	case "MailTask":
		el.Kind = KindMailTask
		el.Mail = &MailSpec{To: str(p, "mailtaskto"), From: str(p, "mailtaskfrom"), Subject: str(p, "mailtasksubject"),
			CC: str(p, "mailtaskcc"), BCC: str(p, "mailtaskbcc"), Text: str(p, "mailtasktext"), HTML: str(p, "mailtaskhtml")}
	case "ScriptTask":
		el.Kind = KindScriptTask
		sc, err := ParseScript(str(p, "scriptformat"), str(p, "scripttext"))
		if err != nil {
			return unsupported(id, name, st, "%v", err)
		}
		el.Script = sc
	case "ManualTask":
		el.Kind = KindManualTask
	case "CallActivity":
		el.Kind = KindCallActivity
		if t := str(p, "callactivitycalledelementtype"); t != "" && t != "key" {
			return unsupported(id, name, st, "called element type %q is not supported (only key)", t)
		}
		el.CalledElement = str(p, "callactivitycalledelement")
		if el.CalledElement == "" {
			return unsupported(id, name, st, "call activity without a called element")
		}
		el.InheritVariables = boolProp(p, "callactivityinheritvariables")
		el.InParams = parseParams(p["callactivityinparameters"], "inParameters")
		el.OutParams = parseParams(p["callactivityoutparameters"], "outParameters")
	case "ExclusiveGateway":
		el.Kind = KindExclusive
	case "InclusiveGateway":
		el.Kind = KindInclusive
	case "ParallelGateway":
		el.Kind = KindParallel
	case "CatchTimerEvent", "BoundaryTimerEvent":
		el.Kind = KindTimerCatch
		if st == "BoundaryTimerEvent" {
			el.Kind = KindBoundaryTimer
			el.CancelActivity = true
			if v, ok := p["cancelactivity"]; ok && v != nil && str(p, "cancelactivity") != "" {
				el.CancelActivity = boolProp(p, "cancelactivity")
			}
			att := source[s.ResourceID]
			if att == "" {
				return unsupported(id, name, st, "boundary event is not attached to an activity")
			}
			b.attach[id] = ids[att]
		}
		el.Timer = &TimerSpec{Duration: str(p, "timerdurationdefinition"), Date: str(p, "timerdatedefinition"), Cycle: str(p, "timercycledefinition")}
		if el.Timer.Duration == "" && el.Timer.Date == "" && el.Timer.Cycle == "" {
			return unsupported(id, name, st, "timer has no duration, date or cycle")
		}
	default:
		return unsupported(id, name, st, "this element type is not supported by the sandbox executor")
	}
	return b.add(el)
}

func userTaskFromJSON(el *Element, p map[string]any) error {
	el.DueDate = str(p, "duedatedefinition")
	el.Priority = str(p, "prioritydefinition")
	el.FormKey = str(p, "formkeydefinition")
	el.Category = str(p, "categorydefinition")
	el.TaskType = str(p, "tasktype")
	el.OutcomeVariable = str(p, "outcomevariable")
	el.PossibleOutcomes = parseOutcomes(str(p, "possibleoutcomes"))
	if a, ok := p["usertaskassignment"].(map[string]any); ok {
		if as, ok := a["assignment"].(map[string]any); ok {
			switch t, _ := as["type"].(string); t {
			case "", "static":
				el.Assignee, _ = as["assignee"].(string)
				el.CandidateUsers = valueList(as["candidateUsers"])
				el.CandidateGroups = valueList(as["candidateGroups"])
			case "idm":
				idm, _ := as["idm"].(map[string]any)
				if u, ok := idm["assignee"].(map[string]any); ok {
					el.Assignee = firstString(u, "email", "id")
				}
				for _, g := range anyList(idm["candidateGroups"]) {
					if m, ok := g.(map[string]any); ok {
						if s := firstString(m, "name", "id"); s != "" {
							el.CandidateGroups = append(el.CandidateGroups, s)
						}
					}
				}
				for _, u := range anyList(idm["candidateUsers"]) {
					if m, ok := u.(map[string]any); ok {
						if s := firstString(m, "email", "id"); s != "" {
							el.CandidateUsers = append(el.CandidateUsers, s)
						}
					}
				}
			default:
				return unsupported(el.ID, el.Name, el.Stencil, "assignment type %q is not supported", t)
			}
			el.InitiatorCanClose, _ = as["initiatorCanCompleteTask"].(bool)
		}
	}
	ls, err := parseListeners(el.ID, el.Name, el.Stencil, p["tasklisteners"], "taskListeners")
	if err != nil {
		return err
	}
	el.TaskListeners = ls
	if el.TaskType == "approval" && len(el.PossibleOutcomes) == 0 {
		return unsupported(el.ID, el.Name, el.Stencil, "approval task without possible outcomes")
	}
	return nil
}

func httpFromJSON(p map[string]any) *HTTPSpec {
	h := &HTTPSpec{
		Method:                 str(p, "httptaskrequestmethod"),
		URL:                    str(p, "httptaskrequesturl"),
		Headers:                str(p, "httptaskrequestheaders"),
		Body:                   str(p, "httptaskrequestbody"),
		BodyEncoding:           str(p, "httptaskrequestbodyencoding"),
		TimeoutMS:              str(p, "httptaskrequesttimeout"),
		ResponseVariable:       str(p, "httptaskresponsevariablename"),
		SaveResponseAsJSON:     boolProp(p, "httptasksaveresponseasjson"),
		SaveResponseParameters: boolProp(p, "httptasksaveresponseparameters"),
		SaveRequestVariables:   boolProp(p, "httptasksaverequestvariables"),
		ResultVariablePrefix:   str(p, "httptaskresultvariableprefix"),
		FailStatusCodes:        str(p, "httptaskfailstatuscodes"),
		HandleStatusCodes:      str(p, "httptaskhandlestatuscodes"),
		IgnoreException:        boolProp(p, "httptaskignoreexception"),
		DisallowRedirects:      boolProp(p, "httptaskdisallowredirects"),
	}
	if a, ok := p["authenticationdetails"].(map[string]any); ok {
		if v, _ := a["useCurrentAuthToken"].(bool); v {
			h.UseCurrentToken = true
		} else if u := firstString(a, "authenticationUrl", "tokenUrl"); u != "" {
			h.Auth = &HTTPAuth{URL: u, ContentType: firstString(a, "contentType"), ClientID: firstString(a, "clientId"),
				ClientSecret: firstString(a, "clientSecret"), GrantType: firstString(a, "grantType"),
				Username: firstString(a, "username"), Password: firstString(a, "password")}
		}
	}
	return h
}

// parseListeners reads the modeler's listener property, which is "", an
// object {"executionListeners":[...]} or that object as a JSON string.
func parseListeners(id, name, stencil string, v any, field string) ([]Listener, error) {
	v = unstring(v)
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil
	}
	var out []Listener
	for _, it := range anyList(m[field]) {
		l, ok := it.(map[string]any)
		if !ok {
			continue
		}
		ev, _ := l["event"].(string)
		class := firstString(l, "className")
		expr := firstString(l, "expression")
		if expr == "" && class == "" {
			expr = firstString(l, "implementation")
			if strings.Contains(expr, ".") && !strings.Contains(expr, "${") {
				class, expr = expr, ""
			}
		}
		delegate := firstString(l, "delegateExpression")
		lis := Listener{Event: ev}
		switch {
		case boolOf(l["isExecuteScriptEnabled"]):
			si, _ := l["scriptInfo"].(map[string]any)
			sc, err := ParseScript(firstString(si, "scriptType"), firstString(si, "script"))
			if err != nil {
				return nil, unsupported(id, name, stencil, "%s listener script: %v", ev, err)
			}
			lis.Script = sc
		case boolOf(l["isMailNotification"]):
			mi, _ := l["mailInfo"].(map[string]any)
			lis.Mail = &MailSpec{To: firstString(mi, "mailtaskto"), From: firstString(mi, "mailtaskfrom"),
				Subject: firstString(mi, "mailtasksubject"), CC: firstString(mi, "mailtaskcc"), BCC: firstString(mi, "mailtaskbcc"),
				Text: firstString(mi, "mailtasktext"), HTML: firstString(mi, "mailtaskhtml")}
		case expr != "":
			lis.Expression = expr
		case delegate != "":
			return nil, unsupported(id, name, stencil, "%s listener with delegate expression %q is not supported", ev, delegate)
		case class != "":
			return nil, unsupported(id, name, stencil, "%s listener class %q is not supported", ev, class)
		default:
			continue // e.g. only publishToEventService: nothing the sandbox runs
		}
		out = append(out, lis)
	}
	return out, nil
}

func parseParams(v any, field string) []Param {
	v = unstring(v)
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	var out []Param
	for _, it := range anyList(m[field]) {
		pm, ok := it.(map[string]any)
		if !ok {
			continue
		}
		out = append(out, Param{Source: firstString(pm, "source"), SourceExpression: firstString(pm, "sourceExpression"), Target: firstString(pm, "target")})
	}
	return out
}

func parseMessageDefs(v any) map[string]string {
	out := map[string]string{}
	for _, it := range anyList(unstring(v)) {
		if m, ok := it.(map[string]any); ok {
			id := firstString(m, "id")
			if id != "" {
				out[id] = firstString(m, "name")
			}
		}
	}
	return out
}

// conditionOf reads a sequence flow condition: a string or
// {"expression":{"type":"static","staticValue":"${...}"}}.
func conditionOf(v any) string {
	switch c := unstring(v).(type) {
	case string:
		return strings.TrimSpace(c)
	case map[string]any:
		if e, ok := c["expression"].(map[string]any); ok {
			return strings.TrimSpace(firstString(e, "staticValue"))
		}
	}
	return ""
}

// unstring decodes a JSON document stored as a string property.
func unstring(v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
		var out any
		if json.Unmarshal([]byte(t), &out) == nil {
			return out
		}
	}
	return v
}

func str(p map[string]any, key string) string {
	switch v := p[key].(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

func boolProp(p map[string]any, key string) bool { return boolOf(p[key]) }

func boolOf(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case string:
		return strings.EqualFold(strings.TrimSpace(b), "true")
	}
	return false
}

func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := m[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

func anyList(v any) []any {
	l, _ := v.([]any)
	return l
}

func valueList(v any) []string {
	var out []string
	for _, it := range anyList(v) {
		switch x := it.(type) {
		case map[string]any:
			if s := strings.TrimSpace(firstString(x, "value")); s != "" {
				out = append(out, s)
			}
		case string:
			if s := strings.TrimSpace(x); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}
