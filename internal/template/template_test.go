package template_test

import (
	"encoding/json"
	"strings"
	"testing"

	_ "github.com/patchbay/patchbay/internal/connector/all"
	"github.com/patchbay/patchbay/internal/flow"
	"github.com/patchbay/patchbay/internal/template"
)

const (
	uc01 = "uc01-media-review-approval"
	uc08 = "uc08-approved-video-to-contentstack"
)

// Every embedded template is a valid flow as shipped, documents itself in
// a header comment, and declares roles.
func TestTemplatesValidate(t *testing.T) {
	t.Parallel()
	list, err := template.List()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, info := range list {
		names[info.Name] = true
		_, src, err := template.Get(info.Name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := flow.Load(info.File, src, nil); err != nil {
			t.Errorf("%s does not validate:\n%v", info.File, err)
		}
		if !strings.HasPrefix(string(src), "# ") || info.Description == "" || len(info.Roles) == 0 {
			t.Errorf("%s: want a header comment, a description and roles", info.File)
		}
		for _, p := range info.Params {
			if p.Type == "" {
				t.Errorf("%s: param %s has no type", info.Name, p.Name)
			}
		}
	}
	for _, want := range []string{uc01, uc08} {
		if !names[want] {
			t.Errorf("template %s missing from %v", want, names)
		}
	}
}

func TestRenderDefaultsUnchanged(t *testing.T) {
	t.Parallel()
	_, src, err := template.Get(uc08)
	if err != nil {
		t.Fatal(err)
	}
	out, err := template.Render(uc08, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != string(src) {
		t.Fatal("rendering without parameters changed the source")
	}
}

func TestRenderSetsParamsAndConnections(t *testing.T) {
	t.Parallel()
	_, src, _ := template.Get(uc08)
	out, err := template.Render(uc08, map[string]string{
		"content_type":   "clip",
		"environments":   "[staging, production]",
		"locales":        "en-us,fr-fr",
		"gate_timeout":   "2h",
		"on_approval":    "false",
		"field_map":      `{"title": "title", "iconik_asset_id": "asset_id"}`,
		"rights_field":   "",
		"publish_wait":   "5s",
		"released_value": "Go",
	}, map[string]string{"cms": "acme-cms"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Count(string(out), "\n"), strings.Count(string(src), "\n"); got != want {
		t.Errorf("rendered source has %d lines, the template %d: line numbers moved", got, want)
	}
	if !strings.HasPrefix(string(out), "# UC8") {
		t.Error("the header comment is gone")
	}
	f, err := flow.Load("x.yaml", out, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"content_type": `"clip"`, "environments": `["staging","production"]`, "locales": `["en-us","fr-fr"]`,
		"gate_timeout": `"2h"`, "on_approval": "false", "rights_field": `""`, "publish_wait": `"5s"`,
		"field_map": `{"iconik_asset_id":"asset_id","title":"title"}`, "match_field": `"iconik_asset_id"`, "released_value": `"Go"`,
	}
	for _, p := range f.Params {
		w, ok := want[p.Name]
		if !ok {
			continue
		}
		if got := jsonOf(t, p.Default); got != w {
			t.Errorf("param %s default = %s, want %s", p.Name, got, w)
		}
	}
	if c := f.Connections["cms"]; c.Connector != "contentstack" || c.Connection != "acme-cms" {
		t.Errorf("cms = %+v", c)
	}
	if c := f.Connections["dam"]; c.Connection != "iconik" {
		t.Errorf("dam = %+v", c)
	}
	// Lines after the edited declarations keep their numbers.
	srcLines, outLines := strings.Split(string(src), "\n"), strings.Split(string(out), "\n")
	for i, l := range srcLines {
		if strings.HasPrefix(l, "steps:") && outLines[i] != l {
			t.Errorf("line %d was %q, now %q", i+1, l, outLines[i])
		}
	}
}

func TestRenderUC01Routing(t *testing.T) {
	t.Parallel()
	out, err := template.Render(uc01, map[string]string{
		"routing":         `[{match: {region: EMEA}, process_key: media_review, candidate_group: emea}, {process_key: media_review, candidate_group: all}]`,
		"review_timeout":  "1h",
		"record_reviewer": "false",
	}, map[string]string{"dam": "acme-iconik", "ot": "acme-ot"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := flow.Load("x.yaml", out, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Params {
		if p.Name == "routing" {
			rows := p.Default.([]any)
			if len(rows) != 2 || rows[1].(map[string]any)["candidate_group"] != "all" {
				t.Errorf("routing = %v", p.Default)
			}
		}
	}
	if f.Connections["dam"].Connection != "acme-iconik" || f.Connections["ot"].Connection != "acme-ot" {
		t.Errorf("connections %+v", f.Connections)
	}
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		tmpl        string
		params      map[string]string
		conns       map[string]string
		errContains []string
	}{
		{name: "unknown template", tmpl: "nope", errContains: []string{`no template "nope"`, uc01}},
		{name: "unknown param", tmpl: uc08, params: map[string]string{"colour": "red"}, errContains: []string{`unknown parameter "colour"`, "content_type"}},
		{name: "unknown role", tmpl: uc08, conns: map[string]string{"ot": "x"}, errContains: []string{`unknown role "ot"`, "cms, dam"}},
		{name: "bad connection name", tmpl: uc08, conns: map[string]string{"cms": "Acme CMS"}, errContains: []string{`connection "Acme CMS" for role cms`}},
		{name: "bad bool", tmpl: uc08, params: map[string]string{"on_approval": "yes please"}, errContains: []string{"parameter on_approval (bool)", "true or false"}},
		{name: "bad duration", tmpl: uc08, params: map[string]string{"gate_timeout": "soon"}, errContains: []string{"parameter gate_timeout (duration)"}},
		{name: "bad list", tmpl: uc08, params: map[string]string{"environments": "{a: 1}"}, errContains: []string{"parameter environments (list)", "want a list"}},
		{name: "bad object", tmpl: uc08, params: map[string]string{"field_map": "[a]"}, errContains: []string{"parameter field_map (object)"}},
		{name: "several at once", tmpl: uc08, params: map[string]string{"a": "1", "b": "2"}, errContains: []string{`"a"`, `"b"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := template.Render(tc.tmpl, tc.params, tc.conns)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.errContains {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestParseValue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		typ, raw, want string
		enum           []any
		wantErr        bool
	}{
		{typ: "string", raw: " a b ", want: `" a b "`},
		{typ: "int", raw: "42", want: "42"},
		{typ: "int", raw: "4.2", wantErr: true},
		{typ: "number", raw: "4.5", want: "4.5"},
		{typ: "bool", raw: "true", want: "true"},
		{typ: "duration", raw: "7d", want: `"7d"`},
		{typ: "list", raw: "a, b", want: `["a","b"]`},
		{typ: "list", raw: "[1, x]", want: `[1,"x"]`},
		{typ: "list", raw: "", want: `[]`},
		{typ: "object", raw: "{a: {b: 1}}", want: `{"a":{"b":1}}`},
		{typ: "string", raw: "c", enum: []any{"a", "b"}, wantErr: true},
		{typ: "string", raw: "b", enum: []any{"a", "b"}, want: `"b"`},
	} {
		v, err := template.ParseValue(template.Param{Name: "p", Type: tc.typ, Enum: tc.enum}, tc.raw)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s %q: err %v", tc.typ, tc.raw, err)
			continue
		}
		if err == nil && jsonOf(t, v) != tc.want {
			t.Errorf("%s %q = %s, want %s", tc.typ, tc.raw, jsonOf(t, v), tc.want)
		}
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
