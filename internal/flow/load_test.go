package flow

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestLoad covers behaviours the golden files do not show one by one: valid
// constructs that must not be reported, and single problems in context.
func TestLoad(t *testing.T) {
	t.Parallel()
	const head = "name: t\ntrigger: {on: manual}\n"
	tests := []struct {
		name        string
		src         string
		errContains string // "" means valid
	}{
		{
			name: "anchors, aliases and merge keys",
			src: head + "x-log: &log {action: core.log, input: {level: info, message: hi}}\n" +
				"steps:\n  - *log\n  - <<: *log\n    id: second\n",
			errContains: `unknown key "x-log"`,
		},
		{
			name: "merge keys",
			src: head + "steps:\n  - &base {action: core.log, input: {message: hi}}\n" +
				"  - <<: *base\n    id: second\n",
		},
		{
			name: "let names, closures and predicates",
			src: head + "steps:\n  - set:\n" +
				"      a: ${{ let n = len(trigger.data.items); n + 1 }}\n" +
				"      b: \"${{ filter(trigger.data.items, .ok && # != nil) }}\"\n" +
				"      c: \"${{ reduce(trigger.data.items, #acc + #.n, 0) }}\"\n" +
				"      d: \"${{ any(trigger.data.items, {.id == event.object_id}) }}\"\n",
		},
		{
			name: "item and index inside foreach, nested as",
			src: head + "steps:\n  - foreach: ${{ trigger.data.items }}\n    do:\n" +
				"      - foreach: ${{ item.parts }}\n        as: part\n        do:\n" +
				"          - set: { x: \"${{ item.id }}/${{ part.id }}/${{ index }}\" }\n",
		},
		{
			name: "as name outside its foreach",
			src: head + "steps:\n  - foreach: [1]\n    as: part\n    do: [{fail: x}]\n" +
				"  - fail: ${{ part }}\n",
			errContains: "part is only defined inside a foreach",
		},
		{
			name: "collect reads steps of its own do",
			src: head + "steps:\n  - id: loop\n    foreach: [1, 2]\n    do:\n      - id: inner\n        set: {x: 1}\n" +
				"    collect: ${{ steps.inner.output }}\n",
		},
		{
			name: "collect cannot read its own foreach",
			src: head + "steps:\n  - id: loop\n    foreach: [1, 2]\n    do:\n      - set: {x: 1}\n" +
				"    collect: ${{ steps.loop.output }}\n",
			errContains: `later-step-ref]: step "loop" reads its own output`,
		},
		{
			name: "a role shadows a builtin connector",
			src: "name: t\nconnections: {http: iconik}\ntrigger: {on: manual}\n" +
				"steps:\n  - action: http.request\n    input: {url: x}\n",
			errContains: `connector iconik has no action "request"`,
		},
		{
			name:        "a builtin connector's action needs no role",
			src:         head + "steps:\n  - action: core.log\n    input: {message: hi, level: warn}\n",
			errContains: "",
		},
		{
			name:        "step member other than output, status, error",
			src:         head + "steps:\n  - id: a\n    set: {x: 1}\n  - fail: ${{ steps.a.title }}\n",
			errContains: `steps.a has no "title"`,
		},
		{
			name: "status and error of a step",
			src: head + "steps:\n  - id: a\n    continue_on_error: true\n    set: {x: 1}\n" +
				"  - fail: ${{ steps.a.status + steps.a.error.message }}\n",
		},
		{
			name:        "vars and run cannot be read by dedupe",
			src:         "name: t\ntrigger: {on: manual, dedupe: \"${{ vars.x }}\"}\nsteps: [{fail: x}]\n",
			errContains: "vars is not available in trigger.dedupe",
		},
		{
			name:        "duration literal in sleep, seconds",
			src:         head + "steps:\n  - sleep: 1.5\n  - sleep: 1d12h\n  - sleep: ${{ params.x }}\n",
			errContains: "params.x is not declared",
		},
		{
			name:        "expression in a literal-only field",
			src:         head + "steps:\n  - call: ${{ trigger.flow }}\n",
			errContains: "flow name cannot be an expression",
		},
		{
			name:        "key that is not a string",
			src:         head + "steps:\n  - set: {[a]: 1}\n",
			errContains: "a key must be a string",
		},
		{
			name:        "root is a list",
			src:         "- name: t\n",
			errContains: "a flow file must be a mapping, not a list",
		},
		{
			name:        "steps is a map",
			src:         head + "steps: {a: 1}\n",
			errContains: "steps must be a list, not a mapping",
		},
		{
			name:        "case with value and when",
			src:         head + "steps:\n  - switch: 1\n    cases:\n      - {value: 1, when: true, steps: []}\n",
			errContains: "a case has value or when, not both",
		},
		{
			name:        "filter literal",
			src:         "name: t\ntrigger: {on: manual, filter: 1}\nsteps: [{fail: x}]\n",
			errContains: "trigger.filter must be true or false, not a number (1)",
		},
		{
			name: "webhook verify none needs no secret",
			src:  "name: t\ntrigger: {on: webhook, config: {verify: none}}\nsteps: [{fail: x}]\n",
		},
		{
			name:        "input that is one expression is not checked",
			src:         head + "steps:\n  - action: core.log\n    input: ${{ trigger.data }}\n",
			errContains: "",
		},
		{
			name:        "input that is text",
			src:         head + "steps:\n  - action: core.log\n    input: \"x ${{ trigger.data }}\"\n",
			errContains: "input must be a mapping",
		},
		{
			name:        "unknown name with a close root",
			src:         head + "steps:\n  - fail: ${{ trigerr.id }}\n",
			errContains: `did you mean "trigger"?`,
		},
		{
			name:        "step name used as a root",
			src:         head + "steps:\n  - id: a\n    set: {x: 1}\n  - fail: ${{ a.output }}\n",
			errContains: "step outputs are read as steps.a.output",
		},
	}
	reg := testRegistry()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := Load("t.yaml", []byte(tt.src), reg)
			if tt.errContains == "" {
				if err != nil {
					t.Fatalf("want no problems, got:\n%v", err)
				}
				if f == nil {
					t.Fatal("no flow")
				}
				return
			}
			if err == nil {
				t.Fatalf("want a problem containing %q, got none", tt.errContains)
			}
			if !strings.Contains(err.Error(), tt.errContains) {
				t.Fatalf("want a problem containing %q, got:\n%v", tt.errContains, err)
			}
			var ps Problems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("error is not Problems: %T", err)
			}
		})
	}
}

