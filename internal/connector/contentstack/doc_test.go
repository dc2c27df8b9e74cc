package contentstack

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/connector"
)

var update = flag.Bool("update", false, "rewrite the generated reference in docs/connectors/contentstack.md")

const (
	docPath  = "../../../docs/connectors/contentstack.md"
	refBegin = "<!-- BEGIN GENERATED REFERENCE -->"
	refEnd   = "<!-- END GENERATED REFERENCE -->"
)

// TestDocCoversSpec fails when an action or trigger of the spec is missing
// from the doc page, or when the generated reference (settings, triggers,
// actions with their inputs, outputs and examples) is out of date; run
// go test -run TestDocCoversSpec -update to regenerate it.
func TestDocCoversSpec(t *testing.T) {
	b, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatalf("reading %s: %v", docPath, err)
	}
	doc := string(b)
	i, j := strings.Index(doc, refBegin), strings.Index(doc, refEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no %s … %s section", docPath, refBegin, refEnd)
	}
	want := refBegin + "\n" + reference(spec) + refEnd
	if got := doc[i : j+len(refEnd)]; got != want {
		if *update {
			doc = doc[:i] + want + doc[j+len(refEnd):]
			if err := os.WriteFile(filepath.Clean(docPath), []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
		} else {
			t.Errorf("the generated reference in %s is out of date; run go test ./internal/connector/contentstack -run TestDocCoversSpec -update", docPath)
		}
	}
	outside := doc[:i] + doc[j:]
	for _, tr := range spec.Triggers {
		if !strings.Contains(doc, "### Trigger `"+tr.Name+"`") {
			t.Errorf("trigger %s is not documented", tr.Name)
		}
		if !strings.Contains(outside, "`"+tr.Name+"`") {
			t.Errorf("trigger %s is not described outside the generated reference", tr.Name)
		}
	}
	for _, a := range spec.Actions {
		if !strings.Contains(doc, "### Action `"+a.Name+"`") {
			t.Errorf("action %s is not documented", a.Name)
		}
	}
}

func reference(s *connector.Spec) string {
	var b strings.Builder
	b.WriteString("### Connection settings\n\n")
	fieldTable(&b, s.Connection, true)
	for _, tr := range s.Triggers {
		fmt.Fprintf(&b, "### Trigger `%s`\n\n", tr.Name)
		kind := string(tr.Kind)
		if tr.Interval > 0 {
			kind += ", every " + tr.Interval.String()
		}
		fmt.Fprintf(&b, "%s (%s). %s\n\n", tr.Title, kind, tr.Doc)
		fmt.Fprintf(&b, "Event types: `%s`.\n\n", strings.Join(tr.EventTypes, "`, `"))
		if len(tr.Config) > 0 {
			b.WriteString("Trigger config (`trigger.config` in a flow):\n\n")
			fieldTable(&b, tr.Config, true)
		}
		b.WriteString("`event.data`:\n\n")
		fieldTable(&b, tr.Data, false)
		for _, ex := range tr.Examples {
			fmt.Fprintf(&b, "Example (%s):\n\n```yaml\ntrigger:\n  on: cms.%s\n  config: %s\n```\n\n", ex.Title, tr.Name, jsonOf(ex.Input))
			if ex.Output != nil {
				fmt.Fprintf(&b, "Event: `%s`\n\n", jsonOf(ex.Output))
			}
		}
	}
	for _, a := range s.Actions {
		fmt.Fprintf(&b, "### Action `%s`\n\n", a.Name)
		var tags []string
		if a.Writes {
			tags = append(tags, "writes")
		} else {
			tags = append(tags, "reads only")
		}
		if a.Idempotent {
			tags = append(tags, "idempotent")
		}
		fmt.Fprintf(&b, "%s (%s). %s\n\n", a.Title, strings.Join(tags, ", "), a.Doc)
		if len(a.Input) > 0 {
			b.WriteString("Input:\n\n")
			fieldTable(&b, a.Input, true)
		}
		if len(a.Output) > 0 {
			b.WriteString("Output:\n\n")
			fieldTable(&b, a.Output, false)
		}
		for _, ex := range a.Examples {
			title := ex.Title
			if title == "" {
				title = a.Title
			}
			fmt.Fprintf(&b, "Example (%s):\n\n```yaml\n- action: cms.%s\n  input: %s\n```\n\n", title, a.Name, jsonOf(ex.Input))
		}
	}
	return b.String()
}

func fieldTable(b *strings.Builder, fs []connector.Field, withDefault bool) {
	if withDefault {
		b.WriteString("| name | type | required / default | description |\n|---|---|---|---|\n")
	} else {
		b.WriteString("| name | type | description |\n|---|---|---|\n")
	}
	for _, f := range fs {
		typ := string(f.Type)
		if f.Items != nil {
			typ = "list of " + string(f.Items.Type)
		}
		doc := f.Doc
		if f.Secret {
			doc = "Secret (stored encrypted, never shown). " + doc
		}
		if len(f.Enum) > 0 {
			var vals []string
			for _, v := range f.Enum {
				vals = append(vals, fmt.Sprintf("`%v`", v))
			}
			doc += " One of " + strings.Join(vals, ", ") + "."
		}
		if f.Example != nil && withDefault {
			doc += " Example: `" + jsonOf(f.Example) + "`."
		}
		doc = strings.ReplaceAll(doc, "|", "\\|")
		if withDefault {
			req := ""
			switch {
			case f.Required:
				req = "required"
			case f.Default != nil:
				req = "`" + jsonOf(f.Default) + "`"
			}
			fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", f.Name, typ, req, strings.TrimSpace(doc))
		} else {
			fmt.Fprintf(b, "| `%s` | %s | %s |\n", f.Name, typ, strings.TrimSpace(doc))
		}
	}
	b.WriteString("\n")
}

func jsonOf(v any) string {
	if v == nil {
		return "{}"
	}
	out, _ := json.Marshal(v)
	return strings.ReplaceAll(string(out), "|", "\\|")
}
