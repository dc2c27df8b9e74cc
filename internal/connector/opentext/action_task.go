package opentext

import (
	"context"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/opentext/opentextapi"
	"github.com/patchbay/patchbay/internal/fault"
)

var taskOutputFields = []connector.Field{
	{Name: "id", Type: connector.String, Doc: "Task id."},
	{Name: "object", Type: connector.String, Doc: "opentext:task/<id>"},
	{Name: "name", Type: connector.String},
	{Name: "description", Type: connector.String},
	{Name: "assignee", Type: connector.String},
	{Name: "owner", Type: connector.String},
	{Name: "candidate_users", Type: connector.List, Items: &connector.Field{Type: connector.String}},
	{Name: "candidate_groups", Type: connector.List, Items: &connector.Field{Type: connector.String}},
	{Name: "created_at", Type: connector.String},
	{Name: "due_at", Type: connector.String},
	{Name: "completed_at", Type: connector.String, Doc: "When it ended (tasks read from history)."},
	{Name: "priority", Type: connector.Int},
	{Name: "category", Type: connector.String},
	{Name: "form_key", Type: connector.String},
	{Name: "process_id", Type: connector.String},
	{Name: "definition_key", Type: connector.String},
	{Name: "task_definition_key", Type: connector.String, Doc: "The task's element id in the model."},
	{Name: "open", Type: connector.Bool},
	{Name: "variables", Type: connector.Object, Open: true},
	{Name: "comments", Type: connector.List, Items: &connector.Field{Type: connector.Object, Open: true}},
}

// taskFilters maps list_tasks inputs to the documented GET /tasks filters.
var taskFilters = []connector.Field{
	{Name: "name", Type: connector.String, Doc: "Task name."},
	{Name: "name_like", Type: connector.String, Doc: "Task name pattern with % wildcards."},
	{Name: "assignee", Type: connector.String, Doc: "Tasks claimed by this user (e-mail)."},
	{Name: "owner", Type: connector.String, Doc: "Tasks owned by this user."},
	{Name: "unassigned", Type: connector.Bool, Doc: "Only tasks nobody has claimed."},
	{Name: "candidate_user", Type: connector.String, Doc: "Unassigned tasks this user may claim."},
	{Name: "candidate_group", Type: connector.String, Doc: "Unassigned tasks offered to this group."},
	{Name: "candidate_groups", Type: connector.List, Items: &connector.Field{Type: connector.String}, Doc: "… to any of these groups."},
	{Name: "candidate_or_assigned", Type: connector.String, Doc: "A user's inbox: assigned to them or claimable by them."},
	{Name: "involved_user", Type: connector.String, Doc: "Tasks this user is involved in (assignee, owner or candidate)."},
	{Name: "process_id", Type: connector.String, Doc: "Tasks of this process instance."},
	{Name: "business_key", Type: connector.String, Doc: "Tasks of instances with this business key."},
	{Name: "definition_key", Type: connector.String, Doc: "Tasks of this process definition."},
	{Name: "task_definition_key", Type: connector.String, Doc: "The task element id in the model."},
	{Name: "category", Type: connector.String, Doc: "Task category."},
	{Name: "created_after", Type: connector.String, Doc: "ISO-8601 time."},
	{Name: "created_before", Type: connector.String, Doc: "ISO-8601 time."},
	{Name: "due_after", Type: connector.String, Doc: "ISO-8601 time."},
	{Name: "due_before", Type: connector.String, Doc: "ISO-8601 time."},
	{Name: "active", Type: connector.Bool, Doc: "true: tasks of active instances; false: of suspended ones."},
	{Name: "include_variables", Type: connector.Bool, Default: false, Doc: "Add each task's process variables."},
	{Name: "include_comments", Type: connector.Bool, Default: false, Doc: "Add each task's comments."},
	{Name: "include_assignments", Type: connector.Bool, Default: true, Doc: "Add candidate users and groups."},
	{Name: "sort", Type: connector.String, Default: "createTime", Doc: "Sort property.",
		Enum: []any{"id", "name", "description", "priority", "assignee", "owner", "createTime", "dueDate", "executionId", "processInstanceId", "taskDefinitionKey", "category"}},
	{Name: "order", Type: connector.String, Default: "asc", Enum: []any{"asc", "desc"}, Doc: "Sort order."},
	{Name: "offset", Type: connector.Int, Default: 0, Doc: "Tasks to skip."},
	{Name: "count", Type: connector.Int, Default: 50, Doc: "Page size."},
	{Name: "all", Type: connector.Bool, Default: false, Doc: "Follow pages until every match is read (at most 5,000 tasks)."},
}

