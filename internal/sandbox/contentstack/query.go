package contentstack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// maxLimit is the documented page-size ceiling for skip/limit paging.
const maxLimit = 100

// refResolver returns the entry documents a reference value points at, for
// $in_query / $nin_query.
type refResolver func(ref any) []doc

// matcher evaluates the JSON query language: field paths (dots walk into
// groups, modular blocks and JSON fields; arrays match if any element
// does), $eq $ne $in $nin $lt $lte $gt $gte $exists $regex (+ $options)
// $and $or $in_query $nin_query.
type matcher struct {
	resolve refResolver
}

// compileQuery parses the query parameter and checks its operators.
func compileQuery(raw string) (map[string]any, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var q map[string]any
	if err := decodeJSON([]byte(raw), &q); err != nil {
		return nil, fmt.Errorf("query is not valid JSON: %w", err)
	}
	if err := checkQuery(q); err != nil {
		return nil, err
	}
	return q, nil
}

func checkQuery(q map[string]any) error {
	for k, v := range q {
		switch k {
		case "$and", "$or":
			arr, ok := v.([]any)
			if !ok || len(arr) == 0 {
				return fmt.Errorf("%s needs a non-empty array", k)
			}
			for _, x := range arr {
				sub, ok := x.(map[string]any)
				if !ok || len(sub) == 0 {
					return fmt.Errorf("%s needs non-empty conditions", k)
				}
				if err := checkQuery(sub); err != nil {
					return err
				}
			}
		default:
			if strings.HasPrefix(k, "$") {
				return fmt.Errorf("unknown operator %s", k)
			}
			if ops, ok := v.(map[string]any); ok && isOperatorObject(ops) {
				for op, arg := range ops {
					switch op {
					case "$eq", "$ne", "$lt", "$lte", "$gt", "$gte", "$exists", "$options":
					case "$in", "$nin":
						if _, ok := arg.([]any); !ok {
							return fmt.Errorf("%s needs an array", op)
						}
					case "$regex":
						if _, err := regexp.Compile(str(arg)); err != nil {
							return fmt.Errorf("bad $regex: %w", err)
						}
					case "$in_query", "$nin_query":
						sub, ok := arg.(map[string]any)
						if !ok {
							return fmt.Errorf("%s needs an object", op)
						}
						if err := checkQuery(sub); err != nil {
							return err
						}
					default:
						return fmt.Errorf("unknown operator %s", op)
					}
				}
			}
		}
	}
	return nil
}

func isOperatorObject(m map[string]any) bool {
	if len(m) == 0 {
		return false
	}
	for k := range m {
		if !strings.HasPrefix(k, "$") {
			return false
		}
	}
	return true
}

func (m matcher) match(d doc, q map[string]any) bool {
	for k, cond := range q {
		switch k {
		case "$and":
			for _, x := range cond.([]any) {
				if !m.match(d, x.(map[string]any)) {
					return false
				}
			}
		case "$or":
			hit := false
			for _, x := range cond.([]any) {
				if m.match(d, x.(map[string]any)) {
					hit = true
					break
				}
			}
			if !hit {
				return false
			}
		default:
			if !m.matchField(d, strings.Split(k, "."), cond) {
				return false
			}
		}
	}
	return true
}

func (m matcher) matchField(d doc, path []string, cond any) bool {
	vals := valuesAt(d, path)
	ops, isOps := cond.(map[string]any)
	if !isOps || !isOperatorObject(ops) {
		return anyEqual(vals, cond)
	}
	for op, arg := range ops {
		switch op {
		case "$eq":
			if !anyEqual(vals, arg) {
				return false
			}
		case "$ne":
			if anyEqual(vals, arg) {
				return false
			}
		case "$in":
			ok := false
			for _, a := range arg.([]any) {
				if anyEqual(vals, a) {
					ok = true
					break
				}
			}
			if !ok {
				return false
			}
		case "$nin":
			for _, a := range arg.([]any) {
				if anyEqual(vals, a) {
					return false
				}
			}
		case "$lt", "$lte", "$gt", "$gte":
			ok := false
			for _, v := range vals {
				c, comparable := compare(v, arg)
				if !comparable {
					continue
				}
				if (op == "$lt" && c < 0) || (op == "$lte" && c <= 0) || (op == "$gt" && c > 0) || (op == "$gte" && c >= 0) {
					ok = true
					break
				}
			}
			if !ok {
				return false
			}
		case "$exists":
			if exists(d, path) != asBool(arg) {
				return false
			}
		case "$regex":
			expr := str(arg)
			if strings.Contains(str(ops["$options"]), "i") {
				expr = "(?i)" + expr
			}
			re, err := regexp.Compile(expr)
			if err != nil {
				return false
			}
			ok := false
			for _, v := range vals {
				if s, isStr := v.(string); isStr && re.MatchString(s) {
					ok = true
					break
				}
			}
			if !ok {
				return false
			}
		case "$options":
		case "$in_query", "$nin_query":
			sub := arg.(map[string]any)
			hit := false
			if m.resolve != nil {
				for _, ref := range valuesAt(d, path) {
					for _, target := range m.resolve(ref) {
						if m.match(target, sub) {
							hit = true
						}
					}
				}
			}
			if (op == "$in_query") != hit {
				return false
			}
		}
	}
	return true
}

