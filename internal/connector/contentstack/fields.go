package contentstack

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/patchbay/patchbay/internal/connector/contentstack/contentstackapi"
	"github.com/patchbay/patchbay/internal/fault"
)

// Field paths name a value inside an entry with dots: "title",
// "rights.rights_status" (a group), "used_on.0.page" (an element of a
// multiple group), "page_sections.hero.headline" (the first "hero" block of
// a modular-blocks field; "page_sections.1.text.body" picks by position),
// "iconik_assets.0.id" (inside a JSON / custom field such as the iconik
// picker). A numeric segment indexes a list; a name segment on a list
// picks the first element (a block) that has that key.

func splitPath(p string) []string {
	p = strings.TrimSpace(p)
	if p == "" {
		return nil
	}
	return strings.Split(p, ".")
}

// getPath reads the value at a path.
func getPath(v any, segs []string) (any, bool) {
	for _, s := range segs {
		switch t := v.(type) {
		case map[string]any:
			x, ok := t[s]
			if !ok {
				return nil, false
			}
			v = x
		case []any:
			if i, err := strconv.Atoi(s); err == nil {
				if i < 0 || i >= len(t) {
					return nil, false
				}
				v = t[i]
				continue
			}
			found := false
			for _, el := range t {
				if m, ok := el.(map[string]any); ok {
					if x, ok := m[s]; ok {
						v, found = x, true
						break
					}
				}
			}
			if !found {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	return v, true
}

// setPath returns cur with the value at segs set to val, creating objects
// on the way (and a block {seg: {}} on a list that has none of that name).
// cur is modified in place where it is a map or list; callers pass a copy.
func setPath(cur any, segs []string, val any) (any, error) {
	if len(segs) == 0 {
		return val, nil
	}
	s := segs[0]
	switch t := cur.(type) {
	case nil:
		if _, err := strconv.Atoi(s); err == nil {
			return nil, fmt.Errorf("index %s into a missing list", s)
		}
		child, err := setPath(nil, segs[1:], val)
		if err != nil {
			return nil, err
		}
		return map[string]any{s: child}, nil
	case map[string]any:
		child, err := setPath(t[s], segs[1:], val)
		if err != nil {
			return nil, err
		}
		t[s] = child
		return t, nil
	case []any:
		if i, err := strconv.Atoi(s); err == nil {
			switch {
			case i >= 0 && i < len(t):
				child, err := setPath(t[i], segs[1:], val)
				if err != nil {
					return nil, err
				}
				t[i] = child
				return t, nil
			case i == len(t):
				child, err := setPath(nil, segs[1:], val)
				if err != nil {
					return nil, err
				}
				return append(t, child), nil
			}
			return nil, fmt.Errorf("index %d out of range (the list has %d elements)", i, len(t))
		}
		for idx, el := range t {
			if m, ok := el.(map[string]any); ok {
				if _, ok := m[s]; ok {
					child, err := setPath(m[s], segs[1:], val)
					if err != nil {
						return nil, err
					}
					m[s] = child
					t[idx] = m
					return t, nil
				}
			}
		}
		child, err := setPath(nil, segs[1:], val)
		if err != nil {
			return nil, err
		}
		return append(t, map[string]any{s: child}), nil
	}
	return nil, fmt.Errorf("cannot set %q inside a %T", s, cur)
}

// deepMerge merges src into dst: objects key by key (recursively), any
// other value replaces. dst is modified in place; callers pass a copy.
func deepMerge(dst, src any) any {
	dm, ok1 := dst.(map[string]any)
	sm, ok2 := src.(map[string]any)
	if !ok1 || !ok2 {
		return src
	}
	for k, v := range sm {
		dm[k] = deepMerge(dm[k], v)
	}
	return dm
}

// clone deep-copies a decoded JSON value.
func clone(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = clone(x)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = clone(x)
		}
		return l
	}
	return v
}

// writable turns a value read from the CMA into the shape writes take:
// file fields read back as asset objects but are written as asset uids.
func writable(f contentstackapi.Field, v any) any {
	switch f.DataType {
	case "file":
		toUID := func(x any) any {
			if m, ok := x.(map[string]any); ok {
				if uid, ok := m["uid"].(string); ok {
					return uid
				}
			}
			return x
		}
		if l, ok := v.([]any); ok {
			out := make([]any, len(l))
			for i, x := range l {
				out[i] = toUID(x)
			}
			return out
		}
		return toUID(v)
	case "group", "global_field":
		each := func(x any) any {
			m, ok := x.(map[string]any)
			if !ok {
				return x
			}
			for _, sub := range f.Schema {
				if sv, ok := m[sub.UID]; ok {
					m[sub.UID] = writable(sub, sv)
				}
			}
			return m
		}
		if l, ok := v.([]any); ok {
			for i := range l {
				l[i] = each(l[i])
			}
			return l
		}
		return each(v)
	case "blocks":
		l, ok := v.([]any)
		if !ok {
			return v
		}
		for _, x := range l {
			m, ok := x.(map[string]any)
			if !ok {
				continue
			}
			for _, b := range f.Blocks {
				inner, ok := m[b.UID].(map[string]any)
				if !ok {
					continue
				}
				for _, sub := range b.Schema {
					if sv, ok := inner[sub.UID]; ok {
						inner[sub.UID] = writable(sub, sv)
					}
				}
			}
		}
		return l
	}
	return v
}

// mergeable reports whether an object given for a whole field is merged
// into the stored value (groups, global fields) rather than replacing it
// (JSON fields, links, lists).
func mergeable(f contentstackapi.Field) bool {
	return (f.DataType == "group" || f.DataType == "global_field") && !bool(f.Multiple)
}

// systemKeys are the entry keys the CMA manages; they are not content.
var systemKeys = map[string]bool{
	"uid": true, "locale": true, "_version": true, "created_at": true, "updated_at": true,
	"created_by": true, "updated_by": true, "ACL": true, "_in_progress": true, "publish_details": true,
	"_workflow": true, "_metadata": true, "_branch": true, "_rules": true, "_embedded_items": true,
	"_content_type_uid": true, "_version_name": true,
}

// contentFields returns an entry's content: every key but the system ones.
func contentFields(e map[string]any) map[string]any {
	out := make(map[string]any, len(e))
	for k, v := range e {
		if !systemKeys[k] {
			out[k] = v
		}
	}
	return out
}

// ContentHash is the hash of an entry's content, the same for the entry an
// action wrote (as the CMA answered the write) and for the same version
// arriving in a webhook (full payload, or a concise one re-fetched): the
// system keys are left out, keys starting with "$" are renamed "cs$" as
// webhook payloads rename them, and the JSON is canonical (keys sorted).
func ContentHash(entry map[string]any) string {
	return hashOf(csKeys(contentFields(entry)))
}

// publishHash identifies a publish or unpublish of one version to one
// environment (uid) and locale, as the action reports it and the webhook
// for it carries it.
func publishHash(action, envUID, locale string, version int) string {
	return hashOf(map[string]any{"action": action, "environment": envUID, "locale": locale, "version": version})
}

// stageHash identifies an entry entering a workflow stage.
func stageHash(stageUID string) string {
	return hashOf(map[string]any{"action": "workflow_stage", "stage": stageUID})
}

// deleteHash identifies a deletion.
func deleteHash() string { return hashOf(map[string]any{"action": "delete"}) }

func hashOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(fmt.Sprint(v))
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func csKeys(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			if strings.HasPrefix(k, "$") {
				k = "cs" + k
			}
			m[k] = csKeys(x)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = csKeys(x)
		}
		return l
	}
	return v
}

