package bpmn

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// bpmnNS is the BPMN 2.0 model namespace.
const bpmnNS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

// xnode is a generic XML element.
type xnode struct {
	name  xml.Name
	attrs []xml.Attr
	kids  []*xnode
	text  strings.Builder
}

func (n *xnode) attr(local string) string {
	for _, a := range n.attrs {
		if a.Name.Local == local && (a.Name.Space == "" || a.Name.Space == bpmnNS) {
			return a.Value
		}
	}
	return ""
}

// ext reads an extension attribute (workflow:, flowable: or activiti:).
func (n *xnode) ext(local string) string {
	for _, a := range n.attrs {
		if strings.EqualFold(a.Name.Local, local) && a.Name.Space != "" && a.Name.Space != bpmnNS && a.Name.Space != "xmlns" {
			return a.Value
		}
	}
	return ""
}

func (n *xnode) child(local string) *xnode {
	for _, k := range n.kids {
		if k.name.Local == local {
			return k
		}
	}
	return nil
}

func (n *xnode) children(local string) []*xnode {
	var out []*xnode
	for _, k := range n.kids {
		if k.name.Local == local {
			out = append(out, k)
		}
	}
	return out
}

func (n *xnode) body() string { return strings.TrimSpace(n.text.String()) }

func parseXMLTree(raw []byte) (*xnode, error) {
	dec := xml.NewDecoder(bytes.NewReader(raw))
	var stack []*xnode
	var root *xnode
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("decoding BPMN XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &xnode{name: t.Name, attrs: t.Attr}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("decoding BPMN XML: empty document")
	}
	return root, nil
}

// ParseXML parses a BPMN 2.0 XML document with one executable process.
func ParseXML(raw []byte) (*Definition, error) {
	root, err := parseXMLTree(raw)
	if err != nil {
		return nil, err
	}
	if root.name.Local != "definitions" {
		return nil, fmt.Errorf("BPMN XML root element is <%s>, want <definitions>", root.name.Local)
	}
	messages := map[string]string{}
	for _, m := range root.children("message") {
		messages[m.attr("id")] = m.attr("name")
	}
	procs := root.children("process")
	var proc *xnode
	for _, p := range procs {
		if p.attr("isExecutable") != "false" {
			if proc != nil {
				return nil, fmt.Errorf("the document holds more than one executable process; deploy them one by one")
			}
			proc = p
		}
	}
	if proc == nil {
		return nil, fmt.Errorf("the document holds no executable <process>")
	}
	b := newBuilder()
	b.def.Key = proc.attr("id")
	b.def.Name = proc.attr("name")
	b.def.Category = root.attr("targetNamespace")
	b.def.Messages = messages
	if d := proc.child("documentation"); d != nil {
		b.def.Description = d.body()
	}
	for _, n := range proc.kids {
		if err := b.addXML(n); err != nil {
			return nil, err
		}
	}
	return b.finish()
}

