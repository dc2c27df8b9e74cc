package contentstack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
)

// doc is a JSON object as the API shows it.
type doc = map[string]any

// state is everything the sandbox stores; it is what a snapshot holds.
type state struct {
	Seq           int64                 `json:"seq"`
	MasterLocale  string                `json:"master_locale"`
	ContentTypes  map[string]doc        `json:"content_types"`
	Entries       map[string]*entry     `json:"entries"`
	Environments  map[string]doc        `json:"environments"` // by uid
	Locales       map[string]doc        `json:"locales"`      // by code
	Workflows     map[string]doc        `json:"workflows"`
	Webhooks      map[string]*webhook   `json:"webhooks"`
	Executions    map[string]*execution `json:"executions"`
	Assets        map[string]*asset     `json:"assets"`
	Jobs          map[string]*bulkJob   `json:"jobs"`
	SigningKeyPEM string                `json:"signing_key_pem"`
}

func newState() *state {
	st := &state{}
	st.fixup()
	return st
}

// fixup makes every map non-nil (after loading a snapshot).
func (st *state) fixup() {
	if st.ContentTypes == nil {
		st.ContentTypes = map[string]doc{}
	}
	if st.Entries == nil {
		st.Entries = map[string]*entry{}
	}
	if st.Environments == nil {
		st.Environments = map[string]doc{}
	}
	if st.Locales == nil {
		st.Locales = map[string]doc{}
	}
	if st.Workflows == nil {
		st.Workflows = map[string]doc{}
	}
	if st.Webhooks == nil {
		st.Webhooks = map[string]*webhook{}
	}
	if st.Executions == nil {
		st.Executions = map[string]*execution{}
	}
	if st.Assets == nil {
		st.Assets = map[string]*asset{}
	}
	if st.Jobs == nil {
		st.Jobs = map[string]*bulkJob{}
	}
	for _, e := range st.Entries {
		for _, l := range e.Locales {
			if l.VersionNames == nil {
				l.VersionNames = map[string]string{}
			}
		}
	}
}

// hex16 derives 16 lowercase hex digits from a counter, so uids look like
// the real ones (blt + 16 hex) yet are deterministic.
func (st *state) hex16(kind string) string {
	st.Seq++
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", kind, st.Seq)
	return fmt.Sprintf("%016x", h.Sum64())
}

// bltUID returns a new "blt…" uid (entries, assets, environments, stages).
func (st *state) bltUID(kind string) string { return "blt" + st.hex16(kind) }

// uuid returns a deterministic RFC 4122-shaped id.
func (st *state) uuid(kind string) string {
	a, b := st.hex16(kind), st.hex16(kind)
	v := a + b
	return v[0:8] + "-" + v[8:12] + "-4" + v[13:16] + "-a" + v[17:20] + "-" + v[20:32]
}

// csUID returns a webhook-style uid ("cs" + UUID).
func (st *state) csUID(kind string) string { return "cs" + st.uuid(kind) }

func (st *state) addLocale(code, name, fallback, now, user string) doc {
	d := doc{
		"code": code, "uid": st.bltUID("locale"), "name": name,
		"created_by": user, "updated_by": user, "created_at": now, "updated_at": now,
		"ACL": doc{}, "_version": 1,
	}
	if fallback != "" {
		d["fallback_locale"] = fallback
	}
	if st.MasterLocale == "" {
		st.MasterLocale = code
	}
	st.Locales[code] = d
	return d
}

// envByNameOrUID finds an environment by name (as publish bodies give it)
// or by uid (as webhooks and publish_details carry it).
func (st *state) envByNameOrUID(v string) (doc, bool) {
	if e, ok := st.Environments[v]; ok {
		return e, true
	}
	for _, e := range st.Environments {
		if e["name"] == v {
			return e, true
		}
	}
	return nil, false
}

func (st *state) sortedEnvs() []doc {
	out := make([]doc, 0, len(st.Environments))
	for _, e := range st.Environments {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		return str(out[i]["created_at"])+str(out[i]["uid"]) < str(out[j]["created_at"])+str(out[j]["uid"])
	})
	return out
}

// ---- small JSON helpers ----

// decodeJSON decodes with numbers kept as json.Number.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// clone deep-copies JSON-shaped values.
func clone(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = clone(x)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = clone(x)
		}
		return s
	case []string:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = x
		}
		return s
	case []doc:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = clone(x)
		}
		return s
	default:
		return v
	}
}

func cloneDoc(d doc) doc {
	if d == nil {
		return nil
	}
	return clone(d).(map[string]any)
}

func str(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case nil:
		return ""
	default:
		return fmt.Sprint(t)
	}
}

// asBool accepts JSON booleans and the strings "true"/"false" (the Postman
// collection sends "disabled": "false").
func asBool(v any) bool {
	switch t := v.(type) {
	case bool:
		return t
	case string:
		return strings.EqualFold(t, "true")
	default:
		return false
	}
}

// asInt accepts numbers and numeric strings.
func asInt(v any) (int, bool) {
	switch t := v.(type) {
	case json.Number:
		f, err := t.Float64()
		if err != nil {
			return 0, false
		}
		return int(f), f == float64(int(f))
	case float64:
		return int(t), t == float64(int(t))
	case int:
		return t, true
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(t))
		return n, err == nil
	default:
		return 0, false
	}
}

func asFloat(v any) (float64, bool) {
	switch t := v.(type) {
	case json.Number:
		f, err := t.Float64()
		return f, err == nil
	case float64:
		return t, true
	case int:
		return float64(t), true
	case int64:
		return float64(t), true
	default:
		return 0, false
	}
}

// asStrings accepts a string array, or a single string (notifiers may be
// sent as a string).
func asStrings(v any) []string {
	switch t := v.(type) {
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return t
	case string:
		if t == "" {
			return []string{}
		}
		return []string{t}
	default:
		return nil
	}
}

func toAnySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
