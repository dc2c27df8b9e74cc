package iconik

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/patchbay/patchbay/internal/connector"
)

// renderReference renders the connection settings, triggers and actions of
// s as the reference part of docs/connectors/iconik.md.
func renderReference(s *connector.Spec) string {
	var b strings.Builder
	b.WriteString("### Connection settings\n\n")
	fieldTable(&b, s.Connection, true)
	for _, tr := range s.Triggers {
		fmt.Fprintf(&b, "\n### Trigger `%s`\n\n", tr.Name)
		fmt.Fprintf(&b, "%s (%s", tr.Title, tr.Kind)
		if tr.Interval > 0 {
			fmt.Fprintf(&b, ", every %s", tr.Interval)
		}
		fmt.Fprintf(&b, "). %s\n\n", tr.Doc)
		b.WriteString("Event types: ")
		for i, et := range tr.EventTypes {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "`%s`", et)
		}
		b.WriteString(".\n\n")
		if len(tr.Config) > 0 {
			b.WriteString("Flow options (`trigger.config`):\n\n")
			fieldTable(&b, tr.Config, true)
			b.WriteString("\n")
		}
		b.WriteString("`event.data`:\n\n")
		fieldTable(&b, tr.Data, false)
		for _, ex := range tr.Examples {
			fmt.Fprintf(&b, "\nExample event (%s):\n\n```json\n%s\n```\n", ex.Title, jsonIndent(ex.Output))
		}
	}
	for _, a := range s.Actions {
		fmt.Fprintf(&b, "\n### Action `%s`\n\n", a.Name)
		traits := []string{}
		if a.Writes {
			traits = append(traits, "writes")
		} else {
			traits = append(traits, "reads only")
		}
		if a.Idempotent {
			traits = append(traits, "idempotent")
		} else {
			traits = append(traits, "not retried after an ambiguous failure")
		}
		fmt.Fprintf(&b, "%s (%s). %s\n\nInput:\n\n", a.Title, strings.Join(traits, ", "), a.Doc)
		fieldTable(&b, a.Input, true)
		b.WriteString("\nOutput:\n\n")
		fieldTable(&b, a.Output, false)
		for _, ex := range a.Examples {
			title := ex.Title
			if title == "" {
				title = "example"
			}
			fmt.Fprintf(&b, "\nExample (%s):\n\n```yaml\n- action: dam.%s\n  input: %s\n```\n", title, a.Name, jsonOneLine(ex.Input))
			if ex.Output != nil {
				fmt.Fprintf(&b, "\nOutput: `%s`\n", jsonOneLine(ex.Output))
			}
		}
	}
	return b.String()
}

func fieldTable(b *strings.Builder, fields []connector.Field, input bool) {
	if len(fields) == 0 {
		b.WriteString("(none)\n")
		return
	}
	if input {
		b.WriteString("| name | type | required / default | description |\n|---|---|---|---|\n")
	} else {
		b.WriteString("| name | type | description |\n|---|---|---|\n")
	}
	for _, f := range fields {
		typ := string(f.Type)
		if f.Items != nil {
			typ += " of " + string(f.Items.Type)
		}
		doc := f.Doc
		if f.Secret {
			doc = "Secret (stored encrypted, never shown). " + doc
		}
		if len(f.Enum) > 0 {
			doc += " One of " + enumList(f.Enum) + "."
		} else if f.Items != nil && len(f.Items.Enum) > 0 {
			doc += " Items: " + enumList(f.Items.Enum) + "."
		}
		if len(f.Fields) > 0 || (f.Items != nil && len(f.Items.Fields) > 0) {
			sub := f.Fields
			if f.Items != nil {
				sub = f.Items.Fields
			}
			var parts []string
			for _, x := range sub {
				parts = append(parts, "`"+x.Name+"`")
			}
			doc += " Keys: " + strings.Join(parts, ", ") + "."
		}
		doc = strings.ReplaceAll(doc, "|", "\\|")
		if input {
			req := ""
			switch {
			case f.Required:
				req = "required"
			case f.Default != nil:
				req = "`" + jsonOneLine(f.Default) + "`"
			}
			fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", f.Name, typ, req, strings.TrimSpace(doc))
		} else {
			fmt.Fprintf(b, "| `%s` | %s | %s |\n", f.Name, typ, strings.TrimSpace(doc))
		}
	}
}

func enumList(vals []any) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = fmt.Sprintf("`%v`", v)
	}
	return strings.Join(parts, ", ")
}

func jsonOneLine(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSpace(b.String())
}

func jsonIndent(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
	return strings.TrimSpace(b.String())
}
