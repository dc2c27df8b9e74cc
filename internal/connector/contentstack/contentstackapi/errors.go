package contentstackapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/patchbay/patchbay/internal/fault"
)

// APIError is Contentstack's error body:
// {"error_message": "…", "error_code": 141, "errors": {"uid": ["is not valid."]}}.
type APIError struct {
	Status  int
	Code    int
	Message string
	// Errors maps a field (or parameter) to its problems.
	Errors map[string][]string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, " (error_code %d)", e.Code)
	}
	if len(e.Errors) > 0 {
		keys := make([]string, 0, len(e.Errors))
		for k := range e.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+" "+strings.Join(e.Errors[k], " "))
		}
		b.WriteString(": " + strings.Join(parts, "; "))
	}
	return b.String()
}

// HasField reports whether the error names a field or parameter.
func (e *APIError) HasField(name string) bool {
	_, ok := e.Errors[name]
	return ok
}

// Says reports whether any problem listed for any field contains text.
func (e *APIError) Says(text string) bool {
	for _, msgs := range e.Errors {
		for _, m := range msgs {
			if strings.Contains(m, text) {
				return true
			}
		}
	}
	return false
}

// decodeAPIError reads an error body; the JS SDK also accepts "message"
// and "error" in place of error_message, and errors as a list or a string.
func decodeAPIError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	var raw struct {
		ErrorMessage string          `json:"error_message"`
		Message      string          `json:"message"`
		Error        any             `json:"error"`
		ErrorCode    any             `json:"error_code"`
		Errors       json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &raw) != nil {
		msg := strings.TrimSpace(string(body))
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		e.Message = msg
		return e
	}
	e.Message = raw.ErrorMessage
	if e.Message == "" {
		e.Message = raw.Message
	}
	if e.Message == "" {
		if s, ok := raw.Error.(string); ok {
			e.Message = s
		}
	}
	e.Code = intValue(raw.ErrorCode)
	if len(raw.Errors) > 0 {
		var m map[string]any
		if json.Unmarshal(raw.Errors, &m) == nil {
			e.Errors = map[string][]string{}
			for k, v := range m {
				switch t := v.(type) {
				case []any:
					for _, x := range t {
						e.Errors[k] = append(e.Errors[k], fmt.Sprint(x))
					}
				default:
					e.Errors[k] = []string{fmt.Sprint(t)}
				}
			}
		}
	}
	return e
}

// Kind maps an error answer to a patchbay error kind. Contentstack answers
// a missing entry or content type with 422 "UID is not valid" (error_code
// 141/118), not 404; a wrong api_key with 412 (error_code 109); a unique
// field clash with 422 "is not unique.".
func (e *APIError) Kind() fault.Kind {
	switch {
	case e.Status == http.StatusTooManyRequests:
		return fault.RateLimited
	case e.Status == http.StatusPreconditionFailed || e.Code == 109:
		return fault.Unauthorized
	case e.Status == http.StatusUnprocessableEntity && (e.Code == 118 || e.HasField("uid")):
		return fault.NotFound
	case e.Status == http.StatusUnprocessableEntity && e.Says("is not unique"):
		return fault.Conflict
	}
	return fault.FromStatus(e.Status)
}
