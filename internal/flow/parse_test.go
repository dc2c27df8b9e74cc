package flow

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestLoadComplex loads a valid flow with every step kind and checks the
// model: kinds, ids, positions, resolved connectors and evaluated values.
func TestLoadComplex(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("testdata/complex.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Load("complex.yaml", src, testRegistry())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(src)
	if f.Hash != hex.EncodeToString(sum[:]) || f.File != "complex.yaml" || string(f.Source) != string(src) {
		t.Errorf("file, source or hash not kept: %q %q", f.File, f.Hash)
	}
	if f.Name != "complex" || f.Version != 2 || f.Description != "Every step kind, nested." {
		t.Errorf("header: %q %d %q", f.Name, f.Version, f.Description)
	}

	// Params in declaration order, typed defaults.
	var params []string
	for _, p := range f.Params {
		params = append(params, p.Name+":"+p.Type)
	}
	if got := strings.Join(params, " "); got != "content_type:string limit:int environments:list timeout:duration dry_run:bool" {
		t.Errorf("params: %s", got)
	}
	if p, _ := f.Param("limit"); p.Default != 5 || p.Pos != (Pos{6, 3}) {
		t.Errorf("limit: %#v", p)
	}
	if p, _ := f.Param("content_type"); !reflect.DeepEqual(p.Enum, []any{"video", "image"}) {
		t.Errorf("content_type enum: %#v", p.Enum)
	}
	if p, _ := f.Param("dry_run"); !p.Required || p.Default != nil {
		t.Errorf("dry_run: %#v", p)
	}
	if p, _ := f.Param("timeout"); p.Doc != "How long to wait." || p.Default != "7d" {
		t.Errorf("timeout: %#v", p)
	}

	// Connections, short and long form.
	if c := f.Connections["dam"]; c.Connector != "iconik" || c.Connection != "iconik" || c.Pos != (Pos{11, 3}) {
		t.Errorf("dam: %+v", c)
	}
	if c := f.Connections["cms"]; c.Connector != "contentstack" || c.Connection != "acme-cms" {
		t.Errorf("cms: %+v", c)
	}

	// Trigger, with the spec's config defaults filled.
	tr := f.Trigger
	if tr.Kind != TriggerConnector || tr.Role != "dam" || tr.Name != "asset_events" || tr.Connector != "iconik" || tr.Pos != (Pos{15, 3}) {
		t.Errorf("trigger: %+v", tr)
	}
	if !reflect.DeepEqual(tr.Config, map[string]any{"realms": []any{"assets"}, "batch": 1}) {
		t.Errorf("trigger config: %#v", tr.Config)
	}
	env := map[string]any{
		"event":  map[string]any{"type": "asset.updated", "object_id": "a1", "data": map[string]any{"asset": "x", "status": "ok"}},
		"params": map[string]any{"content_type": "video", "limit": 5, "timeout": "7d", "environments": []any{"production"}},
		"steps": map[string]any{
			"asset": map[string]any{"output": map[string]any{"title": "Trailer", "kind": "video", "entry": "e1", "proxies": []any{map[string]any{"url": "http://p/1"}}}},
			"each":  map[string]any{"output": []any{"l1"}},
			"log":   map[string]any{"output": "logged"},
			"child": map[string]any{"output": map[string]any{"uid": "c1"}},
		},
		"vars":  map[string]any{"title": "Trailer"},
		"index": 0,
		"proxy": map[string]any{"url": "http://p/1"},
	}
	if ok, err := tr.Filter.EvalBool(env); err != nil || !ok {
		t.Errorf("filter: %v %v", ok, err)
	}
	evalEq(t, "dedupe", tr.Dedupe, env, "a1:video")
	if ex := tr.Filter.Exprs(); len(ex) != 1 || ex[0].Pos != (Pos{17, 14}) {
		t.Errorf("filter expression position: %+v", ex)
	}

	// Every step, in pre-order, with its id and kind.
	var got []string
	Walk(f.Steps, func(s *Step) bool {
		got = append(got, s.ID+"="+string(s.Kind))
		return true
	})
	want := []string{
		"asset=action", "names=set", "gate=if", "gate.then-1=wait", "gate.else-1=sleep",
		"route=switch", "publish=action", "route.case-2-1=sleep", "route.default-1=fail",
		"each=foreach", "log=action", "each.do-2=action", "child=call", "step-7=action",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("steps:\n got %v\nwant %v", got, want)
	}

	asset, _ := f.Step("asset")
	if !asset.Explicit || asset.Name != "Read the asset" || asset.Pos != (Pos{20, 5}) || asset.Timeout != 30*time.Second {
		t.Errorf("asset: %+v", asset)
	}
	if asset.Role != "dam" || asset.Action != "get_asset" || asset.Connector != "iconik" {
		t.Errorf("asset action: %q %q %q", asset.Role, asset.Action, asset.Connector)
	}
	if *asset.Retry != (Retry{Attempts: 5, Backoff: "linear", Delay: 2 * time.Second, Max: time.Minute, Unsafe: true}) {
		t.Errorf("retry: %+v", asset.Retry)
	}
	evalEq(t, "asset input", asset.Input, env, map[string]any{"asset_id": "a1", "include": []any{"metadata", "proxies"}})
	if asset.Input.KeyPos("include") != (Pos{27, 7}) {
		t.Errorf("include key at %v", asset.Input.KeyPos("include"))
	}

	names, _ := f.Step("names")
	if len(names.Set) != 2 || names.Set[0].Name != "title" || names.Set[1].Pos != (Pos{31, 7}) {
		t.Errorf("set: %+v", names.Set)
	}
	evalEq(t, "set title", names.Set[0].Value, env, "Trailer")
	evalEq(t, "set label", names.Set[1].Value, env, "asset a1")

	gate, _ := f.Step("gate")
	if ok, _ := gate.Cond.EvalBool(env); !ok || len(gate.Then) != 1 || len(gate.Else) != 1 {
		t.Errorf("gate: %+v", gate)
	}
	w := gate.Then[0]
	if w.Explicit || w.Pos != (Pos{35, 9}) {
		t.Errorf("wait step: %+v", w)
	}
	wantFor := []WaitSource{
		{Role: "dam", Trigger: "asset_events", Connector: "iconik", Pos: Pos{36, 17}},
		{Role: "ot", Trigger: "process_events", Connector: "opentext", Pos: Pos{36, 35}},
	}
	if !reflect.DeepEqual(w.Wait.For, wantFor) {
		t.Errorf("wait.for: %+v", w.Wait.For)
	}
	if w.Wait.OnTimeout != "continue" || w.Wait.Timeout != 0 {
		t.Errorf("wait: %+v", w.Wait)
	}
	evalEq(t, "wait key", w.Wait.Key, env, "iconik:asset/a1")
	evalEq(t, "wait event_key", w.Wait.EventKey, env, "x")
	evalEq(t, "wait timeout", w.Wait.TimeoutExpr, env, "7d")
	if ok, _ := w.Wait.Match.EvalBool(env); !ok {
		t.Error("wait match: false")
	}
	evalEq(t, "sleep", gate.Else[0].Sleep, env, "90s")

	route, _ := f.Step("route")
	if len(route.Cases) != 2 || route.Cases[0].Pos != (Pos{47, 9}) || route.Cases[1].When == nil || len(route.Default) != 1 {
		t.Fatalf("route: %+v", route)
	}
	evalEq(t, "switch", route.Switch, env, "video")
	evalEq(t, "case value", route.Cases[0].Value, env, "video")
	publish := route.Cases[0].Steps[0]
	if publish.Role != "cms" || publish.Connector != "contentstack" {
		t.Errorf("publish: %q %q", publish.Role, publish.Connector)
	}
	evalEq(t, "publish input", publish.Input, env, map[string]any{"entry_uid": "e1", "environments": []any{"production"}})
	evalEq(t, "until", route.Cases[1].Steps[0].Until, env, "2030-01-01T00:00:00Z")
	evalEq(t, "fail", route.Default[0].Fail, env, "unsupported kind video")

	each, _ := f.Step("each")
	if each.As != "proxy" || each.Concurrency != 4 || len(each.Do) != 2 {
		t.Errorf("each: %+v", each)
	}
	evalEq(t, "items", each.Items, env, []any{map[string]any{"url": "http://p/1"}})
	evalEq(t, "collect", each.Collect, env, "logged")
	log := each.Do[0]
	evalEq(t, "log message", log.Input, env, map[string]any{"message": "proxy 0: http://p/1"})
	if ok, _ := log.When.EvalBool(env); !ok {
		t.Error("log when: false")
	}
	req := each.Do[1]
	if req.Role != "" || req.Connector != "http" || req.Action != "request" || !req.ContinueOnError {
		t.Errorf("http step: %+v", req)
	}
	evalEq(t, "http body", req.Input, env, map[string]any{
		"method": "POST", "url": "https://example.com/hook", "body": map[string]any{"proxy": "http://p/1", "n": 1},
	})

	child, _ := f.Step("child")
	if child.Call != "publish-entry" {
		t.Errorf("call: %q", child.Call)
	}
	evalEq(t, "call input", child.CallInput, env, map[string]any{"title": "Trailer"})

	last := f.Steps[len(f.Steps)-1]
	evalEq(t, "upsert input", last.Input, env, map[string]any{
		"content_type": "video", "fields": map[string]any{"title": "Trailer", "count": 1},
	})
	evalEq(t, "link", last.Link, env, "asset:a1")
	evalEq(t, "output", f.Output, env, map[string]any{"entry": map[string]any{"uid": "c1"}})
	if last.Retry != nil || last.Timeout != 0 {
		t.Errorf("defaults are the engine's: %+v %v", last.Retry, last.Timeout)
	}
}

func evalEq(t *testing.T, what string, v *Value, env map[string]any, want any) {
	t.Helper()
	got, err := v.Eval(env)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

// TestDocExample keeps the examples in docs/flows.md valid.
func TestDocExample(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/flows.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(doc, -1)
	if len(m) == 0 {
		t.Fatal("no yaml example in docs/flows.md")
	}
	for i, ex := range m {
		src := string(ex[1])
		// Fragments get what a flow file needs around them.
		if !strings.Contains(src, "name:") {
			src = "name: fragment\n" + src
		}
		if !strings.Contains(src, "steps:") {
			src += "steps: [{fail: x}]\n"
		}
		if _, err := Load("docs/flows.md example", []byte(src), testRegistry()); err != nil {
			t.Errorf("example %d:\n%v", i+1, err)
		}
	}
}