func (b *builder) addXML(n *xnode) error {
	id, name, tag := n.attr("id"), n.attr("name"), n.name.Local
	el := &Element{ID: id, Name: name, Stencil: tag}
	if d := n.child("documentation"); d != nil {
		el.Documentation = d.body()
	}
	el.SkipExpression = n.ext("skipExpression")
	ext := n.child("extensionElements")
	if n.child("multiInstanceLoopCharacteristics") != nil || n.child("standardLoopCharacteristics") != nil {
		return unsupported(id, name, tag, "multi-instance and loops are not supported")
	}
	if ext != nil {
		ls, err := listenersXML(id, name, tag, ext, "executionListener")
		if err != nil {
			return err
		}
		el.ExecutionListeners = ls
	}
	switch tag {
	case "documentation", "extensionElements", "textAnnotation", "association", "laneSet", "dataObject",
		"dataObjectReference", "dataStoreReference", "ioSpecification":
		return nil
	case "sequenceFlow":
		f := &Flow{ID: id, Name: name}
		if c := n.child("conditionExpression"); c != nil {
			f.Condition = c.body()
		}
		return b.addFlow(f, n.attr("sourceRef"), n.attr("targetRef"))
	case "startEvent":
		el.Kind = KindStartEvent
		el.Initiator = n.ext("initiator")
		if m := n.child("messageEventDefinition"); m != nil {
			ref := m.attr("messageRef")
			el.MessageName = ref
			if nm, ok := b.def.Messages[ref]; ok && nm != "" {
				el.MessageName = nm
			}
		}
		for _, k := range n.kids {
			switch k.name.Local {
			case "messageEventDefinition", "documentation", "extensionElements", "outgoing":
			default:
				if strings.HasSuffix(k.name.Local, "EventDefinition") {
					return unsupported(id, name, tag, "%s start events are not supported", strings.TrimSuffix(k.name.Local, "EventDefinition"))
				}
			}
		}
	case "endEvent":
		el.Kind = KindEndEvent
		for _, k := range n.kids {
			if k.name.Local == "terminateEventDefinition" {
				el.Kind = KindTerminateEnd
			} else if strings.HasSuffix(k.name.Local, "EventDefinition") {
				return unsupported(id, name, tag, "%s end events are not supported", strings.TrimSuffix(k.name.Local, "EventDefinition"))
			}
		}
	case "userTask":
		el.Kind = KindUserTask
		el.Assignee = n.ext("assignee")
		el.CandidateUsers = splitList(n.ext("candidateUsers"))
		el.CandidateGroups = splitList(n.ext("candidateGroups"))
		el.DueDate = n.ext("dueDate")
		el.Priority = n.ext("priority")
		el.Category = n.ext("category")
		el.FormKey = n.ext("formKey")
		el.TaskType = n.ext("taskType")
		el.OutcomeVariable = n.ext("outcomeVariable")
		el.PossibleOutcomes = parseOutcomes(n.ext("possibleOutcomes"))
		el.InitiatorCanClose = strings.EqualFold(n.ext("initiatorCanCompleteTask"), "true")
		if ext != nil {
			ls, err := listenersXML(id, name, tag, ext, "taskListener")
			if err != nil {
				return err
			}
			el.TaskListeners = ls
		}
		if el.TaskType == "default" {
			el.TaskType = ""
		}
		if el.TaskType == "approval" && len(el.PossibleOutcomes) == 0 {
			return unsupported(id, name, tag, "approval task without possible outcomes")
		}
	case "serviceTask", "sendTask":
		switch typ := n.ext("type"); typ {
		case "http":
			el.Kind = KindHTTPTask
			el.HTTP = httpFromXML(n, ext)
		case "mail":
			el.Kind = KindMailTask
			f := fieldsXML(ext)
			el.Mail = &MailSpec{To: f["to"], From: f["from"], Subject: f["subject"], CC: f["cc"], BCC: f["bcc"], Text: f["text"], HTML: f["html"]}
		case "":
			return unsupported(id, name, tag, "service tasks with a Java class, expression or delegate are not supported (only http and mail types)")
		default:
			return unsupported(id, name, tag, "service task type %q is not supported (only http and mail)", typ)
		}
	case "scriptTask":
		el.Kind = KindScriptTask
		src := ""
		if s := n.child("script"); s != nil {
			src = s.body()
		}
		sc, err := ParseScript(n.attr("scriptFormat"), src)
		if err != nil {
			return unsupported(id, name, tag, "%v", err)
		}
		el.Script = sc
	case "manualTask", "task":
		el.Kind = KindManualTask
	case "callActivity":
		el.Kind = KindCallActivity
		el.CalledElement = n.attr("calledElement")
		if el.CalledElement == "" {
			return unsupported(id, name, tag, "call activity without calledElement")
		}
		if t := n.ext("calledElementType"); t != "" && t != "key" {
			return unsupported(id, name, tag, "called element type %q is not supported (only key)", t)
		}
		el.InheritVariables = strings.EqualFold(n.ext("inheritVariables"), "true")
		if ext != nil {
			for _, p := range ext.children("in") {
				el.InParams = append(el.InParams, Param{Source: p.attr("source"), SourceExpression: p.attr("sourceExpression"), Target: p.attr("target")})
			}
			for _, p := range ext.children("out") {
				el.OutParams = append(el.OutParams, Param{Source: p.attr("source"), SourceExpression: p.attr("sourceExpression"), Target: p.attr("target")})
			}
		}
	case "exclusiveGateway":
		el.Kind = KindExclusive
		el.Default = n.attr("default")
	case "inclusiveGateway":
		el.Kind = KindInclusive
		el.Default = n.attr("default")
	case "parallelGateway":
		el.Kind = KindParallel
	case "intermediateCatchEvent", "boundaryEvent":
		td := n.child("timerEventDefinition")
		if td == nil {
			kind := "this"
			for _, k := range n.kids {
				if strings.HasSuffix(k.name.Local, "EventDefinition") {
					kind = strings.TrimSuffix(k.name.Local, "EventDefinition")
				}
			}
			return unsupported(id, name, tag, "%s events are not supported (only timers)", kind)
		}
		el.Timer = &TimerSpec{}
		if x := td.child("timeDuration"); x != nil {
			el.Timer.Duration = x.body()
		}
		if x := td.child("timeDate"); x != nil {
			el.Timer.Date = x.body()
		}
		if x := td.child("timeCycle"); x != nil {
			el.Timer.Cycle = x.body()
		}
		el.Kind = KindTimerCatch
		if tag == "boundaryEvent" {
			el.Kind = KindBoundaryTimer
			el.CancelActivity = n.attr("cancelActivity") != "false"
			b.attach[id] = n.attr("attachedToRef")
		}
	default:
		return unsupported(id, name, tag, "this element type is not supported by the sandbox executor")
	}
	if tag != "sequenceFlow" {
		// Default flows of activities are declared with default="".
		if d := n.attr("default"); d != "" {
			el.Default = d
		}
	}
	return b.add(el)
}

