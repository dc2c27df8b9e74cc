package opentext

import (
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/patchbay/patchbay/internal/sandbox/opentext/bpmn"
)

// The inbox is a server-rendered page (no JavaScript) where a person picks
// a user, claims open tasks and completes them with an outcome and a comment.
// It is a sandbox convenience, not part of the real API, so it bypasses the
// rate limit and fault injection.

func (s *Server) inboxRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sandbox/opentext", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/sandbox/opentext/inbox", http.StatusFound)
	})
	mux.HandleFunc("GET /sandbox/opentext/inbox", s.inboxPage)
	mux.HandleFunc("POST /sandbox/opentext/inbox/tasks/{id}/claim", s.inboxClaim)
	mux.HandleFunc("POST /sandbox/opentext/inbox/tasks/{id}/complete", s.inboxComplete)
	return mux
}

type inboxVar struct{ Name, Value string }

type inboxOutcome struct{ Label, Value string }

type inboxTask struct {
	ID, Name, Description, InstanceID, ProcessName, ProcessKey, BusinessKey, Assignee, Created string
	Groups, Users                                                                              string
	Outcomes                                                                                   []inboxOutcome
	Vars                                                                                       []inboxVar
	MayAct                                                                                     bool
}

type inboxDone struct {
	InstanceID, ProcessKey, BusinessKey, Status, Ended, Outcome, Reviewer string
}

type inboxData struct {
	User, Msg, Err string
	Mine           bool
	Users          []User
	Tasks          []inboxTask
	Done           []inboxDone
}

func (s *Server) inboxPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := inboxData{User: q.Get("user"), Msg: q.Get("msg"), Err: q.Get("err"), Mine: q.Get("mine") == "1", Users: s.opts.Users}
	if d.User == "" {
		d.User = s.opts.Users[0].Username
	}
	s.engine.View(func(v *bpmn.View) {
		for _, in := range v.Instances() {
			if in.Ended {
				continue
			}
			for _, t := range in.Tasks {
				if !t.Open() {
					continue
				}
				may := t.Assignee == d.User || (t.Assignee == "" && s.isCandidate(t, d.User))
				if d.Mine && !may {
					continue
				}
				it := inboxTask{
					ID: t.ID, Name: t.Name, Description: t.Description, InstanceID: in.ID, ProcessName: in.DefinitionName,
					ProcessKey: in.DefinitionKey, BusinessKey: in.BusinessKey, Assignee: t.Assignee,
					Created: fmtTime(t.CreateTime), Groups: strings.Join(t.CandidateGroups, ", "),
					Users: strings.Join(t.CandidateUsers, ", "), MayAct: may,
				}
				for _, o := range t.Outcomes {
					it.Outcomes = append(it.Outcomes, inboxOutcome{o.Label, o.Value})
				}
				for _, k := range sortedVarNames(in.Vars) {
					it.Vars = append(it.Vars, inboxVar{k, bpmn.ToString(in.Vars[k].Value)})
				}
				d.Tasks = append(d.Tasks, it)
			}
		}
		ins := v.Instances()
		for i := len(ins) - 1; i >= 0 && len(d.Done) < 10; i-- {
			in := ins[i]
			if !in.Ended {
				continue
			}
			dn := inboxDone{InstanceID: in.ID, ProcessKey: in.DefinitionKey, BusinessKey: in.BusinessKey, Ended: fmtTime(*in.EndTime), Status: "completed"}
			if !in.Completed {
				dn.Status = "terminated: " + in.DeleteReason
			}
			if v, ok := in.Vars["outcome"]; ok {
				dn.Outcome = bpmn.ToString(v.Value)
			} else if v, ok := in.Vars["approvalStatus"]; ok {
				dn.Outcome = bpmn.ToString(v.Value)
			}
			if v, ok := in.Vars["reviewer"]; ok {
				dn.Reviewer = bpmn.ToString(v.Value)
			}
			d.Done = append(d.Done, dn)
		}
	})
	sort.SliceStable(d.Tasks, func(i, j int) bool { return d.Tasks[i].Created < d.Tasks[j].Created })
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := inboxTmpl.Execute(w, d); err != nil {
		s.log.Debug("rendering inbox", "error", err)
	}
}

func sortedVarNames(m map[string]*bpmn.Variable) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (s *Server) inboxBack(w http.ResponseWriter, r *http.Request, user, msg string, err error) {
	v := url.Values{}
	if user != "" {
		v.Set("user", user)
	}
	if r.PostForm.Get("mine") == "1" {
		v.Set("mine", "1")
	}
	if err != nil {
		v.Set("err", err.Error())
	} else {
		v.Set("msg", msg)
	}
	http.Redirect(w, r, "/sandbox/opentext/inbox?"+v.Encode(), http.StatusSeeOther)
}

