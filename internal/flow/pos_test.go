package flow

import (
	"strings"
	"testing"
)

// TestExprPos checks where expressions are located in each YAML scalar
// style: the position is the first byte after ${{.
func TestExprPos(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		value string // the fail: value, starting at line 4 column 11
		want  Pos
	}{
		{name: "plain", value: "x ${{ a }}", want: Pos{4, 16}},
		{name: "plain with a multi-byte rune", value: "é ${{ a }}", want: Pos{4, 16}},
		{name: "double-quoted with escapes", value: `"\u00e9\t ${{ a }}"`, want: Pos{4, 24}},
		{name: "single-quoted with a doubled quote", value: `'it''s ${{ a }}'`, want: Pos{4, 21}},
		{name: "literal block", value: "|\n      line one\n      and ${{ a }}", want: Pos{6, 14}},
		{name: "folded block", value: ">\n      line one\n      and ${{ a }}", want: Pos{6, 14}},
		{name: "plain over two lines", value: "first line\n      second ${{ a }}", want: Pos{5, 17}},
		{name: "double-quoted over two lines", value: "\"first\n      second ${{ a }}\"", want: Pos{5, 17}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := "name: t\ntrigger: {on: manual}\nsteps:\n  - fail: " + tt.value + "\n"
			f, probs := Parse("t.yaml", []byte(src))
			if len(probs) > 0 {
				t.Fatal(probs)
			}
			ex := f.Steps[0].Fail.Exprs()
			if len(ex) != 1 {
				t.Fatalf("%d expressions", len(ex))
			}
			if ex[0].Pos != tt.want {
				t.Errorf("expression at %v, want %v", ex[0].Pos, tt.want)
			}
		})
	}
}

// TestBadExpressionColumn checks that a compile error points into the
// expression, whatever the quoting.
func TestBadExpressionColumn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		value string
		want  string
	}{
		{name: "plain", value: "${{ a ) }}", want: "t.yaml:4:17:"},
		{name: "double-quoted", value: `"\"q\" ${{ a ) }}"`, want: "t.yaml:4:24:"},
		{name: "unclosed", value: `"x ${{ a"`, want: "t.yaml:4:14:"},
		{name: "literal block", value: "|\n      ok\n      ${{ a ) }}", want: "t.yaml:6:13:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := "name: t\ntrigger: {on: manual}\nsteps:\n  - fail: " + tt.value + "\n"
			_, probs := Parse("t.yaml", []byte(src))
			if len(probs) != 1 || probs[0].Code != CodeBadExpression || !strings.HasPrefix(probs[0].String(), tt.want) {
				t.Errorf("got %v, want one bad-expression at %s", probs, tt.want)
			}
		})
	}
}