// fieldsXML reads <x:field name=".."><x:string>..</x:string></x:field>
// (or <x:expression>, or the stringValue/expression attributes).
func fieldsXML(ext *xnode) map[string]string {
	out := map[string]string{}
	if ext == nil {
		return out
	}
	for _, f := range ext.children("field") {
		name := f.attr("name")
		switch {
		case f.child("string") != nil:
			out[name] = f.child("string").body()
		case f.child("expression") != nil:
			out[name] = f.child("expression").body()
		case f.attr("stringValue") != "":
			out[name] = f.attr("stringValue")
		default:
			out[name] = f.attr("expression")
		}
	}
	return out
}

func httpFromXML(n, ext *xnode) *HTTPSpec {
	f := fieldsXML(ext)
	is := func(k string) bool { return strings.EqualFold(strings.TrimSpace(f[k]), "true") }
	h := &HTTPSpec{
		Method: f["requestMethod"], URL: f["requestUrl"], Headers: f["requestHeaders"], Body: f["requestBody"],
		BodyEncoding: f["requestBodyEncoding"], TimeoutMS: f["requestTimeout"], ResponseVariable: f["responseVariableName"],
		SaveResponseAsJSON: is("saveResponseVariableAsJson"), SaveResponseParameters: is("saveResponseParameters"),
		SaveRequestVariables: is("saveRequestVariables"), ResultVariablePrefix: f["resultVariablePrefix"],
		FailStatusCodes: f["failStatusCodes"], HandleStatusCodes: f["handleStatusCodes"], IgnoreException: is("ignoreException"),
		DisallowRedirects: is("disallowRedirects"), UseCurrentToken: is("useCurrentAuthToken"),
	}
	if ext != nil {
		if a := ext.child("authenticationDetails"); a != nil {
			if strings.EqualFold(a.attr("useCurrentAuthToken"), "true") {
				h.UseCurrentToken = true
			} else if !h.UseCurrentToken && a.attr("authenticationUrl") != "" {
				h.Auth = &HTTPAuth{URL: a.attr("authenticationUrl"), ContentType: a.attr("contentType"), ClientID: a.attr("clientId"),
					ClientSecret: a.attr("clientSecret"), GrantType: a.attr("grantType"), Username: a.attr("username"), Password: a.attr("password")}
			}
		}
	}
	return h
}

func listenersXML(id, name, tag string, ext *xnode, local string) ([]Listener, error) {
	var out []Listener
	for _, l := range ext.children(local) {
		ev := l.attr("event")
		lis := Listener{Event: ev}
		switch {
		case strings.EqualFold(l.attr("isExecuteScriptEnabled"), "true"):
			src := ""
			format := "javascript"
			if s := l.child("script"); s != nil {
				src = s.body()
				if f := s.attr("scriptType"); f != "" {
					format = f
				}
			}
			sc, err := ParseScript(format, src)
			if err != nil {
				return nil, unsupported(id, name, tag, "%s listener script: %v", ev, err)
			}
			lis.Script = sc
		case l.attr("expression") != "":
			lis.Expression = l.attr("expression")
		case l.attr("delegateExpression") != "":
			return nil, unsupported(id, name, tag, "%s listener with delegate expression %q is not supported", ev, l.attr("delegateExpression"))
		case l.attr("class") != "":
			return nil, unsupported(id, name, tag, "%s listener class %q is not supported", ev, l.attr("class"))
		default:
			continue
		}
		out = append(out, lis)
	}
	return out, nil
}
