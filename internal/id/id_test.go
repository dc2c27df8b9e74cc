package id

import (
	"sort"
	"testing"
	"time"
)

func TestIDsSortAndAreUnique(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	var ids []string
	for range 10000 {
		s := New()
		if !Valid(s) {
			t.Fatalf("invalid id %q", s)
		}
		if seen[s] {
			t.Fatalf("duplicate id %q", s)
		}
		seen[s] = true
		ids = append(ids, s)
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatal("ids made in order do not sort in order")
	}
	a, b := NewAt(time.Unix(1000, 0)), NewAt(time.Unix(2000, 0))
	if a >= b {
		t.Fatalf("%s >= %s", a, b)
	}
}
