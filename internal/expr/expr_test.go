package expr

import (
	"reflect"
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/fault"
)

var env = map[string]any{
	"event":  map[string]any{"type": "asset.created", "object_id": "a1", "data": map[string]any{"status": "APPROVED", "n": 3}},
	"steps":  map[string]any{"asset": map[string]any{"output": map[string]any{"title": "Trailer", "proxies": []any{map[string]any{"url": "http://p/1"}}}}},
	"params": map[string]any{"envs": []any{"production", "staging"}},
}

func TestEval(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want any
	}{
		{name: "equality", src: `event.type == "asset.created" && event.data.status == "APPROVED"`, want: true},
		{name: "missing member is nil", src: `steps.nope.output.title`, want: nil},
		{name: "default with ??", src: `steps.nope.output.title ?? "untitled"`, want: "untitled"},
		{name: "index", src: `steps.asset.output.proxies[0].url`, want: "http://p/1"},
		{name: "int normalized", src: `event.data.n + 1`, want: 4},
		{name: "in list", src: `"staging" in params.envs`, want: true},
		{name: "concat", src: `"iconik:asset/" + event.object_id`, want: "iconik:asset/a1"},
		{name: "coalesce", src: `coalesce(nil, "", "x")`, want: "x"},
		{name: "get", src: `get(steps, "asset.output.title")`, want: "Trailer"},
		{name: "get default", src: `get(steps, "asset.output.zzz", 5)`, want: 5},
		{name: "sha256", src: `sha256("a")`, want: "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"},
		// fromPairs builds map[any]any; results are JSON-shaped maps.
		{name: "fromPairs", src: `fromPairs([["a", 1], ["b", event.object_id]])`, want: map[string]any{"a": 1, "b": "a1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Compile(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Eval(env)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		src         string
		errContains string
		offset      int
	}{
		{name: "syntax", src: `a ==`, errContains: "unexpected", offset: 3},
		{name: "too long", src: strings.Repeat("a", MaxLen+1), errContains: "over the limit"},
		{name: "empty", src: "  ", errContains: "empty"},
		{name: "too many nodes", src: strings.Repeat("1+", 1500) + "1", errContains: "nodes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Compile(tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.errContains) {
				t.Fatalf("err = %v, want containing %q", err, tt.errContains)
			}
			if tt.offset > 0 && err.(*Error).Offset != tt.offset {
				t.Errorf("offset = %d, want %d", err.(*Error).Offset, tt.offset)
			}
		})
	}
}

func TestMemoryBudget(t *testing.T) {
	t.Parallel()
	p, err := Compile(`map(1..100000, {# * 2})`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Eval(nil)
	if err == nil || !fault.Is(err, fault.Invalid) {
		t.Fatalf("err = %v, want an invalid memory-budget error", err)
	}
}

func TestRefs(t *testing.T) {
	t.Parallel()
	p, err := Compile(`steps.asset.output.title + params.x + item + steps["b"].output`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range p.Refs() {
		got[strings.Join(r, ".")] = true
	}
	for _, want := range []string{"steps.asset.output.title", "params.x", "item", "steps.b.output"} {
		if !got[want] {
			t.Errorf("refs %v lack %s", got, want)
		}
	}
}

func TestTemplate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want any
	}{
		{name: "plain text", in: "hello", want: "hello"},
		{name: "single expression keeps type", in: "${{ event.data.n }}", want: 3},
		{name: "mixed", in: "id=${{ event.object_id }}; n=${{ event.data.n }}", want: "id=a1; n=3"},
		{name: "braces in expression", in: `${{ {"a": 1}.a }}`, want: 1},
		{name: "string with braces", in: `${{ "}}" + "x" }}`, want: "}}x"},
		{name: "nil renders empty", in: "x${{ nope }}y", want: "xy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			segs, err := ParseTemplate(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Render(segs, env)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
	if _, err := ParseTemplate("a ${{ b"); err == nil || err.(*Error).Offset != 2 {
		t.Fatalf("unclosed: err = %v", err)
	}
	if _, err := ParseTemplate("ab ${{ a == }}"); err == nil || err.(*Error).Offset < 7 {
		t.Fatalf("offset not relative to template: %v", err)
	}
}

// A called function's name is not a reference to the environment: get(…)
// must not be reported as reading a variable named get.
func TestRefsSkipCallees(t *testing.T) {
	t.Parallel()
	p, err := Compile(`get(steps, "asset.output.title") ?? coalesce(event.type, "x")`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range p.Refs() {
		got = append(got, strings.Join(r, "."))
	}
	if !reflect.DeepEqual(got, []string{"steps", "event.type"}) && !reflect.DeepEqual(got, []string{"event.type", "steps"}) {
		t.Fatalf("Refs() = %v, want steps and event.type only", got)
	}
}
