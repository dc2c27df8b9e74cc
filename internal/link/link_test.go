package link_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/link"
	"github.com/patchbay/patchbay/internal/store"
	"github.com/patchbay/patchbay/internal/store/postgres"
	"github.com/patchbay/patchbay/internal/store/postgres/pgtest"
	"github.com/patchbay/patchbay/internal/store/sqlite"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func drivers(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	open := map[string]func(t *testing.T) store.Driver{
		"sqlite": func(t *testing.T) store.Driver {
			d, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "pb.db"))
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
		"postgres": func(t *testing.T) store.Driver {
			d, err := postgres.Open(context.Background(), pgtest.URL(t))
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
	}
	for name, o := range open {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := store.New(o(t))
			t.Cleanup(func() { st.Close() })
			if err := st.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			fn(t, st)
		})
	}
}

func tx(t *testing.T, st *store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := st.Tx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// TestGroups: writes made under a link key join one n-ary group, found from
// any side; linking two groups merges them.
func TestGroups(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		l := link.New(st)
		tx(t, st, func(tx store.Tx) error {
			if err := l.Written(ctx, tx, link.Write{Object: "opentext:process/P1", Version: "1", Run: "R1", Step: "start", Link: "iconik:asset/A/version/V1"}); err != nil {
				return err
			}
			return l.Written(ctx, tx, link.Write{Object: "contentstack:entry/video/E1", Hash: "sha256:e1", Run: "R2", Step: "upsert", Link: "iconik:asset/A/version/V1"})
		})
		for _, side := range []string{"iconik:asset/A/version/V1", "opentext:process/P1", "contentstack:entry/video/E1"} {
			g, err := l.Lookup(ctx, st.Reader(), side)
			if err != nil || g == nil || len(g.Sides) != 3 {
				t.Fatalf("lookup by %s: %+v, %v", side, g, err)
			}
		}
		rl, err := l.ReadLink(ctx, "iconik:asset/A/version/V1")
		if err != nil {
			t.Fatal(err)
		}
		entry, ok := rl.Side("contentstack:entry/")
		if !ok || entry.Hash != "sha256:e1" || entry.At.IsZero() {
			t.Fatalf("ReadLink: %+v", rl)
		}
		if g, _ := l.Lookup(ctx, st.Reader(), "iconik:asset/Z"); g != nil {
			t.Fatalf("unlinked object has a group: %+v", g)
		}
		// A second group, then both merged by one link.
		tx(t, st, func(tx store.Tx) error {
			return l.Written(ctx, tx, link.Write{Object: "contentstack:entry/video/E2", Hash: "h", Link: "iconik:asset/B"})
		})
		tx(t, st, func(tx store.Tx) error {
			_, err := l.Link(ctx, tx, "opentext:process/P1", "contentstack:entry/video/E2")
			return err
		})
		g, err := l.Lookup(ctx, st.Reader(), "iconik:asset/B")
		if err != nil || g == nil || len(g.Sides) != 5 {
			t.Fatalf("merged group: %+v, %v", g, err)
		}
	})
}

// TestEcho: an event showing what patchbay last wrote is an echo; a
// different change is not, and after it patchbay's old content is not
// taken for an echo either.
func TestEcho(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		clock := time.Now()
		st.SetClock(func() time.Time { clock = clock.Add(time.Millisecond); return clock })
		l := link.New(st)
		tx(t, st, func(tx store.Tx) error {
			return l.Written(ctx, tx, link.Write{Object: "sink:item/1", Hash: "h1", Version: "7", Run: "R1", Step: "put"})
		})
		check := func(ev *store.Event, want bool) {
			t.Helper()
			var echo bool
			var reason, writer string
			// Assert outside the transaction: t.Fatal inside it would
			// leave the store's commit group waiting.
			tx(t, st, func(tx store.Tx) (err error) {
				echo, reason, writer, err = l.Echo(ctx, tx, ev)
				return err
			})
			if echo != want || (echo && (reason == "" || writer != "R1")) {
				t.Fatalf("Echo(%+v) = %v %q %q; want %v", ev, echo, reason, writer, want)
			}
		}
		check(&store.Event{Object: "sink:item/1", Hash: "h1"}, true)
		check(&store.Event{Object: "sink:item/1", Version: "7"}, true)
		check(&store.Event{Object: "sink:item/2", Hash: "h1"}, false) // another object
		check(&store.Event{Object: "sink:item/1"}, false)             // nothing to compare
		check(&store.Event{Object: "sink:item/1", Hash: "h2"}, false) // a person's change
		check(&store.Event{Object: "sink:item/1", Hash: "h1"}, false) // reverted to patchbay's content: a change too
		tx(t, st, func(tx store.Tx) error {
			return l.Written(ctx, tx, link.Write{Object: "sink:item/1", Hash: "h3", Run: "R1", Step: "put"})
		})
		check(&store.Event{Object: "sink:item/1", Hash: "h3"}, true)
		// Several writes in a row (approval, then metadata): each one's
		// webhook is an echo, whatever order they come back in.
		for _, h := range []string{"h4", "h5"} {
			tx(t, st, func(tx store.Tx) error {
				return l.Written(ctx, tx, link.Write{Object: "sink:item/1", Hash: h, Run: "R1", Step: "put"})
			})
		}
		check(&store.Event{Object: "sink:item/1", Hash: "h4"}, true)
		check(&store.Event{Object: "sink:item/1", Hash: "h3"}, true)
		check(&store.Event{Object: "sink:item/1", Hash: "h5"}, true)
		// An outside change forgets them; a later write starts a new list.
		check(&store.Event{Object: "sink:item/1", Hash: "x"}, false)
		check(&store.Event{Object: "sink:item/1", Hash: "h4"}, false)
		tx(t, st, func(tx store.Tx) error {
			return l.Written(ctx, tx, link.Write{Object: "sink:item/1", Hash: "h7", Run: "R1", Step: "put"})
		})
		check(&store.Event{Object: "sink:item/1", Hash: "h7"}, true)
		check(&store.Event{Object: "sink:item/1", Hash: "h4"}, false) // forgotten: an outside change
	})
}

