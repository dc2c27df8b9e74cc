package opentext

import (
	"context"
	"strings"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/opentext/opentextapi"
	"github.com/patchbay/patchbay/internal/fault"
)

// processOutputFields describe get_process and start_process outputs.
var processOutputFields = []connector.Field{
	{Name: "id", Type: connector.String, Doc: "Process instance id."},
	{Name: "object", Type: connector.String, Doc: "Its reference, opentext:process/<id> (what waits key on)."},
	{Name: "definition_key", Type: connector.String},
	{Name: "definition_id", Type: connector.String, Doc: "key:version:uuid of the definition the instance runs."},
	{Name: "business_key", Type: connector.String},
	{Name: "name", Type: connector.String},
	{Name: "state", Type: connector.String, Enum: []any{"running", "suspended", "completed", "terminated"}},
	{Name: "started_at", Type: connector.String},
	{Name: "ended_at", Type: connector.String, Doc: "When it ended (ended instances)."},
	{Name: "end_activity", Type: connector.String, Doc: "The end event it reached (ended instances)."},
	{Name: "delete_reason", Type: connector.String, Doc: "Why it was terminated (terminated instances)."},
	{Name: "start_user", Type: connector.String},
	{Name: "activity", Type: connector.String, Doc: "An element a running instance waits in."},
	{Name: "variables", Type: connector.Object, Open: true, Doc: "Process variables by name (hidden ones left out)."},
}

var typesField = connector.Field{Name: "types", Type: connector.Object, Open: true,
	Doc: "Types of some variables by name: string, integer, short, long, double, boolean, date (ISO-8601) or json. " +
		"Others are inferred: text → string, true/false → boolean, whole numbers → integer (long beyond 32 bits), " +
		"other numbers → double, objects and lists → json."}

var startProcessSpec = connector.ActionSpec{
	Name: "start_process", Title: "Start a process instance", Writes: true, Idempotent: true,
	Doc: "Starts an instance of a deployed process (by definition key, definition id or start message) with typed variables " +
		"and a business key. Idempotent: the step's idempotency key is stored in a process variable, and a re-executed step " +
		"finds the instance it started (looked up by business key) instead of starting a second one. When business_key is " +
		"empty, patchbay:<idempotency key> is used as the business key so the lookup works. An instance already running " +
		"with the same business key and definition (or the one linked to the step's link key) is reused by default " +
		"(if_running). callback: true passes this connection's callback URL and secret as the callback_url and " +
		"callback_secret variables, for models whose HTTP task posts back to patchbay.",
	Input: []connector.Field{
		{Name: "definition_key", Type: connector.String, Doc: "Process definition key (the model's process id); the latest version starts.", Example: "media_review"},
		{Name: "definition_id", Type: connector.String, Doc: "A definition id (key:version:uuid) or model id, to start a given version."},
		{Name: "message", Type: connector.String, Doc: "A message name of a message start event, instead of a definition."},
		{Name: "business_key", Type: connector.String, Doc: "Business key, e.g. iconik:<asset>:<version>; the idempotency lookup uses it."},
		{Name: "name", Type: connector.String, Doc: "Instance name."},
		{Name: "variables", Type: connector.Object, Open: true, Doc: "Process variables by name."},
		typesField,
		{Name: "transient_variables", Type: connector.Object, Open: true, Doc: "Variables available to the start transaction only (not stored)."},
		{Name: "callback", Type: connector.Bool, Default: false,
			Doc: "Set the callback_url and callback_secret variables to this connection's callback trigger URL and secret."},
		{Name: "if_running", Type: connector.String, Default: "reuse", Enum: []any{"reuse", "start", "fail"},
			Doc: "When an instance of this definition with this business key (or the linked one) is already running: reuse it, start another anyway, or fail with a conflict."},
		{Name: "return_variables", Type: connector.Bool, Default: true, Doc: "Include the variables in the output."},
		{Name: "comment", Type: connector.String, Doc: "A comment recorded on the new instance."},
	},
	Output: append([]connector.Field{
		{Name: "created", Type: connector.Bool, Doc: "False when an existing instance was returned."},
		{Name: "reused", Type: connector.String, Doc: "Why an existing instance was returned: same_step, running or linked."},
	}, processOutputFields...),
	Examples: []connector.Example{{
		Title: "Start a media review that calls back",
		Input: map[string]any{"definition_key": "media_review", "business_key": "iconik:a1b2:v3", "callback": true,
			"variables": map[string]any{"reviewer_group": "media_reviewers", "asset_id": "a1b2", "version_id": "v3", "title": "Trailer"}},
		Output: map[string]any{"id": "5c9e…", "object": "opentext:process/5c9e…", "created": true, "state": "running",
			"definition_key": "media_review", "business_key": "iconik:a1b2:v3"},
	}},
}