func (s *Server) inboxClaim(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	user := strings.TrimSpace(r.PostForm.Get("user"))
	id := r.PathValue("id")
	if user == "" {
		s.inboxBack(w, r, user, "", errf("pick a user before claiming"))
		return
	}
	err := s.engine.ClaimTask(id, user)
	s.inboxBack(w, r, user, "Claimed task "+id+" for "+user+".", err)
}

func (s *Server) inboxComplete(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	user := strings.TrimSpace(r.PostForm.Get("user"))
	id := r.PathValue("id")
	outcome := strings.TrimSpace(r.PostForm.Get("outcome"))
	comment := strings.TrimSpace(r.PostForm.Get("comment"))
	err := s.CompleteTask(id, user, outcome, comment, nil)
	msg := "Completed task " + id
	if outcome != "" {
		msg += " with outcome " + outcome
	}
	s.inboxBack(w, r, user, msg+".", err)
}

var inboxTmpl = template.Must(template.New("inbox").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>OpenText Workflow sandbox — inbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#1d2430}
h1{font-size:1.4rem} h2{font-size:1.1rem;margin:0 0 .3rem}
.task{border:1px solid #c9d1dc;border-radius:6px;padding:1rem;margin:1rem 0}
.meta{color:#55606e;font-size:.9rem} table{border-collapse:collapse;margin:.5rem 0}
td,th{border:1px solid #dde3ea;padding:.2rem .5rem;text-align:left;font-size:.9rem;vertical-align:top}
.msg{background:#e7f6ea;padding:.5rem}.err{background:#fbe9e9;padding:.5rem}
form.inline{display:inline-block;margin-right:1rem;vertical-align:top} textarea{width:24rem;height:3rem}
</style></head><body>
<h1>OpenText Workflow sandbox — task inbox</h1>
{{if .Msg}}<p class="msg" role="status">{{.Msg}}</p>{{end}}
{{if .Err}}<p class="err" role="alert">{{.Err}}</p>{{end}}
<form method="get" action="/sandbox/opentext/inbox">
<label>Acting user <select name="user">{{range .Users}}<option value="{{.Username}}"{{if eq .Username $.User}} selected{{end}}>{{.Username}} ({{range $i, $g := .Groups}}{{if $i}}, {{end}}{{$g}}{{end}})</option>{{end}}</select></label>
<label><input type="checkbox" name="mine" value="1"{{if .Mine}} checked{{end}}> only tasks I can work on</label>
<button type="submit">Show</button></form>
<p class="meta">{{len .Tasks}} open task(s).</p>
{{range .Tasks}}<div class="task" id="task-{{.ID}}">
<h2>{{.Name}}</h2>
<p class="meta">{{.ProcessName}} ({{.ProcessKey}}) · instance {{.InstanceID}}{{if .BusinessKey}} · business key {{.BusinessKey}}{{end}} · created {{.Created}}<br>
{{if .Assignee}}Claimed by <strong>{{.Assignee}}</strong>{{else}}Unclaimed{{end}}{{if .Groups}} · candidate groups: {{.Groups}}{{end}}{{if .Users}} · candidate users: {{.Users}}{{end}}</p>
{{if .Description}}<p>{{.Description}}</p>{{end}}
<table><tr><th>Variable</th><th>Value</th></tr>{{range .Vars}}<tr><td>{{.Name}}</td><td>{{.Value}}</td></tr>{{end}}</table>
{{if not .Assignee}}<form class="inline" method="post" action="/sandbox/opentext/inbox/tasks/{{.ID}}/claim">
<input type="hidden" name="user" value="{{$.User}}">{{if $.Mine}}<input type="hidden" name="mine" value="1">{{end}}
<button type="submit">Claim as {{$.User}}</button></form>{{end}}
<form class="inline" method="post" action="/sandbox/opentext/inbox/tasks/{{.ID}}/complete">
<input type="hidden" name="user" value="{{$.User}}">{{if $.Mine}}<input type="hidden" name="mine" value="1">{{end}}
{{if .Outcomes}}<label>Outcome <select name="outcome">{{range .Outcomes}}<option value="{{.Value}}">{{.Label}}</option>{{end}}</select></label>
{{else}}<label>Outcome (optional) <input name="outcome"></label>{{end}}
<br><label>Comment<br><textarea name="comment"></textarea></label><br>
<button type="submit">Complete as {{$.User}}</button>{{if not .MayAct}} <span class="meta">({{$.User}} is not a candidate)</span>{{end}}</form>
</div>{{else}}<p>No open tasks.</p>{{end}}
{{if .Done}}<h2>Recently finished</h2><table><tr><th>Instance</th><th>Process</th><th>Business key</th><th>Status</th><th>Outcome</th><th>Reviewer</th><th>Ended</th></tr>
{{range .Done}}<tr><td>{{.InstanceID}}</td><td>{{.ProcessKey}}</td><td>{{.BusinessKey}}</td><td>{{.Status}}</td><td>{{.Outcome}}</td><td>{{.Reviewer}}</td><td>{{.Ended}}</td></tr>{{end}}</table>{{end}}
</body></html>
`))
