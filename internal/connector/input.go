package connector

import (
	"fmt"
	"sort"
	"strings"

	"github.com/patchbay/patchbay/internal/fault"
)

// Prepare checks values against fields and returns a copy with defaults
// filled. Every problem is reported, each naming its field path; the error
// has kind fault.Invalid. Keys not declared are rejected unless allowExtra.
func Prepare(fields []Field, values map[string]any, allowExtra bool) (map[string]any, error) {
	out := make(map[string]any, len(fields))
	var problems []string
	prepareInto(out, "", fields, values, allowExtra, &problems)
	if len(problems) > 0 {
		return nil, fault.E(fault.Invalid, "checking input", strings.Join(problems, "; "))
	}
	return out, nil
}

func prepareInto(out map[string]any, prefix string, fields []Field, values map[string]any, allowExtra bool, problems *[]string) {
	known := make(map[string]bool, len(fields))
	for _, f := range fields {
		known[f.Name] = true
		path := prefix + f.Name
		v, present := values[f.Name]
		if !present || v == nil {
			if f.Required {
				*problems = append(*problems, path+": required")
				continue
			}
			if f.Default != nil {
				out[f.Name] = f.Default
			}
			continue
		}
		if err := CheckValue(f, v); err != nil {
			*problems = append(*problems, fmt.Sprintf("%s: %v", path, err))
			continue
		}
		if n, ok := v.(float64); ok && f.Type == Int {
			v = int(n) // CheckValue accepted it, so it is whole
		}
		if m, ok := v.(map[string]any); ok && f.Type == Object && len(f.Fields) > 0 {
			sub := make(map[string]any, len(m))
			prepareInto(sub, path+".", f.Fields, m, f.Open, problems)
			out[f.Name] = sub
			continue
		}
		out[f.Name] = v
	}
	var extra []string
	for k, v := range values {
		if known[k] {
			continue
		}
		if allowExtra {
			out[k] = v
			continue
		}
		extra = append(extra, prefix+k)
	}
	sort.Strings(extra)
	for _, k := range extra {
		*problems = append(*problems, k+": unknown field")
	}
}

// Redact returns a copy of values with every field declared Secret replaced
// by "***", recursively through declared objects.
func Redact(fields []Field, values map[string]any) map[string]any {
	if values == nil {
		return nil
	}
	out := make(map[string]any, len(values))
	byName := make(map[string]Field, len(fields))
	for _, f := range fields {
		byName[f.Name] = f
	}
	for k, v := range values {
		f, ok := byName[k]
		switch {
		case ok && f.Secret:
			out[k] = "***"
		case ok && len(f.Fields) > 0:
			if m, isMap := v.(map[string]any); isMap {
				out[k] = Redact(f.Fields, m)
				continue
			}
			out[k] = v
		default:
			out[k] = v
		}
	}
	return out
}
