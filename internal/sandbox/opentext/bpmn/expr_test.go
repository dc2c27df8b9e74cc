package bpmn

import (
	"strings"
	"testing"
)

func TestEvalExpressions(t *testing.T) {
	t.Parallel()
	sc := MapScope{
		"approvalStatus": "approved", "amount": int64(1500), "ratio": 2.5, "solvent": false, "name": "Ann",
		"contract": map[string]any{"properties": map[string]any{"value": int64(5000), "status": "APPROVED"}, "tags": []any{"a", "b"},
			"_links": map[string]any{"urn:eim:linkrel:download-media": map[string]any{"href": "https://x/y"}}},
		"blank": "", "nothing": nil, "json": `{"a":{"b":[1,2]}}`,
	}
	tests := []struct {
		name    string
		expr    string
		want    any
		wantErr string
	}{
		{name: "string equality double quotes", expr: `${approvalStatus == "approved"}`, want: true},
		{name: "string equality single quotes", expr: `${approvalStatus == 'rejected'}`, want: false},
		{name: "eq keyword", expr: `${approvalStatus eq 'approved'}`, want: true},
		{name: "negation", expr: `${!solvent}`, want: true},
		{name: "not keyword", expr: `${not solvent}`, want: true},
		{name: "nested property", expr: `${contract.properties.status != "APPROVED"}`, want: false},
		{name: "numeric compare", expr: `${contract.properties.value > 1000 && amount <= 1500}`, want: true},
		{name: "gt keyword", expr: `${amount gt 1000}`, want: true},
		{name: "arithmetic", expr: `${amount * 2 + 1}`, want: int64(3001)},
		{name: "division is floating", expr: `${amount / 1000}`, want: 1.5},
		{name: "mod", expr: `${amount % 7}`, want: int64(2)},
		{name: "ternary", expr: `${solvent ? 'yes' : 'no'}`, want: "no"},
		{name: "empty operator", expr: `${empty blank && empty nothing && !empty name}`, want: true},
		{name: "null compare", expr: `${nothing == null}`, want: true},
		{name: "index with quoted key", expr: `${contract._links['urn:eim:linkrel:download-media'].href}`, want: "https://x/y"},
		{name: "list index", expr: `${contract.tags[1]}`, want: "b"},
		{name: "string method", expr: `${name.toUpperCase().replace('N', 'n')}`, want: "Ann"},
		{name: "json escape chain", expr: `${'say "hi"\\'.replace('\\', '\\\\').replace('"', '\\"')}`, want: `say \"hi\"\\`},
		{name: "template renders text", expr: `${name} Approval (${amount})`, want: "Ann Approval (1500)"},
		{name: "template renders doubles like Java", expr: `v=${ratio * 2}`, want: "v=5.0"},
		{name: "template renders maps as JSON", expr: `x ${contract.tags}`, want: `x ["a","b"]`},
		{name: "null renders empty in text", expr: `[${nothing}]`, want: "[]"},
		{name: "vars function", expr: `${vars:getOrDefault(missing, 'dflt')}`, want: "dflt"},
		{name: "variables exists", expr: `${variables:exists(name) && !var:exists(missing)}`, want: true},
		{name: "JSON.parse", expr: `${JSON.parse(json).a.b[0]}`, want: int64(1)},
		{name: "escaped dollar stays literal", expr: `\${name}`, want: "${name}"},
		{name: "unknown property", expr: `${missing == 'x'}`, wantErr: "Unknown property used in expression: ${missing == 'x'}"},
		{name: "bad syntax", expr: `${amount >}`, wantErr: "unexpected"},
		{name: "unclosed", expr: `${amount`, wantErr: "expected }"},
		{name: "no reflection into Go", expr: `${name.getClass()}`, wantErr: "method getClass(0 args) not found on String"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := EvalExpr(tc.expr, sc)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestEvalBool(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		expr    string
		want    bool
		wantErr bool
	}{
		{name: "true", expr: "${x > 1}", want: true},
		{name: "string true", expr: "${'true'}", want: true},
		{name: "non-boolean", expr: "${x}", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EvalBool(tc.expr, MapScope{"x": int64(2)})
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("got %v, %v", got, err)
			}
		})
	}
}

func TestScripts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		src     string
		want    map[string]any
		wantErr string
	}{
		{
			name: "solvency check of the sample app",
			src: "const contractDetails = JSON.parse(execution.getVariable(\"contract\"));\nconst monthlyPayments = contractDetails.properties.value / contractDetails.properties.monthly_installments;\n" +
				"const monthlyBudget = contractDetails.properties.yearly_income / 12 / 4;\n\nexecution.setVariable(\"solvent\", monthlyBudget >= monthlyPayments);",
			want: map[string]any{"solvent": true},
		},
		{name: "object literal and stringify", src: `let body = JSON.stringify({id: execution.getVariable("contract").id, "ok": true}); execution.setVariable("body", body)`,
			want: map[string]any{"body": `{"id":"c1","ok":true}`}},
		{name: "arrow functions rejected", src: "let x = [1];\nx.forEach((a) => { a });", wantErr: "line 2: unsupported script syntax"},
		{name: "if rejected", src: "if (x) { y = 1 }", wantErr: `unsupported keyword "if"`},
		{name: "python rejected", src: "x = 1", wantErr: "not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			format := "JavaScript"
			if strings.HasPrefix(tc.name, "python") {
				format = "python"
			}
			sc, err := ParseScript(format, tc.src)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			vars := map[string]any{"contract": map[string]any{"id": "c1", "properties": map[string]any{"value": int64(12000), "monthly_installments": int64(24), "yearly_income": int64(60000)}}}
			if err := sc.Run(&testExec{vars: vars}); err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if vars[k] != v {
					t.Errorf("%s = %#v, want %#v", k, vars[k], v)
				}
			}
		})
	}
}

// testExec is a scope with an execution object over a map.
type testExec struct{ vars map[string]any }

func (e *testExec) Lookup(name string) (any, bool) {
	if name == "execution" {
		return e, true
	}
	v, ok := e.vars[name]
	return v, ok
}

func (e *testExec) Member(name string) (any, error) { return nil, nil }

func (e *testExec) Call(method string, args []any) (any, error) {
	switch method {
	case "getVariable":
		return e.vars[ToString(args[0])], nil
	case "setVariable":
		e.vars[ToString(args[0])] = args[1]
	}
	return nil, nil
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		wantSec float64
		wantErr bool
	}{
		{"PT5M", 300, false}, {"P1D", 86400, false}, {"PT1H30M", 5400, false}, {"P1W", 604800, false}, {"PT0.5S", 0.5, false},
		{"5M", 0, true}, {"PT", 0, false}, {"PTM", 0, true},
	}
	for _, tc := range tests {
		d, err := ParseDuration(tc.in)
		if (err != nil) != tc.wantErr || (!tc.wantErr && d.Seconds() != tc.wantSec) {
			t.Errorf("ParseDuration(%q) = %v, %v", tc.in, d, err)
		}
	}
}
