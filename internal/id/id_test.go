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

func TestFloorSortsBeforeIDsOfItsMillisecond(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	f := Floor(at)
	if !Valid(f) || f[10:] != "0000000000000000" || f > NewAt(at) {
		t.Fatalf("Floor(%v) = %s; want the least id of its millisecond", at, f)
	}
	prev, next := Floor(at.Add(-time.Millisecond)), Floor(at.Add(time.Millisecond))
	if prev[:10]+"ZZZZZZZZZZZZZZZZ" >= f || next <= f {
		t.Fatalf("floors of neighbouring milliseconds do not sort around %s: %s, %s", f, prev, next)
	}
}
