package opentext

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/patchbay/patchbay/internal/connector/httpx"
	"github.com/patchbay/patchbay/internal/connector/opentext/opentextapi"
	"github.com/patchbay/patchbay/internal/fault"
)

// Variable types a flow may name in an action's types input.
var variableTypes = []any{"string", "integer", "short", "long", "double", "boolean", "date", "json"}

// toVariables turns a flow's name → value map into typed REST variables.
// types names the type of some variables; the others are inferred: text →
// string, true/false → boolean, whole numbers → integer (long beyond 32
// bits), other numbers → double, objects and lists → json.
func toVariables(vars map[string]any, types map[string]any) ([]opentextapi.Variable, error) {
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]opentextapi.Variable, 0, len(names))
	var problems []string
	for _, name := range names {
		v := vars[name]
		typ, _ := types[name].(string)
		if typ == "" {
			typ = inferType(v)
		} else if err := checkType(typ, v); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		if typ == "date" {
			if t, ok := v.(time.Time); ok {
				v = opentextapi.FormatTime(t)
			}
		}
		out = append(out, opentextapi.Variable{Name: name, Type: typ, Value: v})
	}
	for name := range types {
		if _, ok := vars[name]; !ok {
			problems = append(problems, fmt.Sprintf("types.%s: no such variable", name))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fault.E(fault.Invalid, "opentext: variables", fmt.Sprint(problems))
	}
	return out, nil
}

func inferType(v any) string {
	switch n := v.(type) {
	case nil:
		return "" // the service stores a null variable
	case string:
		return "string"
	case bool:
		return "boolean"
	case int:
		return intType(int64(n))
	case int64:
		return intType(n)
	case int32:
		return "integer"
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return intType(int64(n))
		}
		return "double"
	case map[string]any, []any:
		return "json"
	}
	return "json"
}

func intType(n int64) string {
	if n >= math.MinInt32 && n <= math.MaxInt32 {
		return "integer"
	}
	return "long"
}

func checkType(typ string, v any) error {
	if v == nil {
		return nil
	}
	bad := false
	switch typ {
	case "string":
		_, ok := v.(string)
		bad = !ok
	case "boolean":
		_, ok := v.(bool)
		bad = !ok
	case "integer", "short", "long":
		switch n := v.(type) {
		case int, int64, int32:
		case float64:
			bad = n != math.Trunc(n)
		default:
			bad = true
		}
	case "double":
		switch v.(type) {
		case int, int64, int32, float64:
		default:
			bad = true
		}
	case "date":
		switch s := v.(type) {
		case string:
			if _, ok := opentextapi.ParseTime(s); !ok {
				if _, err := time.Parse("2006-01-02", s); err != nil {
					return fmt.Errorf("%q is not an ISO-8601 date", s)
				}
			}
		case time.Time:
		default:
			bad = true
		}
	case "json":
	default:
		return fmt.Errorf("unknown type %q (want one of %v)", typ, variableTypes)
	}
	if bad {
		return fmt.Errorf("value %v does not fit type %s", v, typ)
	}
	return nil
}

// variables turns REST variables into a name → value map, leaving out the
// hidden ones and masking values equal to a connection secret.
func (c *Conn) variables(vars []opentextapi.Variable) map[string]any {
	out := make(map[string]any, len(vars))
	for _, v := range vars {
		if c.hidden[v.Name] || v.Name == c.idemVar {
			continue
		}
		out[v.Name] = c.mask(v.Value)
	}
	return out
}

// mask replaces a value equal to a secret of the connection.
func (c *Conn) mask(v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	for _, sec := range c.secrets {
		if s == sec {
			return "***"
		}
	}
	return v
}

// varNames lists variable names for summaries (values stay out of the audit trail).
func varNames(vars []opentextapi.Variable) []any {
	out := make([]any, 0, len(vars))
	for _, v := range vars {
		out = append(out, v.Name)
	}
	return out
}

// contentHash is the SHA-256 of the canonical JSON of v, as the http
// connector computes it.
func contentHash(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return httpx.ContentHash(b)
}

// varsHash hashes variables by name and value (not type), so what patchbay
// wrote and what comes back hash the same.
func varsHash(vars []opentextapi.Variable) string {
	m := make(map[string]any, len(vars))
	for _, v := range vars {
		m[v.Name] = v.Value
	}
	return contentHash(m)
}

// ProcessRef and TaskRef are the object references of events and writes.
func ProcessRef(id string) string { return "opentext:process/" + id }

// TaskRef is the reference of a task.
func TaskRef(id string) string { return "opentext:task/" + id }

// isoTime renders a service time as RFC 3339 ("" stays "").
func isoTime(s string) string {
	if s == "" {
		return ""
	}
	if t, ok := opentextapi.ParseTime(s); ok {
		return t.Format(time.RFC3339Nano)
	}
	return s
}

