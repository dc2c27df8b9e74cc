package iconik

import (
	"flag"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/connectortest"
	sbx "github.com/patchbay/patchbay/internal/sandbox/iconik"
)

func TestConformance(t *testing.T) {
	s := newSandbox(t, sbx.Options{Seed: true, SeedAssetCount: 20, DisableTranscode: true})
	asset := s.AssetIDs()[0]
	connectortest.Run(t, connectortest.Config{
		Connector: Connector{},
		Values:    s.values(nil),
		OK:        &connectortest.Call{Action: "get_asset", Input: map[string]any{"asset_id": asset, "include": []any{"metadata", "proxies"}}},
		NotFound:  &connectortest.Call{Action: "get_asset", Input: map[string]any{"asset_id": "00000000-0000-4000-8000-000000000000"}},
		Invalid: &connectortest.Call{Action: "set_metadata", Input: map[string]any{"object_id": asset,
			"fields": map[string]any{sbx.FieldAssetType: "Not an option"}}},
		Write: &connectortest.Call{Action: "add_comment", Input: map[string]any{"asset_id": asset, "text": "conformance", "start_ms": 1000}},
		SawKey: func(key string) bool {
			for _, sg := range s.Segments(asset) {
				if sg.ExternalID != nil && *sg.ExternalID == "patchbay:"+key {
					return true
				}
			}
			return false
		},
		Trigger: "asset_events",
		BadWebhook: &connector.WebhookRequest{Method: http.MethodPost, Path: "/hooks/conformance/asset_events",
			Header: http.Header{"X-Patchbay-Secret": {"not-the-secret"}, "Content-Type": {"application/json"}},
			Body:   []byte(`{"event_type":"assets","object_id":"` + asset + `","realm":"entity","operation":"update","data":{}}`)},
	})
}

var update = flag.Bool("update", false, "rewrite the generated part of docs/connectors/iconik.md")

const docPath = "../../../docs/connectors/iconik.md"

// TestDocCoversSpec fails when an action or trigger is missing from the
// connector's doc page, or when the generated reference there is stale
// (go test ./internal/connector/iconik -run TestDocCoversSpec -update).
func TestDocCoversSpec(t *testing.T) {
	b, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	const begin, end = "<!-- BEGIN GENERATED REFERENCE -->\n", "<!-- END GENERATED REFERENCE -->"
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the generated reference markers", docPath)
	}
	gen := renderReference(spec)
	if doc[i+len(begin):j] != gen {
		if *update {
			doc = doc[:i+len(begin)] + gen + doc[j:]
			if err := os.WriteFile(docPath, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
		} else {
			t.Errorf("%s: the generated reference is stale; run go test ./internal/connector/iconik -run TestDocCoversSpec -update", docPath)
		}
	}
	hand := doc[:i] + doc[j:]
	for _, tr := range spec.Triggers {
		if !strings.Contains(doc, "### Trigger `"+tr.Name+"`") {
			t.Errorf("trigger %s has no section in %s", tr.Name, docPath)
		}
		if !strings.Contains(hand, "`"+tr.Name+"`") {
			t.Errorf("trigger %s is not discussed outside the generated reference", tr.Name)
		}
	}
	for _, a := range spec.Actions {
		if !strings.Contains(doc, "### Action `"+a.Name+"`") {
			t.Errorf("action %s has no section in %s", a.Name, docPath)
		}
	}
	for _, f := range spec.Connection {
		if !strings.Contains(doc, "`"+f.Name+"`") {
			t.Errorf("connection setting %s is not in %s", f.Name, docPath)
		}
	}
}

func TestSpecShape(t *testing.T) {
	t.Parallel()
	if err := spec.Check(); err != nil {
		t.Fatal(err)
	}
	for _, a := range spec.Actions {
		if len(a.Examples) == 0 {
			t.Errorf("action %s has no example", a.Name)
		}
		for _, f := range a.Input {
			if f.Doc == "" {
				t.Errorf("action %s: input %s has no doc", a.Name, f.Name)
			}
		}
		// create_asset and create_collection are find-or-create only with a
		// link or an external_id; find_or_create_collection is the safe one.
		if a.Writes && !a.Idempotent && a.Name != "create_asset" && a.Name != "create_collection" {
			t.Errorf("action %s writes but is not declared idempotent", a.Name)
		}
	}
	for _, tr := range spec.Triggers {
		if len(tr.Examples) == 0 {
			t.Errorf("trigger %s has no example", tr.Name)
		}
	}
}