// TestParseNeedsNoRegistry checks the split: Parse checks shape only, and
// Validate adds what needs connector specs. Validating twice changes nothing.
func TestParseNeedsNoRegistry(t *testing.T) {
	t.Parallel()
	src := []byte("name: t\nconnections: {dam: nowhere}\ntrigger: {on: dam.events}\n" +
		"steps:\n  - id: a\n    action: http.request\n    input: {url: x}\n  - action: dam.thing\n")
	f, probs := Parse("t.yaml", src)
	if len(probs) != 0 || f == nil {
		t.Fatalf("Parse: %v", probs)
	}
	if f.Steps[0].Role != "http" || f.Steps[0].Connector != "" {
		t.Errorf("before validation: role %q connector %q", f.Steps[0].Role, f.Steps[0].Connector)
	}
	reg := testRegistry()
	probs = Validate(f, reg)
	if len(probs) != 1 || probs[0].Code != CodeUnknownConnector {
		t.Fatalf("Validate: %v", probs)
	}
	if f.Steps[0].Role != "" || f.Steps[0].Connector != "http" {
		t.Errorf("after validation: role %q connector %q", f.Steps[0].Role, f.Steps[0].Connector)
	}
	if again := Validate(f, reg); len(again) != 1 || f.Steps[0].Connector != "http" {
		t.Errorf("validating twice: %v", again)
	}
}

func TestProblemString(t *testing.T) {
	t.Parallel()
	ps := Problems{
		{File: "f.yaml", Line: 3, Col: 5, Code: CodeUnknownKey, Message: `unknown key "x"`},
		{File: "f.yaml", Line: 1, Col: 1, Code: CodeMissingKey, Message: "the flow has no name", Hint: "add name: x"},
		{File: "f.yaml", Line: 3, Col: 5, Code: CodeUnknownKey, Message: `unknown key "x"`},
		{File: "f.yaml", Line: 3, Col: 2, Code: CodeBadValue, Message: "v"},
	}
	ps.Sort()
	want := "f.yaml:1:1: error[missing-key]: the flow has no name\n\thint: add name: x\n" +
		"f.yaml:3:2: error[bad-value]: v\n" +
		"f.yaml:3:5: error[unknown-key]: unknown key \"x\""
	if got := ps.Error(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if (Problem{File: "f", Code: "c", Message: "m"}).String() != "f:1:1: error[c]: m" {
		t.Error("a problem without a position is shown at 1:1")
	}
}

func TestClosest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, s string
		want    string
		ok      bool
	}{
		{name: "typo", s: "inptu", want: "input", ok: true},
		{name: "missing letter", s: "atempts", want: "attempts", ok: true},
		{name: "far", s: "zzzzzz", ok: false},
		{name: "exact", s: "when", want: "when", ok: true},
	}
	cands := []string{"input", "attempts", "when", "timeout"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := closest(tt.s, cands)
			if ok != tt.ok || got != tt.want && tt.ok {
				t.Errorf("closest(%q) = %q, %v", tt.s, got, ok)
			}
		})
	}
}

// TestAliasBomb checks that aliases cannot make a small file expand without
// bound.
func TestAliasBomb(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("name: t\ntrigger: {on: manual}\nx0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n")
	for i := 1; i < 12; i++ {
		fmt.Fprintf(&b, "x%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	b.WriteString("steps:\n  - set: { big: *a11 }\n")
	_, err := Load("bomb.yaml", []byte(b.String()), testRegistry())
	if err == nil || !strings.Contains(err.Error(), "expands to more than") {
		t.Fatalf("got %v", err)
	}
}

// TestRecursiveAlias checks that a value or step containing itself through
// an alias is reported, not followed forever.
func TestRecursiveAlias(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		"name: t\ntrigger: {on: manual}\nsteps:\n  - &s {switch: 1, cases: [{value: 1, steps: [*s]}]}\n",
		"name: t\ntrigger: {on: manual}\nsteps:\n  - set: {x: &v [1, *v]}\n",
	} {
		_, err := Load("loop.yaml", []byte(src), testRegistry())
		if err == nil || !strings.Contains(err.Error(), "nest more than") {
			t.Errorf("got %v", err)
		}
	}
}
