package opentext

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/sandbox/kit"
	"github.com/patchbay/patchbay/internal/sandbox/opentext/bpmn"
)

// errorInfo is the Flowable-style error body: {message, exception}. The
// sample app reads error.response.data.exception (CONFIRMED).
type errorInfo struct {
	Message   string `json:"message"`
	Exception string `json:"exception"`
}

var statusMessages = map[int]string{
	http.StatusBadRequest:            "Bad request",
	http.StatusNotFound:              "Not found",
	http.StatusConflict:              "Conflict",
	http.StatusMethodNotAllowed:      "Method not allowed",
	http.StatusUnsupportedMediaType:  "Unsupported media type",
	http.StatusForbidden:             "Forbidden",
	http.StatusInternalServerError:   "Internal server error",
	http.StatusRequestEntityTooLarge: "Request entity too large",
}

func writeError(w http.ResponseWriter, status int, exception string) {
	msg := statusMessages[status]
	if msg == "" {
		msg = http.StatusText(status)
	}
	kit.WriteJSON(w, status, errorInfo{Message: msg, Exception: exception})
}

// writeEngineError maps an engine error kind to its status.
func writeEngineError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch bpmn.KindOf(err) {
	case bpmn.KindInvalid:
		status = http.StatusBadRequest
	case bpmn.KindNotFound:
		status = http.StatusNotFound
	case bpmn.KindConflict:
		status = http.StatusConflict
	}
	writeError(w, status, err.Error())
}

// fault is the Apigee gateway error shape (CONFIRMED: fault.faultstring, fault.detail.errorcode).
type fault struct {
	Fault faultBody `json:"fault"`
}

type faultBody struct {
	FaultString string      `json:"faultstring"`
	Detail      faultDetail `json:"detail"`
}

type faultDetail struct {
	ErrorCode string `json:"errorcode"`
}

func writeFault(w http.ResponseWriter, status int, faultString, code string) {
	kit.WriteJSON(w, status, fault{Fault: faultBody{FaultString: faultString, Detail: faultDetail{ErrorCode: code}}})
}

// rejectRateLimited answers a request over the rate limit the way the Apigee
// gateway's spike arrest does (ASSUMPTION: the limit and the Retry-After
// header are not documented).
func rejectRateLimited(w http.ResponseWriter, r *http.Request, retry time.Duration, limit float64) {
	secs := int(retry.Seconds() + 0.999)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	msg := "Spike arrest violation"
	if limit > 0 {
		msg = fmt.Sprintf("Spike arrest violation. Allowed rate : %gps", limit)
	}
	writeFault(w, http.StatusTooManyRequests, msg, "policies.ratelimit.SpikeArrestViolation")
}

// decodeJSON reads a JSON request body into v. It answers 415 for a
// non-JSON content type and 400 for a malformed body, and reports false.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			writeError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Content type '%s' not supported", ct))
			return false
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8<<20))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "reading body: "+err.Error())
		return false
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		writeError(w, http.StatusBadRequest, "Required request body is missing")
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeError(w, http.StatusBadRequest, "JSON parse error: "+err.Error())
		return false
	}
	return true
}

// ---- time and values ----

func fmtTime(t time.Time) string { return bpmn.FormatTime(t) }

func fmtTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := fmtTime(*t)
	return &s
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type restVariable struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Value      any    `json:"value"`
	Scope      string `json:"scope"`
	Encryption bool   `json:"encryption"`
}

func renderVars(vars map[string]*bpmn.Variable, scope string) []restVariable {
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]restVariable, 0, len(names))
	for _, n := range names {
		out = append(out, renderVar(vars[n], scope))
	}
	return out
}

func renderVar(v *bpmn.Variable, scope string) restVariable {
	return restVariable{Name: v.Name, Type: v.Type, Value: bpmn.DeepCopy(v.Value), Scope: scope}
}

// ---- query parameters ----

type query struct {
	v   url.Values
	err error
}

func newQuery(r *http.Request) *query { return &query{v: r.URL.Query()} }

func (q *query) str(name string) string { return q.v.Get(name) }

func (q *query) has(name string) bool { return q.v.Get(name) != "" }

// boolean reads an optional boolean; ok is false when the parameter is absent.
func (q *query) boolean(name string) (val, ok bool) {
	s := q.v.Get(name)
	if s == "" {
		return false, false
	}
	b, err := strconv.ParseBool(s)
	if err != nil && q.err == nil {
		q.err = errf("Value for param '%s' is not valid, '%s' is not a boolean", name, s)
	}
	return b, true
}

func (q *query) flag(name string) bool { b, _ := q.boolean(name); return b }