var listTasksSpec = connector.ActionSpec{
	Name: "list_tasks", Title: "List open tasks", Idempotent: true,
	Doc:   "Lists open user tasks with the service's documented filters (a user's inbox, a process's tasks, a group's queue), one page or all.",
	Input: taskFilters,
	Output: []connector.Field{
		{Name: "tasks", Type: connector.List, Items: &connector.Field{Type: connector.Object, Fields: taskOutputFields}},
		{Name: "total", Type: connector.Int, Doc: "Matches in all (-1 when the service does not say)."},
		{Name: "count", Type: connector.Int, Doc: "Tasks returned."},
	},
	Examples: []connector.Example{{
		Title: "The review task of a process",
		Input: map[string]any{"process_id": "5c9e…", "include_variables": true},
	}, {
		Title: "A reviewer's inbox",
		Input: map[string]any{"candidate_or_assigned": "reviewer@example.com", "sort": "createTime", "order": "desc"},
	}},
}

func (c *Conn) listTasks(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := req.Input
	q := opentextapi.TaskQuery{
		Name: str(in, "name"), NameLike: str(in, "name_like"), Assignee: str(in, "assignee"), Owner: str(in, "owner"),
		Unassigned: boolIn(in, "unassigned", false), CandidateUser: str(in, "candidate_user"), CandidateGroup: str(in, "candidate_group"),
		CandidateGroups: strings.Join(strList(in["candidate_groups"]), ","), CandidateOrAssigned: str(in, "candidate_or_assigned"),
		InvolvedUser: str(in, "involved_user"), ProcessInstanceID: str(in, "process_id"), ProcessInstanceBusinessKey: str(in, "business_key"),
		ProcessDefinitionKey: str(in, "definition_key"), TaskDefinitionKey: str(in, "task_definition_key"), Category: str(in, "category"),
		IncludeProcessVariables: boolIn(in, "include_variables", false), IncludeTaskComments: boolIn(in, "include_comments", false),
		IncludeTaskAssignments: boolIn(in, "include_assignments", true),
		Paging:                 opentextapi.Paging{Offset: intIn(in, "offset", 0), Count: intIn(in, "count", 50), Sort: str(in, "sort"), Order: str(in, "order")},
	}
	if b, ok := in["active"].(bool); ok {
		q.Active = &b
	}
	var problems []string
	for name, dst := range map[string]*time.Time{"created_after": &q.CreatedAfter, "created_before": &q.CreatedBefore,
		"due_after": &q.DueAfter, "due_before": &q.DueBefore} {
		if s := str(in, name); s != "" {
			t, ok := opentextapi.ParseTime(s)
			if !ok {
				problems = append(problems, name+": not an ISO-8601 time")
			}
			*dst = t
		}
	}
	if len(problems) > 0 {
		return nil, fault.E(fault.Invalid, "opentext.list_tasks", strings.Join(problems, "; "))
	}
	if q.Count <= 0 {
		q.Count = 50
	}
	all := boolIn(in, "all", false)
	tasks := []any{}
	total := -1
	for {
		page, err := c.api.ListTasks(ctx, q)
		if err != nil {
			return nil, err
		}
		total = page.Total
		for i := range page.Items {
			tasks = append(tasks, c.taskOutput(&page.Items[i]))
		}
		if !all || len(page.Items) < q.Count || len(tasks) >= 5000 || (total >= 0 && q.Offset+len(page.Items) >= total) {
			break
		}
		q.Offset += len(page.Items)
	}
	return &connector.Result{Output: map[string]any{"tasks": tasks, "total": total, "count": len(tasks)}}, nil
}