func (c *Conn) startProcess(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := req.Input
	key, defID, msg := str(in, "definition_key"), str(in, "definition_id"), str(in, "message")
	n := 0
	for _, s := range []string{key, defID, msg} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return nil, fault.Errorf(fault.Invalid, "opentext.start_process: give exactly one of definition_key, definition_id and message")
	}
	vars := map[string]any{}
	if m, ok := in["variables"].(map[string]any); ok {
		for k, v := range m {
			vars[k] = v
		}
	}
	types, _ := in["types"].(map[string]any)
	if boolIn(in, "callback", false) {
		u := c.CallbackURL()
		if u == "" {
			return nil, fault.Errorf(fault.Invalid, "opentext.start_process: callback: patchbay has no public URL; set callback_url on connection %s", c.cfg.Name)
		}
		sec := c.cfg.String("callback_secret")
		if sec == "" {
			return nil, fault.Errorf(fault.Invalid, "opentext.start_process: callback: connection %s has no callback_secret", c.cfg.Name)
		}
		vars["callback_url"], vars["callback_secret"] = u, sec
	}
	sent, err := toVariables(vars, types)
	if err != nil {
		return nil, err
	}
	transient, err := toVariables(mapIn(in, "transient_variables"), nil)
	if err != nil {
		return nil, err
	}
	withVars := boolIn(in, "return_variables", true)
	ifRunning := str(in, "if_running")
	if ifRunning == "" {
		ifRunning = "reuse"
	}
	bk := str(in, "business_key")
	if bk == "" && req.IdempotencyKey != "" {
		bk = "patchbay:" + req.IdempotencyKey
	}

	// The instance linked to the step's link key, if still running.
	if side, ok := req.Link.Side("opentext:process/"); ok && ifRunning != "start" {
		id := strings.TrimPrefix(side.Object, "opentext:process/")
		inst, err := c.api.GetInstance(ctx, id, withVars)
		switch {
		case err == nil && !inst.Ended:
			if ifRunning == "fail" {
				return nil, fault.Errorf(fault.Conflict, "opentext.start_process: linked instance %s is still running", id)
			}
			return c.existing(c.processOutput(inst), "linked", withVars, nil), nil
		case err != nil && !fault.Is(err, fault.NotFound):
			return nil, err
		}
	}
	if bk != "" {
		q := opentextapi.HistoricInstanceQuery{BusinessKey: bk, ProcessDefinitionKey: key, IncludeVariables: true,
			Paging: opentextapi.Paging{Count: 25, Sort: "startTime", Order: "desc"}}
		page, err := c.api.ListHistoricInstances(ctx, q)
		if err != nil {
			return nil, err
		}
		for i := range page.Items {
			h := &page.Items[i]
			if c.idemVar != "" && req.IdempotencyKey != "" && varValue(h.Variables, c.idemVar) == req.IdempotencyKey {
				// This step started it before (its result was not recorded): report that write again.
				w := c.startWrite(h.ID, h.Key(), bk, sent)
				return c.existing(c.historicOutput(h), "same_step", withVars, &w), nil
			}
		}
		for i := range page.Items {
			h := &page.Items[i]
			if h.EndTime != "" || ifRunning == "start" || (defID != "" && h.ProcessDefinitionID != defID) {
				continue
			}
			if ifRunning == "fail" {
				return nil, fault.Errorf(fault.Conflict, "opentext.start_process: instance %s with business key %q is already running", h.ID, bk)
			}
			return c.existing(c.historicOutput(h), "running", withVars, nil), nil
		}
	}
	if c.idemVar != "" && req.IdempotencyKey != "" {
		sent = append(sent, opentextapi.Variable{Name: c.idemVar, Type: "string", Value: req.IdempotencyKey})
	}
	sr := opentextapi.StartRequest{ProcessDefinitionKey: key, ProcessDefinitionID: defID, Message: msg, Name: str(in, "name"),
		BusinessKey: bk, Variables: sent, TransientVariables: transient, ReturnVariables: true}
	if cm := str(in, "comment"); cm != "" {
		sr.Comment = &opentextapi.Comment{Message: cm}
	}
	inst, err := c.api.StartInstance(ctx, sr)
	if err != nil {
		return nil, err
	}
	out := c.processOutput(inst)
	out["created"] = true
	if !withVars {
		delete(out, "variables")
	}
	return &connector.Result{Output: out, Writes: []connector.Write{c.startWrite(inst.ID, inst.Key(), bk, sent)}}, nil
}