// sameJSON compares two decoded JSON values by their canonical encoding.
func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// schemaPaths lists every field path of a schema, for get_content_type and
// the setup report.
func schemaPaths(prefix string, fs []contentstackapi.Field) []map[string]any {
	var out []map[string]any
	for _, f := range fs {
		p := prefix + f.UID
		m := map[string]any{"path": p, "uid": f.UID, "display_name": f.DisplayName, "data_type": f.DataType}
		if f.Multiple {
			m["multiple"] = true
		}
		if f.Mandatory {
			m["mandatory"] = true
		}
		if f.Unique {
			m["unique"] = true
		}
		if f.ExtensionUID != "" {
			m["extension_uid"] = f.ExtensionUID
		}
		if refs := f.References(); len(refs) > 0 {
			m["reference_to"] = toAny(refs)
		}
		if ch := f.Choices(); len(ch) > 0 {
			m["choices"] = ch
		}
		if f.DataType == "json" && f.FieldMetadata != nil {
			if b, _ := f.FieldMetadata["allow_json_rte"].(bool); b {
				m["json_rte"] = true
			}
		}
		out = append(out, m)
		switch f.DataType {
		case "group", "global_field":
			out = append(out, schemaPaths(p+".", f.Schema)...)
		case "blocks":
			for _, b := range f.Blocks {
				bp := p + "." + b.UID
				out = append(out, map[string]any{"path": bp, "uid": b.UID, "display_name": b.Title, "data_type": "block"})
				out = append(out, schemaPaths(bp+".", b.Schema)...)
			}
		}
	}
	return out
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// fieldPlan is an update in terms of top-level fields: what to send.
type fieldPlan struct {
	send    map[string]any // top-level field → value to write
	touched []string       // top-level fields the input named, sorted
}

// planFields turns input fields (uids or paths) into the top-level values
// to write, merging into current (the stored entry; nil for a create) so
// that nothing the input does not name is lost: a path rewrites one value
// inside its field, an object given for a group is merged into it. Fields
// whose value would not change are left out when current is known.
func planFields(ct *contentstackapi.ContentType, current map[string]any, input map[string]any) (*fieldPlan, error) {
	keys := make([]string, 0, len(input))
	for k := range input {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	work := map[string]any{}
	var problems []string
	for _, k := range keys {
		segs := splitPath(k)
		if len(segs) == 0 {
			problems = append(problems, "an empty field name")
			continue
		}
		top := segs[0]
		f, known := ct.FieldNamed(top)
		if !known && top != "tags" {
			problems = append(problems, fmt.Sprintf("%s: content type %s has no field %q", k, ct.UID, top))
			continue
		}
		base, started := work[top]
		if !started {
			base = clone(current[top])
		}
		v := clone(input[k])
		switch {
		case len(segs) == 1 && known && mergeable(f) && isObject(v) && isObject(base):
			work[top] = deepMerge(base, v)
		case len(segs) == 1:
			work[top] = v
		default:
			nv, err := setPath(base, segs[1:], v)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", k, err))
				continue
			}
			work[top] = nv
		}
	}
	if len(problems) > 0 {
		return nil, fault.Errorf(fault.Invalid, "contentstack: fields: %s", strings.Join(problems, "; "))
	}
	p := &fieldPlan{send: map[string]any{}}
	for top, v := range work {
		p.touched = append(p.touched, top)
		if f, ok := ct.FieldNamed(top); ok {
			v = writable(f, v)
			if current != nil {
				if cur, ok := current[top]; ok && sameJSON(writable(f, clone(cur)), v) {
					continue
				}
			}
		} else if current != nil && sameJSON(current[top], v) {
			continue
		}
		p.send[top] = v
	}
	sort.Strings(p.touched)
	return p, nil
}

func isObject(v any) bool { _, ok := v.(map[string]any); return ok }

// sortedKeys returns a map's keys in order.
func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
