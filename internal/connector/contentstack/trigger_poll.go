package contentstack

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/contentstack/contentstackapi"
	"github.com/patchbay/patchbay/internal/fault"
)

// pollCursor remembers, per content type and locale, the newest updated_at
// seen and which entry versions carried exactly that time (several entries
// can share a millisecond; they are not emitted twice).
type pollCursor struct {
	Keys map[string]pollMark `json:"keys"`
}

type pollMark struct {
	At   string   `json:"at"`
	Seen []string `json:"seen,omitempty"` // uid@version at At
}

// pollMaxPerKey bounds one poll per content type and locale; the rest
// comes with the next poll at once (PollResult.More).
const pollMaxPerKey = 500

// Poll implements connector.Poller for the poll trigger.
func (c *Conn) Poll(ctx context.Context, trigger string, req *connector.PollRequest) (*connector.PollResult, error) {
	if trigger != "poll" {
		return nil, fault.Errorf(fault.NotFound, "contentstack: no poll trigger %q", trigger)
	}
	cur := pollCursor{Keys: map[string]pollMark{}}
	if req.Cursor != "" {
		if err := json.Unmarshal([]byte(req.Cursor), &cur); err != nil {
			return nil, fault.Errorf(fault.Invalid, "contentstack: poll cursor: %v", err)
		}
		if cur.Keys == nil {
			cur.Keys = map[string]pollMark{}
		}
	}
	cts, locales, err := c.pollScope(ctx, req)
	if err != nil {
		return nil, err
	}
	res := &connector.PollResult{}
	for _, ct := range cts {
		for _, loc := range locales {
			key := ct + "|" + loc
			mark, known := cur.Keys[key]
			if !known {
				// First poll of this content type: start after its newest entry.
				page, err := c.api.Entries(ctx, ct, contentstackapi.ListOptions{Locale: loc, Desc: "updated_at", Limit: 1})
				if err != nil {
					return nil, fmt.Errorf("polling %s: %w", ct, err)
				}
				mark = pollMark{}
				if len(page.Entries) > 0 {
					// Every entry saved in that same millisecond counts as seen.
					mark.At = page.Entries[0].UpdatedAt()
					_, err := c.api.EachEntry(ctx, ct, contentstackapi.ListOptions{Locale: loc, Query: contentstackapi.Eq("updated_at", mark.At)},
						pollMaxPerKey, func(e contentstackapi.Entry) error {
							mark.Seen = append(mark.Seen, seenKey(e))
							return nil
						})
					if err != nil {
						return nil, fmt.Errorf("polling %s: %w", ct, err)
					}
				}
				cur.Keys[key] = mark
				continue
			}
			evs, next, more, err := c.pollKey(ctx, ct, loc, mark)
			if err != nil {
				return nil, err
			}
			for _, ev := range evs {
				if len(req.Configs) == 0 || matchesAny(req.Configs, &ev) {
					res.Events = append(res.Events, ev)
				}
			}
			cur.Keys[key] = next
			res.More = res.More || more
		}
	}
	b, err := json.Marshal(cur)
	if err != nil {
		return nil, fault.E(fault.Permanent, "contentstack: encoding poll cursor", err)
	}
	res.Cursor = string(b)
	return res, nil
}

func matchesAny(configs []map[string]any, ev *connector.Event) bool {
	for _, cfg := range configs {
		if matchConfig(cfg, ev) {
			return true
		}
	}
	return false
}

func seenKey(e contentstackapi.Entry) string { return e.UID() + "@" + strconv.Itoa(e.Version()) }

// pollScope is what to poll: the content types and locales the active
// flows' configs name (every content type when one names none), and the
// content types of entries runs wait on.
func (c *Conn) pollScope(ctx context.Context, req *connector.PollRequest) ([]string, []string, error) {
	cts := map[string]bool{}
	locs := map[string]bool{}
	allCTs, allLocs := len(req.Configs) == 0, len(req.Configs) == 0
	for _, cfg := range req.Configs {
		in := input(cfg)
		l := in.list("content_types")
		if len(l) == 0 {
			allCTs = true
		}
		for _, x := range l {
			cts[x] = true
		}
		ll := in.list("locales")
		if len(ll) == 0 {
			allLocs = true
		}
		for _, x := range ll {
			locs[x] = true
		}
	}
	for _, k := range req.Keys {
		if ct, _, ok := ParseRef(k); ok {
			cts[ct] = true
		}
	}
	if allCTs {
		list, err := c.api.ContentTypes(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("polling: listing content types: %w", err)
		}
		for _, t := range list {
			cts[t.UID] = true
		}
	}
	if allLocs {
		locs[""] = true // the master locale
	}
	return sortedSet(cts), sortedSet(locs), nil
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// pollKey lists the entries of one content type and locale updated at or
// after the mark, oldest first, skipping the versions already seen.
func (c *Conn) pollKey(ctx context.Context, ct, locale string, mark pollMark) ([]connector.Event, pollMark, bool, error) {
	seen := map[string]bool{}
	for _, s := range mark.Seen {
		seen[s] = true
	}
	o := contentstackapi.ListOptions{Locale: locale, Asc: "updated_at", IncludeWorkflow: true}
	if mark.At != "" {
		o.Query = contentstackapi.Gte("updated_at", mark.At)
	}
	next := pollMark{At: mark.At, Seen: append([]string(nil), mark.Seen...)}
	var evs []connector.Event
	stats, err := c.api.EachEntry(ctx, ct, o, pollMaxPerKey, func(e contentstackapi.Entry) error {
		at, key := e.UpdatedAt(), seenKey(e)
		if at == mark.At && seen[key] {
			return nil
		}
		evs = append(evs, c.pollEvent(ctx, ct, locale, e))
		if at > next.At {
			next = pollMark{At: at}
		}
		if at == next.At {
			next.Seen = append(next.Seen, key)
		}
		return nil
	})
	if err != nil {
		return nil, mark, false, fmt.Errorf("polling %s: %w", ct, err)
	}
	return evs, next, stats.More, nil
}

func (c *Conn) pollEvent(ctx context.Context, ct, locale string, e contentstackapi.Entry) connector.Event {
	typ := EventUpdated
	if e.Version() == 1 {
		typ = EventCreated
	}
	loc := locale
	if loc == "" {
		loc = e.Locale()
	}
	data := map[string]any{"content_type": ct, "uid": e.UID(), "locale": loc, "version": e.Version(), "title": e.Title(),
		"event": "poll", "entry": map[string]any(e), "content_hash": ContentHash(e)}
	if st := e.WorkflowStage(); st != "" {
		data["stage"] = c.stageInfo(ctx, ct, st)
	}
	ev := connector.Event{ID: "cs:poll:" + ct + "/" + e.UID() + "@" + loc + "#" + strconv.Itoa(e.Version()), Type: typ,
		Object: Ref(ct, e.UID()), Data: data, Version: strconv.Itoa(e.Version()), Hash: ContentHash(e)}
	if t, err := time.Parse(time.RFC3339, e.UpdatedAt()); err == nil {
		ev.Time = t
	}
	return ev
}
