package iconik

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/patchbay/patchbay/internal/connector"
	sbx "github.com/patchbay/patchbay/internal/sandbox/iconik"
)

// TestWritesIdempotentUnderReexecution runs every write twice with the same
// idempotency key (and link), as the engine does when a step is re-executed
// after a crash, and shows the second run changes nothing in iconik: the
// sandbox produces no event at all, reports no write, and the objects are
// not duplicated.
func TestWritesIdempotentUnderReexecution(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, sbx.Options{Seed: true, SeedAssetCount: 12, DisableTranscode: true})
	c := s.open(t, nil)
	assets := s.AssetIDs()
	var fresh []string // assets without an approval
	for _, a := range assets {
		if s.ApprovalStatus(a, "") == "N/A" {
			fresh = append(fresh, a)
		}
	}
	if len(fresh) < 2 {
		t.Fatal("the seed has too few assets without approval")
	}
	a0, a1 := assets[0], assets[1]
	approved := mustCollection(t, s, sbx.CollectionApproved, "")
	assetLink := func(id string) *connector.Link {
		return &connector.Link{Key: "contentstack:entry/video/blt9", Sides: []connector.LinkSide{{Object: "iconik:asset/" + id}}}
	}
	tests := []struct {
		name   string
		action string
		input  map[string]any
		link   func() *connector.Link
		count  func() int // objects that must not multiply
	}{
		{name: "find-or-create collection", action: "find_or_create_collection", input: map[string]any{"path": "Campaigns/Idempotent Campaign"},
			count: func() int { return countTitled(s, "Idempotent Campaign") }},
		{name: "add to collection", action: "add_to_collection", input: map[string]any{"collection_id": approved, "object_ids": []any{a0, a1}},
			count: func() int { return len(s.CollectionContents(approved)) }},
		{name: "approval set", action: "set_approval", input: map[string]any{"asset_id": fresh[0], "status": "APPROVED"},
			count: func() int { ap, _ := s.Approval("assets", fresh[0], ""); return len(ap.ApprovalsBy) }},
		{name: "approval request", action: "request_approval", input: map[string]any{"asset_id": fresh[1], "users": []any{sbx.ReviewerUserID}},
			count: func() int { ap, _ := s.Approval("assets", fresh[1], ""); return len(ap.Users) }},
		{name: "metadata write", action: "set_metadata", input: map[string]any{"object_id": a0, "fields": map[string]any{sbx.FieldReviewStatus: "In review v2", sbx.FieldTalent: []any{"Ava Stone", "Omar Haddad"}}},
			count: func() int { return countHistory(s, a0, "METADATA") }},
		{name: "metadata append", action: "set_metadata", input: map[string]any{"object_id": a0, "mode": "append", "fields": map[string]any{sbx.FieldUsedOn: "https://example.com/p/1"}},
			count: func() int { return len(s.MetadataValues("assets", a0)[sbx.FieldUsedOn]) }},
		{name: "comment with idempotency key", action: "add_comment", input: map[string]any{"asset_id": a0, "text": "Logo too small", "start_timecode": "00:00:12:05"},
			count: func() int { return len(s.Segments(a0)) }},
		{name: "custom job", action: "create_job", input: map[string]any{"title": "Media needed", "object_id": a1, "status": "WAITING"},
			count: func() int { return len(s.Jobs()) }},
		{name: "job update", action: "update_job", input: nil, // filled below
			count: func() int { return len(s.Jobs()) }},
		{name: "history entry", action: "add_history", input: map[string]any{"asset_id": a0, "description": "Sent to the CMS"},
			count: func() int { return countHistory(s, a0, "CUSTOM") }},
		{name: "share link", action: "create_share", input: map[string]any{"object_id": a1, "title": "Delivery", "expires_in": "14d"},
			count: func() int { return len(s.Shares("assets", a1)) }},
		{name: "asset by external_id", action: "create_asset", input: map[string]any{"title": "Placeholder", "type": "PLACEHOLDER", "external_id": "blt-idem"},
			count: func() int { return len(s.AssetIDs()) }},
		{name: "asset by link", action: "create_asset", input: map[string]any{"title": "Linked"}, link: func() *connector.Link { return assetLink(a1) },
			count: func() int { return len(s.AssetIDs()) }},
		{name: "collection by external_id", action: "create_collection", input: map[string]any{"title": "Entry X", "external_id": "blt-x"},
			count: func() int { return countTitled(s, "Entry X") }},
		{name: "asset fields", action: "update_asset", input: map[string]any{"asset_id": a1, "external_id": "blt-a1"},
			count: func() int { return 0 }},
		{name: "block", action: "block_asset", input: map[string]any{"asset_id": a1},
			count: func() int { return 0 }},
		{name: "soft delete", action: "delete_asset", input: map[string]any{"asset_id": assets[5]},
			count: func() int { return len(s.AssetIDs()) }},
		{name: "delete shares", action: "delete_share", input: map[string]any{"object_id": a1, "all": true},
			count: func() int { return len(s.Shares("assets", a1)) }},
	}
	var jobID string
	for i, tt := range tests {
		if tt.action == "update_job" {
			tt.input = map[string]any{"job_id": jobID, "status": "STARTED", "progress_processed": 1, "progress_total": 2, "message": "Halfway"}
		}
		key := "pb-idem-" + tt.action + "-" + string(rune('a'+i))
		run := func() *connector.Result {
			as, _ := spec.Action(tt.action)
			in, err := connector.Prepare(as.Input, tt.input, false)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			req := &connector.Request{Input: in, IdempotencyKey: key, RunID: "run-1", StepID: "step-" + tt.action}
			if tt.link != nil {
				req.Link = tt.link()
			}
			res, err := c.Do(context.Background(), tt.action, req)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			return res
		}
		first := run()
		if tt.action == "create_job" {
			jobID = out(first)["id"].(string)
		}
		if len(first.Writes) == 0 && tt.link == nil {
			t.Errorf("%s: the first run wrote nothing", tt.name)
		}
		events, n := len(s.Events()), tt.count()
		second := run()
		if len(second.Writes) != 0 {
			t.Errorf("%s: the re-executed step reported writes %+v", tt.name, second.Writes)
		}
		if got := len(s.Events()); got != events {
			t.Errorf("%s: the re-executed step made iconik send %d more events: %s", tt.name, got-events, lastEvents(s, got-events))
		}
		if got := tt.count(); got != n {
			t.Errorf("%s: %d objects after the re-execution, %d before", tt.name, got, n)
		}
		if id, _ := out(first)["id"].(string); id != "" {
			if id2, _ := out(second)["id"].(string); id2 != id {
				t.Errorf("%s: second run returned %s, first %s", tt.name, id2, id)
			}
		}
	}
}