func (q *query) time(name string) *time.Time {
	s := q.v.Get(name)
	if s == "" {
		return nil
	}
	t, err := bpmn.ParseTime(s)
	if err != nil {
		if q.err == nil {
			q.err = errf("Value for param '%s' is not valid, '%s' is not an ISO-8601 date", name, s)
		}
		return nil
	}
	return &t
}

func (q *query) integer(name string, def int) int {
	s := q.v.Get(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		if q.err == nil {
			q.err = errf("Value for param '%s' is not valid, '%s' is not a non-negative integer", name, s)
		}
		return def
	}
	return n
}

// like matches Flowable's LIKE with % wildcards.
func like(pattern, s string) bool {
	parts := strings.Split(pattern, "%")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, p := range parts[1:] {
		last := i == len(parts)-2
		if last {
			return strings.HasSuffix(s, p)
		}
		idx := strings.Index(s, p)
		if idx < 0 {
			return false
		}
		s = s[idx+len(p):]
	}
	return true
}

// ---- paging, sorting and the HAL envelope ----

// sorter orders items by a named property.
type sorter[T any] map[string]func(a, b T) int

func cmpStr(a, b string) int { return strings.Compare(a, b) }

func cmpTime(a, b time.Time) int { return a.Compare(b) }

func cmpTimePtr(a, b *time.Time) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return a.Compare(*b)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// page sorts items, applies offset/count and reports the total. The id
// comparator breaks ties so paging is stable.
func page[T any](q *query, items []T, sorts sorter[T], defSort string, id func(T) string, maxCount int) ([]T, int, int, int, error) {
	key := q.str("sort")
	if key == "" {
		key = defSort
	}
	cmp, ok := sorts[key]
	if !ok {
		names := make([]string, 0, len(sorts))
		for k := range sorts {
			names = append(names, k)
		}
		sort.Strings(names)
		return nil, 0, 0, 0, errf("Value for param 'sort' is not valid, '%s' is not a valid property (one of %s)", key, strings.Join(names, ", "))
	}
	desc := false
	switch strings.ToLower(q.str("order")) {
	case "", "asc":
	case "desc":
		desc = true
	default:
		return nil, 0, 0, 0, errf("Value for param 'order' is not valid, '%s' must be 'asc' or 'desc'", q.str("order"))
	}
	offset := q.integer("offset", 0)
	count := q.integer("count", 10)
	if q.err != nil {
		return nil, 0, 0, 0, q.err
	}
	if count == 0 {
		count = 10
	}
	if count > maxCount {
		count = maxCount
	}
	sort.SliceStable(items, func(i, j int) bool {
		c := cmp(items[i], items[j])
		if c == 0 {
			c = strings.Compare(id(items[i]), id(items[j]))
		}
		if desc {
			return c > 0
		}
		return c < 0
	})
	total := len(items)
	if offset > total {
		offset = total
	}
	end := min(offset+count, total)
	return items[offset:end], total, offset, count, nil
}

type link struct {
	Href string `json:"href"`
}

type pageInfo struct {
	Size          int `json:"size"`
	TotalElements int `json:"totalElements"`
	TotalPages    int `json:"totalPages"`
	Number        int `json:"number"`
}

// halList renders the Spring HATEOAS paged envelope: items under
// _embedded.<rel>, paging links and page.totalElements (CONFIRMED shape).
// As Spring does, an empty page has no _embedded member (ASSUMPTION).
func (s *Server) halList(r *http.Request, rel string, items any, n, total, offset, count int) map[string]any {
	base := s.url(r) + r.URL.Path
	href := func(off int) link {
		v := r.URL.Query()
		v.Set("offset", strconv.Itoa(off))
		v.Set("count", strconv.Itoa(count))
		return link{Href: base + "?" + v.Encode()}
	}
	self := base
	if r.URL.RawQuery != "" {
		self += "?" + r.URL.RawQuery
	}
	links := map[string]link{"self": {Href: self}, "first": href(0)}
	if offset+count < total {
		links["next"] = href(offset + count)
	}
	if offset > 0 {
		links["prev"] = href(max(offset-count, 0))
	}
	last := 0
	if total > 0 {
		last = ((total - 1) / count) * count
	}
	links["last"] = href(last)
	out := map[string]any{
		"_links": links,
		"page":   pageInfo{Size: count, TotalElements: total, TotalPages: (total + count - 1) / count, Number: offset / count},
	}
	if n > 0 {
		out["_embedded"] = map[string]any{rel: items}
	}
	return out
}

func (s *Server) selfLinks(r *http.Request, path string) map[string]link {
	return map[string]link{"self": {Href: s.url(r) + path}}
}