var getTaskSpec = connector.ActionSpec{
	Name: "get_task", Title: "Get a task", Idempotent: true,
	Doc: "Reads a task: an open one with its candidates, from history once it ended (open: false, completed_at).",
	Input: []connector.Field{
		{Name: "id", Type: connector.String, Required: true, Doc: "Task id."},
		{Name: "include_variables", Type: connector.Bool, Default: true, Doc: "Add the process variables."},
		{Name: "include_comments", Type: connector.Bool, Default: false},
	},
	Output:   taskOutputFields,
	Examples: []connector.Example{{Title: "Read a task", Input: map[string]any{"id": "7d1f…"}}},
}

func (c *Conn) getTask(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	inc := opentextapi.TaskIncludes{ProcessVariables: boolIn(req.Input, "include_variables", true),
		Comments: boolIn(req.Input, "include_comments", false), Assignments: true}
	out, err := c.readTask(ctx, str(req.Input, "id"), inc)
	if err != nil {
		return nil, err
	}
	return &connector.Result{Output: out}, nil
}

// readTask reads an open task, or the task from history once it ended.
func (c *Conn) readTask(ctx context.Context, id string, inc opentextapi.TaskIncludes) (map[string]any, error) {
	t, err := c.api.GetTask(ctx, id, inc)
	if err == nil {
		return c.taskOutput(t), nil
	}
	if !fault.Is(err, fault.NotFound) {
		return nil, err
	}
	h, herr := c.historicTask(ctx, id, inc)
	if herr != nil {
		return nil, herr
	}
	if h == nil {
		return nil, err
	}
	return c.historicTaskOutput(h), nil
}

func (c *Conn) historicTask(ctx context.Context, id string, inc opentextapi.TaskIncludes) (*opentextapi.HistoricTask, error) {
	inc.Assignments = false
	page, err := c.api.ListHistoricTasks(ctx, opentextapi.HistoricTaskQuery{TaskID: id, Includes: inc, Paging: opentextapi.Paging{Count: 1}})
	if err != nil || len(page.Items) == 0 {
		return nil, err
	}
	return &page.Items[0], nil
}

var claimTaskSpec = connector.ActionSpec{
	Name: "claim_task", Title: "Claim a task", Writes: true, Idempotent: true,
	Doc: "Assigns a task to a user (e-mail or OTDS name). Claiming a task already claimed by the same user succeeds; " +
		"claimed by someone else, it fails with a conflict. An empty assignee with unclaim: true gives the task back.",
	Input: []connector.Field{
		{Name: "id", Type: connector.String, Required: true, Doc: "Task id."},
		{Name: "assignee", Type: connector.String, Doc: "Who claims it; default the connection's username."},
		{Name: "unclaim", Type: connector.Bool, Default: false, Doc: "Give the task back instead (no assignee)."},
	},
	Output: []connector.Field{
		{Name: "id", Type: connector.String},
		{Name: "object", Type: connector.String},
		{Name: "assignee", Type: connector.String},
	},
	Examples: []connector.Example{{Title: "Claim for a reviewer", Input: map[string]any{"id": "7d1f…", "assignee": "reviewer@example.com"}}},
}

func (c *Conn) claimTask(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	id := str(req.Input, "id")
	who := str(req.Input, "assignee")
	if boolIn(req.Input, "unclaim", false) {
		who = ""
	} else if who == "" {
		who = c.cfg.String("username")
		if who == "" {
			return nil, fault.Errorf(fault.Invalid, "opentext.claim_task: no assignee and the connection has no username")
		}
	}
	if err := c.claim(ctx, id, who); err != nil {
		return nil, err
	}
	op := "claim"
	if who == "" {
		op = "unclaim"
	}
	return &connector.Result{
		Output: map[string]any{"id": id, "object": TaskRef(id), "assignee": who},
		Writes: []connector.Write{{Object: TaskRef(id), Op: op, Summary: map[string]any{"assignee": who}}},
	}, nil
}