func (c *Conn) existing(out map[string]any, why string, withVars bool, w *connector.Write) *connector.Result {
	out["created"], out["reused"] = false, why
	if !withVars {
		delete(out, "variables")
	}
	res := &connector.Result{Output: out}
	if w != nil {
		res.Writes = []connector.Write{*w}
	}
	return res
}

func (c *Conn) startWrite(id, key, bk string, sent []opentextapi.Variable) connector.Write {
	var shown []opentextapi.Variable
	for _, v := range sent {
		if !c.hidden[v.Name] && v.Name != c.idemVar {
			shown = append(shown, v)
		}
	}
	return connector.Write{Object: ProcessRef(id), Op: "create", Hash: varsHash(shown),
		Summary: map[string]any{"definition_key": key, "business_key": bk, "variables": varNames(sent)}}
}

func varValue(vars []opentextapi.Variable, name string) string {
	for _, v := range vars {
		if v.Name == name {
			s, _ := v.Value.(string)
			return s
		}
	}
	return ""
}

func mapIn(m map[string]any, name string) map[string]any {
	v, _ := m[name].(map[string]any)
	return v
}

var getProcessSpec = connector.ActionSpec{
	Name: "get_process", Title: "Get a process instance", Idempotent: true,
	Doc: "Reads a process instance with its variables: a running one from the runtime, an ended one from history " +
		"(state completed or terminated, with ended_at). Not found when neither knows it.",
	Input: []connector.Field{
		{Name: "id", Type: connector.String, Required: true, Doc: "Process instance id."},
		{Name: "include_variables", Type: connector.Bool, Default: true},
	},
	Output: processOutputFields,
	Examples: []connector.Example{{
		Title:  "Read the outcome of a review",
		Input:  map[string]any{"id": "5c9e…"},
		Output: map[string]any{"id": "5c9e…", "state": "completed", "variables": map[string]any{"outcome": "approved", "reviewer": "reviewer@example.com"}},
	}},
}

func (c *Conn) getProcess(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	id := str(req.Input, "id")
	withVars := boolIn(req.Input, "include_variables", true)
	out, err := c.readProcess(ctx, id, withVars)
	if err != nil {
		return nil, err
	}
	if !withVars {
		delete(out, "variables")
	}
	return &connector.Result{Output: out}, nil
}

// readProcess reads an instance from the runtime, or from history once ended.
func (c *Conn) readProcess(ctx context.Context, id string, withVars bool) (map[string]any, error) {
	inst, err := c.api.GetInstance(ctx, id, withVars)
	if err == nil {
		return c.processOutput(inst), nil
	}
	if !fault.Is(err, fault.NotFound) {
		return nil, err
	}
	h, herr := c.api.GetHistoricInstance(ctx, id, withVars)
	if herr != nil {
		if fault.Is(herr, fault.NotFound) {
			return nil, err
		}
		return nil, herr
	}
	return c.historicOutput(h), nil
}

var setVariablesSpec = connector.ActionSpec{
	Name: "set_variables", Title: "Set process variables", Writes: true, Idempotent: true,
	Doc: "Creates or updates variables of a running process instance (PUT, so repeating it is harmless).",
	Input: []connector.Field{
		{Name: "id", Type: connector.String, Required: true, Doc: "Process instance id."},
		{Name: "variables", Type: connector.Object, Open: true, Required: true, Doc: "Variables by name."},
		typesField,
	},
	Output: []connector.Field{
		{Name: "id", Type: connector.String},
		{Name: "object", Type: connector.String},
		{Name: "variables", Type: connector.Object, Open: true, Doc: "The variables as stored."},
	},
	Examples: []connector.Example{{
		Title: "Hand a delivery link to the process",
		Input: map[string]any{"id": "5c9e…", "variables": map[string]any{"delivery_link": "https://…"}},
	}},
}

func (c *Conn) setVariables(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	id := str(req.Input, "id")
	vars, err := toVariables(mapIn(req.Input, "variables"), mapIn(req.Input, "types"))
	if err != nil {
		return nil, err
	}
	if len(vars) == 0 {
		return nil, fault.Errorf(fault.Invalid, "opentext.set_variables: no variables given")
	}
	stored, err := c.api.SetVariables(ctx, id, vars)
	if err != nil {
		return nil, err
	}
	if len(stored) == 0 {
		stored = vars
	}
	return &connector.Result{
		Output: map[string]any{"id": id, "object": ProcessRef(id), "variables": c.variables(stored)},
		Writes: []connector.Write{{Object: ProcessRef(id), Op: "update", Hash: varsHash(vars), Summary: map[string]any{"variables": varNames(vars)}}},
	}, nil
}

