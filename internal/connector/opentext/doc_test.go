package opentext_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/connector/opentext"
	otsb "github.com/patchbay/patchbay/internal/sandbox/opentext"
)

const docPath = "../../../docs/connectors/opentext.md"

func readDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.FromSlash(docPath))
	if err != nil {
		t.Fatalf("reading the connector's doc page: %v", err)
	}
	return string(b)
}

// TestDocCoversSpec fails when an action, trigger or connection setting of
// the spec is missing from docs/connectors/opentext.md.
func TestDocCoversSpec(t *testing.T) {
	t.Parallel()
	doc := readDoc(t)
	spec := opentext.Connector{}.Spec()
	for _, a := range spec.Actions {
		if !strings.Contains(doc, "### `"+a.Name+"`") {
			t.Errorf("action %s has no section (### `%s`) in %s", a.Name, a.Name, docPath)
		}
	}
	for _, tr := range spec.Triggers {
		if !strings.Contains(doc, "### `"+tr.Name+"`") {
			t.Errorf("trigger %s has no section (### `%s`) in %s", tr.Name, tr.Name, docPath)
		}
		for _, et := range tr.EventTypes {
			if !strings.Contains(doc, "`"+et+"`") {
				t.Errorf("event type %s of %s is not documented", et, tr.Name)
			}
		}
	}
	for _, f := range spec.Connection {
		if !strings.Contains(doc, "`"+f.Name+"`") {
			t.Errorf("connection setting %s is not documented", f.Name)
		}
	}
}

// TestDocCallbackSnippetRuns deploys the BPMN XML of the doc's "adding the
// callback HTTP task" section and checks the process calls back as the
// callback trigger expects.
func TestDocCallbackSnippetRuns(t *testing.T) {
	t.Parallel()
	doc := readDoc(t)
	_, rest, ok := strings.Cut(doc, "<!-- doc-test: callback-xml -->")
	if !ok {
		t.Fatal("the doc has no callback-xml snippet marker")
	}
	_, rest, _ = strings.Cut(rest, "```xml\n")
	xml, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("unterminated xml block")
	}
	s := newSandbox(t, otsb.Options{})
	cp := newCapture(t)
	c := open(t, s.values(map[string]any{"callback_url": cp.srv.URL + "/hooks/ot/callback"}), "")
	if out := mustDo(t, c, "deploy_model", map[string]any{"model_xml": xml}, "doc/deploy"); out["key"] != "callback_demo" {
		t.Fatalf("deploy: %v", out)
	}
	off := mustDo(t, c, "start_process", map[string]any{"definition_key": "callback_demo"}, "doc/off")
	on := mustDo(t, c, "start_process", map[string]any{"definition_key": "callback_demo", "callback": true}, "doc/on")
	if err := s.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	reqs := cp.list()
	if len(reqs) != 1 {
		t.Fatalf("%d callbacks, want 1 (only the instance started with callback: true)", len(reqs))
	}
	res, err := c.Receive(t.Context(), "callback", reqs[0])
	if err != nil {
		t.Fatal(err)
	}
	if e := res.Events[0]; e.Type != "process.completed" || e.Object != opentext.ProcessRef(on["id"].(string)) || e.Data["outcome"] != "done" {
		t.Errorf("event: %+v", e)
	}
	for _, id := range []string{off["id"].(string), on["id"].(string)} {
		if st, _ := s.Instance(id); st.Status != "completed" {
			t.Errorf("instance %s: %s", id, st.Status)
		}
	}
}