// claim claims a task, treating "already claimed by who" as done.
func (c *Conn) claim(ctx context.Context, id, who string) error {
	err := c.api.ClaimTask(ctx, id, who)
	if err == nil || !fault.Is(err, fault.Conflict) || who == "" {
		return err
	}
	t, gerr := c.api.GetTask(ctx, id, opentextapi.TaskIncludes{})
	if gerr == nil && strings.EqualFold(t.Assignee, who) {
		return nil
	}
	return err
}

var completeTaskSpec = connector.ActionSpec{
	Name: "complete_task", Title: "Complete a task", Writes: true, Idempotent: true,
	Doc: "Completes a user task with an outcome (required for approval tasks: one of the task's possible outcome values, " +
		"written to its outcome variable) and variables. With assignee, an unclaimed task is first claimed for that user " +
		"(so the model records who decided). A task that already ended completed is reported as done (a re-executed step).",
	Input: []connector.Field{
		{Name: "id", Type: connector.String, Required: true, Doc: "Task id."},
		{Name: "outcome", Type: connector.String, Doc: "Outcome value, e.g. approved or rejected.", Example: "approved"},
		{Name: "variables", Type: connector.Object, Open: true, Doc: "Process variables to set as the task completes (e.g. comment)."},
		typesField,
		{Name: "comment", Type: connector.String, Doc: "A task comment recorded with the completion."},
		{Name: "assignee", Type: connector.String, Doc: "Claim an unclaimed task for this user first."},
	},
	Output: []connector.Field{
		{Name: "id", Type: connector.String},
		{Name: "object", Type: connector.String},
		{Name: "process_id", Type: connector.String},
		{Name: "outcome", Type: connector.String},
		{Name: "completed", Type: connector.Bool, Doc: "True: this call completed it; false: it had already ended."},
	},
	Examples: []connector.Example{{
		Title: "Approve",
		Input: map[string]any{"id": "7d1f…", "outcome": "approved", "variables": map[string]any{"comment": "Looks good"}},
	}},
}

func (c *Conn) completeTask(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := req.Input
	id, outcome := str(in, "id"), str(in, "outcome")
	vars, err := toVariables(mapIn(in, "variables"), mapIn(in, "types"))
	if err != nil {
		return nil, err
	}
	out := map[string]any{"id": id, "object": TaskRef(id), "outcome": outcome}
	t, err := c.api.GetTask(ctx, id, opentextapi.TaskIncludes{})
	if fault.Is(err, fault.NotFound) {
		h, herr := c.historicTask(ctx, id, opentextapi.TaskIncludes{})
		if herr != nil {
			return nil, herr
		}
		if h == nil || h.EndTime == "" || h.DeleteReason != "" {
			return nil, err
		}
		out["process_id"], out["completed"] = h.ProcessInstanceID, false
		return &connector.Result{Output: out}, nil
	}
	if err != nil {
		return nil, err
	}
	out["process_id"] = t.ProcessInstanceID
	if who := str(in, "assignee"); who != "" && t.Assignee == "" {
		if err := c.claim(ctx, id, who); err != nil {
			return nil, err
		}
	}
	if err := c.api.CompleteTask(ctx, id, opentextapi.CompleteRequest{Outcome: outcome, Variables: vars, Comment: str(in, "comment")}); err != nil {
		return nil, err
	}
	out["completed"] = true
	return &connector.Result{Output: out, Writes: []connector.Write{{Object: TaskRef(id), Op: "complete", Hash: taskCompletedHash(id),
		Summary: map[string]any{"outcome": outcome, "process_id": t.ProcessInstanceID, "variables": varNames(vars)}}}}, nil
}

// taskCompletedHash is the hash of a task completion, the same on the
// complete_task write and the task.completed event, so the ingest can
// recognise patchbay's own completion coming back.
func taskCompletedHash(id string) string {
	return contentHash(map[string]any{"task": id, "event": "completed"})
}