// valuesAt collects the values at path, walking into arrays at every level
// and flattening arrays at the leaf.
func valuesAt(v any, path []string) []any {
	if len(path) == 0 {
		if arr, ok := v.([]any); ok {
			return arr
		}
		if v == nil {
			return nil
		}
		return []any{v}
	}
	switch t := v.(type) {
	case map[string]any:
		next, ok := t[path[0]]
		if !ok {
			return nil
		}
		return valuesAt(next, path[1:])
	case []any:
		var out []any
		for _, x := range t {
			out = append(out, valuesAt(x, path)...)
		}
		return out
	default:
		return nil
	}
}

func exists(v any, path []string) bool {
	if len(path) == 0 {
		return v != nil
	}
	switch t := v.(type) {
	case map[string]any:
		next, ok := t[path[0]]
		if !ok {
			return false
		}
		return exists(next, path[1:])
	case []any:
		for _, x := range t {
			if exists(x, path) {
				return true
			}
		}
	}
	return false
}

func anyEqual(vals []any, want any) bool {
	for _, v := range vals {
		if equal(v, want) {
			return true
		}
	}
	return false
}

func equal(a, b any) bool {
	if fa, ok := asFloat(a); ok {
		if fb, ok := asFloat(b); ok {
			return fa == fb
		}
		return false
	}
	switch ta := a.(type) {
	case string:
		tb, ok := b.(string)
		return ok && ta == tb
	case bool:
		tb, ok := b.(bool)
		return ok && ta == tb
	case nil:
		return b == nil
	default:
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		return string(ja) == string(jb)
	}
}

// compare orders numbers numerically and strings (incl. ISO dates)
// lexically; numeric strings compare with numbers numerically (the
// executions query sends "status": {"$gte": "200"}).
func compare(a, b any) (int, bool) {
	fa, okA := numeric(a)
	fb, okB := numeric(b)
	if okA && okB {
		switch {
		case fa < fb:
			return -1, true
		case fa > fb:
			return 1, true
		}
		return 0, true
	}
	sa, okA := a.(string)
	sb, okB := b.(string)
	if okA && okB {
		return strings.Compare(sa, sb), true
	}
	return 0, false
}

func numeric(v any) (float64, bool) {
	if f, ok := asFloat(v); ok {
		return f, true
	}
	if s, ok := v.(string); ok {
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
			return f, true
		}
	}
	return 0, false
}

// page filters (query), sorts (asc/desc) and pages (skip/limit) docs as the
// list endpoints do, returning the page and the total match count.
func (s *Server) page(r *http.Request, docs []doc, what string, resolve refResolver) ([]doc, int, *apiError) {
	return s.pageWith(r, docs, what, matcher{resolve: resolve})
}

func (s *Server) pageWith(r *http.Request, docs []doc, what string, m matcher) ([]doc, int, *apiError) {
	q, err := compileQuery(r.URL.Query().Get("query"))
	if err != nil {
		return nil, 0, errFetch(what, "query", "is not valid.")
	}
	skip, ok := queryInt(r, "skip", 0)
	if !ok || skip < 0 {
		return nil, 0, errFetch(what, "skip", "is not valid.")
	}
	limit, ok := queryInt(r, "limit", maxLimit)
	if !ok || limit < 0 {
		return nil, 0, errFetch(what, "limit", "is not valid.")
	}
	if limit == 0 {
		limit = maxLimit
	}
	if limit > maxLimit {
		if !s.opts.ClampLimit {
			return nil, 0, errFetch(what, "limit", fmt.Sprintf("should be less than or equal to %d.", maxLimit))
		}
		limit = maxLimit
	}
	var matched []doc
	for _, d := range docs {
		if q == nil || m.match(d, q) {
			matched = append(matched, d)
		}
	}
	if f := r.URL.Query().Get("asc"); f != "" {
		sortBy(matched, f, false)
	} else if f := r.URL.Query().Get("desc"); f != "" {
		sortBy(matched, f, true)
	}
	total := len(matched)
	if skip >= total {
		return []doc{}, total, nil
	}
	end := min(skip+limit, total)
	return matched[skip:end], total, nil
}

// sortBy sorts stably on the first value at the field path; missing values last.
func sortBy(docs []doc, fieldPath string, desc bool) {
	path := strings.Split(fieldPath, ".")
	sort.SliceStable(docs, func(i, j int) bool {
		vi, vj := valuesAt(docs[i], path), valuesAt(docs[j], path)
		if len(vi) == 0 || len(vj) == 0 {
			return len(vi) > 0 && len(vj) == 0
		}
		c, _ := compare(vi[0], vj[0])
		if desc {
			return c > 0
		}
		return c < 0
	})
}