func str(m map[string]any, names ...string) string {
	for _, n := range names {
		if s, ok := m[n].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

func boolIn(m map[string]any, name string, def bool) bool {
	if b, ok := m[name].(bool); ok {
		return b
	}
	return def
}

func intIn(m map[string]any, name string, def int) int {
	switch n := m[name].(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	}
	return def
}

func strList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// processOutput is the normalized view of a running instance.
func (c *Conn) processOutput(in *opentextapi.Instance) map[string]any {
	state := "running"
	switch {
	case in.Ended && in.Completed:
		state = "completed"
	case in.Ended:
		state = "terminated"
	case in.Suspended:
		state = "suspended"
	}
	return map[string]any{
		"id": in.ID, "object": ProcessRef(in.ID), "definition_key": in.Key(), "definition_id": in.ProcessDefinitionID,
		"business_key": in.BusinessKey, "name": in.Name, "state": state, "started_at": isoTime(in.StartTime),
		"start_user": in.StartUserID, "activity": in.ActivityID, "variables": c.variables(in.Variables),
	}
}

// historicState is completed, terminated (ended with a delete reason) or running.
func historicState(h *opentextapi.HistoricInstance) string {
	switch {
	case h.EndTime == "":
		return "running"
	case h.DeleteReason != "":
		return "terminated"
	}
	return "completed"
}

// historicOutput is the normalized view of a historic instance, the same
// shape as processOutput plus the end.
func (c *Conn) historicOutput(h *opentextapi.HistoricInstance) map[string]any {
	out := map[string]any{
		"id": h.ID, "object": ProcessRef(h.ID), "definition_key": h.Key(), "definition_id": h.ProcessDefinitionID,
		"business_key": h.BusinessKey, "name": h.Name, "state": historicState(h), "started_at": isoTime(h.StartTime),
		"start_user": h.StartUserID, "variables": c.variables(h.Variables),
	}
	if h.EndTime != "" {
		out["ended_at"] = isoTime(h.EndTime)
		out["end_activity"] = h.EndActivityID
		if h.DeleteReason != "" {
			out["delete_reason"] = h.DeleteReason
		}
	}
	return out
}

// taskOutput is the normalized view of an open task.
func (c *Conn) taskOutput(t *opentextapi.Task) map[string]any {
	out := map[string]any{
		"id": t.ID, "object": TaskRef(t.ID), "name": t.Name, "description": t.Description, "assignee": t.Assignee,
		"owner": t.Owner, "created_at": isoTime(t.CreateTime), "due_at": isoTime(t.DueDate), "priority": t.Priority,
		"category": t.Category, "form_key": t.FormKey, "process_id": t.ProcessInstanceID,
		"definition_key": opentextapi.DefinitionKey(t.ProcessDefinitionID), "task_definition_key": t.TaskDefinitionKey,
		"open": true, "variables": c.variables(t.Variables),
	}
	var users, groups []any
	for _, a := range t.Assignments {
		if a.Type != "candidate" {
			continue
		}
		if a.User != "" {
			users = append(users, a.User)
		}
		if a.Group != "" {
			groups = append(groups, a.Group)
		}
	}
	if users != nil {
		out["candidate_users"] = users
	}
	if groups != nil {
		out["candidate_groups"] = groups
	}
	if len(t.Comments) > 0 {
		out["comments"] = comments(t.Comments)
	}
	return out
}

// historicTaskOutput is the normalized view of a task from history.
func (c *Conn) historicTaskOutput(t *opentextapi.HistoricTask) map[string]any {
	out := map[string]any{
		"id": t.ID, "object": TaskRef(t.ID), "name": t.Name, "description": t.Description, "assignee": t.Assignee,
		"owner": t.Owner, "created_at": isoTime(t.StartTime), "due_at": isoTime(t.DueDate), "priority": t.Priority,
		"category": t.Category, "form_key": t.FormKey, "process_id": t.ProcessInstanceID,
		"definition_key": opentextapi.DefinitionKey(t.ProcessDefinitionID), "task_definition_key": t.TaskDefinitionKey,
		"open": t.EndTime == "", "variables": c.variables(t.Variables),
	}
	if t.EndTime != "" {
		out["completed_at"] = isoTime(t.EndTime)
		if t.DeleteReason != "" {
			out["delete_reason"] = t.DeleteReason
		}
	}
	if len(t.Comments) > 0 {
		out["comments"] = comments(t.Comments)
	}
	return out
}

func comments(cs []opentextapi.Comment) []any {
	out := make([]any, 0, len(cs))
	for _, cm := range cs {
		out = append(out, map[string]any{"id": cm.ID, "author": cm.Author, "message": cm.Message, "time": isoTime(cm.Time)})
	}
	return out
}