var addCommentSpec = connector.ActionSpec{
	Name: "add_comment", Title: "Comment on a process instance", Writes: true, Idempotent: true,
	Doc: "Adds a comment to a process instance (running or ended). With dedupe (the default) a comment whose message " +
		"already exists on the instance is not added again, so a re-executed step writes it once.",
	Input: []connector.Field{
		{Name: "id", Type: connector.String, Required: true, Doc: "Process instance id."},
		{Name: "message", Type: connector.String, Required: true, Doc: "Comment text."},
		{Name: "type", Type: connector.String, Doc: "Comment type (service default when empty)."},
		{Name: "dedupe", Type: connector.Bool, Default: true, Doc: "Skip when a comment with this message exists."},
	},
	Output: []connector.Field{
		{Name: "id", Type: connector.String, Doc: "Comment id."},
		{Name: "process_id", Type: connector.String},
		{Name: "message", Type: connector.String},
		{Name: "author", Type: connector.String},
		{Name: "created", Type: connector.Bool},
	},
	Examples: []connector.Example{{
		Title: "Mirror an iconik comment",
		Input: map[string]any{"id": "5c9e…", "message": "Editor: please trim the intro"},
	}},
}

func (c *Conn) addComment(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	id, msg := str(req.Input, "id"), str(req.Input, "message")
	if msg == "" {
		return nil, fault.Errorf(fault.Invalid, "opentext.add_comment: message is empty")
	}
	out := func(cm *opentextapi.Comment, created bool) map[string]any {
		return map[string]any{"id": cm.ID, "process_id": id, "message": cm.Message, "author": cm.Author, "created": created}
	}
	if boolIn(req.Input, "dedupe", true) {
		existing, err := c.api.Comments(ctx, id)
		if err != nil {
			return nil, err
		}
		for i := range existing {
			if existing[i].Message == msg {
				return &connector.Result{Output: out(&existing[i], false)}, nil
			}
		}
	}
	cm, err := c.api.AddComment(ctx, id, msg, str(req.Input, "type"))
	if err != nil {
		return nil, err
	}
	return &connector.Result{Output: out(cm, true), Writes: []connector.Write{{Object: ProcessRef(id), Op: "comment",
		Hash: contentHash(msg), Summary: map[string]any{"comment_id": cm.ID, "length": len(msg)}}}}, nil
}

var terminateProcessSpec = connector.ActionSpec{
	Name: "terminate_process", Title: "Terminate a process instance", Writes: true, Idempotent: true,
	Doc: "Terminates a running instance (and its sub-processes). An instance that already ended is reported with terminated: false.",
	Input: []connector.Field{
		{Name: "id", Type: connector.String, Required: true, Doc: "Process instance id."},
		{Name: "reason", Type: connector.String, Doc: "Delete reason recorded in history."},
	},
	Output: []connector.Field{
		{Name: "id", Type: connector.String},
		{Name: "object", Type: connector.String},
		{Name: "terminated", Type: connector.Bool, Doc: "Whether this call ended it."},
		{Name: "state", Type: connector.String, Doc: "terminated, or the state it had already ended in."},
	},
	Examples: []connector.Example{{Title: "Withdraw a review", Input: map[string]any{"id": "5c9e…", "reason": "asset deleted in iconik"}}},
}

func (c *Conn) terminateProcess(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	id := str(req.Input, "id")
	err := c.api.DeleteInstance(ctx, id, str(req.Input, "reason"))
	if err == nil {
		return &connector.Result{
			Output: map[string]any{"id": id, "object": ProcessRef(id), "terminated": true, "state": "terminated"},
			Writes: []connector.Write{{Object: ProcessRef(id), Op: "terminate", Summary: map[string]any{"reason": str(req.Input, "reason")}}},
		}, nil
	}
	if !fault.Is(err, fault.NotFound) {
		return nil, err
	}
	h, herr := c.api.GetHistoricInstance(ctx, id, false)
	if herr != nil {
		if fault.Is(herr, fault.NotFound) {
			return nil, err
		}
		return nil, herr
	}
	return &connector.Result{Output: map[string]any{"id": id, "object": ProcessRef(id), "terminated": false, "state": historicState(h)}}, nil
}