func countTitled(s *sandbox, title string) int {
	n := 0
	for _, ev := range s.Events() {
		if ev.EventType == "collections" && ev.Realm == "entity" && ev.Operation == "create" {
			var col struct{ Title string }
			if json.Unmarshal(ev.Data, &col) == nil && col.Title == title {
				n++
			}
		}
	}
	return n
}

func countHistory(s *sandbox, assetID, op string) int {
	n := 0
	for _, h := range s.History(assetID) {
		if op == "" || h.OperationType == op {
			n++
		}
	}
	return n
}

func lastEvents(s *sandbox, n int) string {
	evs := s.Events()
	b, _ := json.Marshal(evs[max(0, len(evs)-n):])
	return string(b)
}

// TestWriteHashMatchesWebhook writes through the connector, lets the
// sandbox deliver the webhooks the write causes to a receiver registered by
// Setup, passes each delivery through Receive, and checks that every
// write's object and hash reappear on one of the resulting events: the echo
// of patchbay's own write is recognisable.
func TestWriteHashMatchesWebhook(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, sbx.Options{Seed: true, SeedAssetCount: 12, DisableTranscode: true})
	c := s.open(t, nil)
	sink := newHookSink(t)
	if _, err := c.Setup(context.Background(), &connector.SetupRequest{HookURL: sink.hookURL()}); err != nil {
		t.Fatal(err)
	}
	assets := s.AssetIDs()
	var fresh string
	for _, a := range assets {
		if s.ApprovalStatus(a, "") == "N/A" {
			fresh = a
			break
		}
	}
	approved := mustCollection(t, s, sbx.CollectionApproved, "")
	steps := []struct {
		action string
		input  map[string]any
	}{
		{"set_metadata", map[string]any{"object_id": assets[0], "fields": map[string]any{sbx.FieldReviewStatus: "Released", sbx.FieldUsageCount: "7", sbx.FieldTerritories: []any{"US", "DE"}}}},
		{"set_metadata", map[string]any{"object_id": assets[0], "mode": "append", "fields": map[string]any{sbx.FieldUsedOn: "https://example.com/a"}}},
		{"set_metadata", map[string]any{"object_id": assets[0], "fields": map[string]any{sbx.FieldUsedOn: nil}}},
		{"request_approval", map[string]any{"asset_id": fresh, "users": []any{sbx.ReviewerUserID}}},
		{"set_approval", map[string]any{"asset_id": fresh, "status": "APPROVED", "user": sbx.ReviewerUserID}},
		{"add_to_collection", map[string]any{"collection_id": approved, "object_id": fresh}},
		{"remove_from_collection", map[string]any{"collection_id": approved, "object_id": fresh}},
		{"add_comment", map[string]any{"asset_id": assets[1], "text": "Trim the start", "start_ms": 1000, "end_ms": 2500}},
		{"update_asset", map[string]any{"asset_id": assets[1], "title": "Renamed", "external_id": "blt-77"}},
		{"block_asset", map[string]any{"asset_id": assets[1]}},
		{"create_job", map[string]any{"title": "Media needed", "object_id": assets[1]}},
		{"find_or_create_collection", map[string]any{"title": "Hash test"}},
		{"create_share", map[string]any{"object_id": assets[2], "title": "Preview"}},
		{"delete_share", map[string]any{"object_id": assets[2], "all": true}},
		{"delete_asset", map[string]any{"asset_id": assets[3]}},
		{"restore_asset", map[string]any{"asset_id": assets[3]}},
		{"create_asset", map[string]any{"title": "New placeholder", "type": "PLACEHOLDER", "collection_id": approved}},
	}
	seen := 0
	for i, st := range steps {
		res := mustDo(t, c, st.action, "pb-hash-"+string(rune('a'+i)), st.input)
		if len(res.Writes) == 0 {
			t.Fatalf("%s wrote nothing", st.action)
		}
		settle(t, s)
		ds := sink.deliveries()
		var events []connector.Event
		for _, d := range ds[seen:] {
			resp, err := c.Receive(context.Background(), "asset_events", &connector.WebhookRequest{Method: http.MethodPost, Header: d.header, Body: d.body})
			if err != nil {
				t.Fatalf("%s: receiving the sandbox's webhook: %v", st.action, err)
			}
			events = append(events, resp.Events...)
		}
		seen = len(ds)
		for _, w := range res.Writes {
			if w.Version != "" {
				t.Errorf("%s: write carries version %q; iconik has no change version (see hash.go)", st.action, w.Version)
			}
			if w.Hash == "" || w.Object == "" {
				t.Errorf("%s: write without object or hash: %+v", st.action, w)
				continue
			}
			matched := false
			for _, ev := range events {
				if ev.Object == w.Object && ev.Hash == w.Hash {
					matched = true
					if st.action == "set_metadata" && ev.Type != "metadata.changed" {
						t.Errorf("set_metadata matched a %s event", ev.Type)
					}
				}
			}
			if !matched {
				b, _ := json.MarshalIndent(events, "", " ")
				t.Errorf("%s: no webhook event carries the write's object %s and hash %s; events:\n%s", st.action, w.Object, w.Hash, b)
			}
		}
	}
}
