package connector

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/fault"
)

func TestPrepare(t *testing.T) {
	t.Parallel()
	fields := []Field{
		{Name: "id", Type: String, Required: true},
		{Name: "n", Type: Int, Default: 3},
		{Name: "mode", Type: String, Enum: []any{"merge", "replace"}},
		{Name: "opts", Type: Object, Fields: []Field{{Name: "deep", Type: Bool, Required: true}}},
	}
	tests := []struct {
		name        string
		in          map[string]any
		errContains []string
		want        map[string]any
	}{
		{name: "ok with default", in: map[string]any{"id": "a"}, want: map[string]any{"id": "a", "n": 3}},
		{name: "missing and wrong", in: map[string]any{"n": "x"}, errContains: []string{"id: required", "n: want int, got string"}},
		{name: "enum", in: map[string]any{"id": "a", "mode": "x"}, errContains: []string{"mode: x is not one of"}},
		{name: "nested", in: map[string]any{"id": "a", "opts": map[string]any{}}, errContains: []string{"opts.deep: required"}},
		{name: "unknown", in: map[string]any{"id": "a", "zz": 1}, errContains: []string{"zz: unknown field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Prepare(fields, tt.in, false)
			if len(tt.errContains) > 0 {
				if err == nil {
					t.Fatalf("no error, got %v", got)
				}
				if !fault.Is(err, fault.Invalid) {
					t.Errorf("kind = %v, want invalid", fault.KindOf(err))
				}
				for _, s := range tt.errContains {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
		})
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	fields := []Field{{Name: "token", Type: String, Secret: true}, {Name: "url", Type: String}}
	got := Redact(fields, map[string]any{"token": "s3cret", "url": "u"})
	if got["token"] != "***" || got["url"] != "u" {
		t.Fatalf("got %v", got)
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	cases := map[string]time.Duration{"30s": 30 * time.Second, "7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour, "0s": 0}
	for in, want := range cases {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "d", "x", "-1s", "3 days"} {
		if _, err := ParseDuration(bad); err == nil && bad != "" {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}

type fakeConnector struct{ spec Spec }

func (f fakeConnector) Spec() *Spec                                    { return &f.spec }
func (f fakeConnector) Open(_ context.Context, _ Config) (Conn, error) { return nil, nil }

func TestRegistryRejectsDuplicatesAndBadSpecs(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	good := fakeConnector{Spec{Name: "x", Actions: []ActionSpec{{Name: "do", Doc: "does"}}}}
	r.Register(good)
	mustPanic(t, "duplicate", func() { r.Register(good) })
	mustPanic(t, "bad name", func() { r.Register(fakeConnector{Spec{Name: "Bad"}}) })
	mustPanic(t, "bad default", func() {
		r.Register(fakeConnector{Spec{Name: "y", Actions: []ActionSpec{{Name: "a", Doc: "d", Input: []Field{{Name: "n", Type: Int, Default: "x"}}}}}})
	})
	if _, ok := r.Lookup("x"); !ok {
		t.Fatal("x not found")
	}
}

func mustPanic(t *testing.T, name string, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", name)
		}
	}()
	fn()
}