// TestEchoOfAWriteInFlight: a webhook that overtakes the commit of the step
// that wrote (no side yet, or the side still showing the previous write) is
// recognised from the write the connector reported; other content is not.
func TestEchoOfAWriteInFlight(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		l := link.New(st)
		echo := func(ev *store.Event) (bool, string) {
			t.Helper()
			var ok bool
			var reason string
			tx(t, st, func(tx store.Tx) (err error) {
				ok, reason, _, err = l.Echo(ctx, tx, ev)
				return err
			})
			return ok, reason
		}
		l.InFlight(link.Write{Object: "sink:item/9", Hash: "f1", Run: "R9", Step: "put"})
		if ok, reason := echo(&store.Event{Object: "sink:item/9", Hash: "f1"}); !ok || !strings.Contains(reason, "before its step committed") {
			t.Fatalf("in-flight write's webhook: echo %v %q", ok, reason)
		}
		if ok, _ := echo(&store.Event{Object: "sink:item/9", Hash: "other"}); ok {
			t.Fatal("a different content was taken for the in-flight write")
		}
		// With a committed earlier write on the side.
		tx(t, st, func(tx store.Tx) error {
			return l.Written(ctx, tx, link.Write{Object: "sink:item/9", Hash: "f0", Run: "R8", Step: "put"})
		})
		l.InFlight(link.Write{Object: "sink:item/9", Hash: "f2", Run: "R9", Step: "put"})
		if ok, _ := echo(&store.Event{Object: "sink:item/9", Hash: "f2"}); !ok {
			t.Fatal("in-flight write's webhook over a committed side: not an echo")
		}
		// Writes without a hash or version are not noted.
		l.InFlight(link.Write{Object: "sink:item/10"})
		if ok, _ := echo(&store.Event{Object: "sink:item/10", Hash: "x"}); ok {
			t.Fatal("echo of nothing")
		}
	})
}

// TestInFlightNoteSettlesAtCommit: once the write's step committed, the
// side decides; a later revert to that content by a person is a change,
// not the echo of the old note.
func TestInFlightNoteSettlesAtCommit(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		l := link.New(st)
		echo := func(hash string) bool {
			t.Helper()
			var ok bool
			tx(t, st, func(tx store.Tx) (err error) {
				ok, _, _, err = l.Echo(ctx, tx, &store.Event{Object: "sink:item/7", Hash: hash})
				return err
			})
			return ok
		}
		write := func(hash string) {
			t.Helper()
			l.InFlight(link.Write{Object: "sink:item/7", Hash: hash, Run: "R", Step: "put"})
			tx(t, st, func(tx store.Tx) error {
				return l.Written(ctx, tx, link.Write{Object: "sink:item/7", Hash: hash, Run: "R", Step: "put"})
			})
		}
		write("h1")
		if !echo("h1") {
			t.Fatal("the echo of h1")
		}
		if echo("p1") { // a person's change
			t.Fatal("a person's change taken for an echo")
		}
		write("h2")
		if !echo("h2") {
			t.Fatal("the echo of h2")
		}
		if echo("h1") { // a person reverts to patchbay's first content
			t.Fatal("a revert to h1 taken for the echo of h1's settled note")
		}
	})
}
