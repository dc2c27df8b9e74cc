package contentstackapi

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Entry is an entry as the CMA returns it: its fields (defined by the
// content type) next to the system keys (uid, locale, _version, …).
type Entry map[string]any

// UID returns the entry uid.
func (e Entry) UID() string { s, _ := e["uid"].(string); return s }

// Locale returns the locale of the copy.
func (e Entry) Locale() string { s, _ := e["locale"].(string); return s }

// Version returns _version (0 when absent).
func (e Entry) Version() int { return intValue(e["_version"]) }

// UpdatedAt returns updated_at.
func (e Entry) UpdatedAt() string { s, _ := e["updated_at"].(string); return s }

// Title returns the title field.
func (e Entry) Title() string { s, _ := e["title"].(string); return s }

// WorkflowStage returns _workflow.uid (present with include_workflow=true).
func (e Entry) WorkflowStage() string {
	w, _ := e["_workflow"].(map[string]any)
	s, _ := w["uid"].(string)
	return s
}

// PublishDetails returns publish_details (an array in the CMA).
func (e Entry) PublishDetails() []PublishDetail {
	raw, _ := e["publish_details"].([]any)
	out := make([]PublishDetail, 0, len(raw))
	for _, x := range raw {
		m, ok := x.(map[string]any)
		if !ok {
			continue
		}
		env, _ := m["environment"].(string)
		loc, _ := m["locale"].(string)
		t, _ := m["time"].(string)
		out = append(out, PublishDetail{Environment: env, Locale: loc, Version: intValue(m["version"]), Time: t})
	}
	return out
}

// PublishDetail is one publish_details record: the entry's content at
// Version is live in Environment (uid) for Locale.
type PublishDetail struct {
	Environment string
	Locale      string
	Version     int
	Time        string
}

func intValue(v any) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case int:
		return n
	case int64:
		return int(n)
	case json.Number:
		i, _ := n.Int64()
		return int(i)
	case string:
		i, _ := strconv.Atoi(n)
		return i
	}
	return 0
}

// Bool decodes true/false and the strings "true"/"false" (some documented
// samples send "disabled": "true").
type Bool bool

// UnmarshalJSON implements json.Unmarshaler.
func (b *Bool) UnmarshalJSON(data []byte) error {
	s := strings.Trim(string(data), `"`)
	*b = Bool(strings.EqualFold(s, "true"))
	return nil
}

// ContentType is a content type and its schema.
type ContentType struct {
	UID         string         `json:"uid"`
	Title       string         `json:"title"`
	Description string         `json:"description,omitempty"`
	Schema      []Field        `json:"schema"`
	Options     map[string]any `json:"options,omitempty"`
	UpdatedAt   string         `json:"updated_at,omitempty"`
}

// Field is one schema field. Groups and global fields nest Schema; modular
// blocks list Blocks; JSON and custom (extension/app) fields have data_type
// json and an extension_uid.
type Field struct {
	UID           string          `json:"uid"`
	DisplayName   string          `json:"display_name"`
	DataType      string          `json:"data_type"`
	Mandatory     Bool            `json:"mandatory,omitempty"`
	Unique        Bool            `json:"unique,omitempty"`
	Multiple      Bool            `json:"multiple,omitempty"`
	Schema        []Field         `json:"schema,omitempty"`
	Blocks        []Block         `json:"blocks,omitempty"`
	ReferenceTo   json.RawMessage `json:"reference_to,omitempty"`
	ExtensionUID  string          `json:"extension_uid,omitempty"`
	FieldMetadata map[string]any  `json:"field_metadata,omitempty"`
	Enum          *struct {
		Choices []struct {
			Value any `json:"value"`
		} `json:"choices"`
	} `json:"enum,omitempty"`
}

// Block is one block type of a modular-blocks field.
type Block struct {
	UID    string  `json:"uid"`
	Title  string  `json:"title"`
	Schema []Field `json:"schema"`
}

// References returns the content types a reference field points to.
func (f Field) References() []string {
	if len(f.ReferenceTo) == 0 {
		return nil
	}
	var one string
	if json.Unmarshal(f.ReferenceTo, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(f.ReferenceTo, &many)
	return many
}

// Choices returns a select field's values.
func (f Field) Choices() []any {
	if f.Enum == nil {
		return nil
	}
	out := make([]any, len(f.Enum.Choices))
	for i, c := range f.Enum.Choices {
		out[i] = c.Value
	}
	return out
}

// FieldNamed returns the top-level field with uid.
func (ct *ContentType) FieldNamed(uid string) (Field, bool) {
	for _, f := range ct.Schema {
		if f.UID == uid {
			return f, true
		}
	}
	return Field{}, false
}

// Workflow is a workflow and its stages.
type Workflow struct {
	UID          string   `json:"uid"`
	Name         string   `json:"name"`
	Enabled      Bool     `json:"enabled"`
	ContentTypes []string `json:"content_types"`
	Branches     []string `json:"branches,omitempty"`
	Stages       []Stage  `json:"workflow_stages"`
}

// Applies reports whether the workflow covers a content type on a branch.
func (w Workflow) Applies(ct, branch string) bool {
	if branch == "" {
		branch = "main"
	}
	if len(w.Branches) > 0 && !containsString(w.Branches, branch) {
		return false
	}
	return containsString(w.ContentTypes, "$all") || containsString(w.ContentTypes, ct)
}

// Stage is a workflow stage.
type Stage struct {
	UID                 string   `json:"uid"`
	Name                string   `json:"name"`
	Color               string   `json:"color,omitempty"`
	NextAvailableStages []string `json:"next_available_stages,omitempty"`
}

// Environment is a publishing environment.
type Environment struct {
	UID  string `json:"uid"`
	Name string `json:"name"`
	URLs []struct {
		Locale string `json:"locale"`
		URL    string `json:"url"`
	} `json:"urls,omitempty"`
}

// Locale is a stack language.
type Locale struct {
	UID            string `json:"uid"`
	Code           string `json:"code"`
	Name           string `json:"name"`
	FallbackLocale string `json:"fallback_locale,omitempty"`
}

// Webhook is a webhook definition. Raw keeps every key as read, so an
// update can send back what patchbay does not manage (notifiers, retry
// settings) unchanged.
type Webhook struct {
	UID            string        `json:"uid"`
	Name           string        `json:"name"`
	Destinations   []Destination `json:"destinations"`
	Channels       []string      `json:"channels"`
	Branches       []string      `json:"branches,omitempty"`
	RetryPolicy    string        `json:"retry_policy,omitempty"`
	Disabled       Bool          `json:"disabled"`
	ConcisePayload Bool          `json:"concise_payload"`
	Unhealthy      *struct {
		State Bool `json:"state"`
	} `json:"unhealthy,omitempty"`
	Raw map[string]any `json:"-"`
}

// IsUnhealthy reports whether the circuit breaker tripped.
func (w Webhook) IsUnhealthy() bool { return w.Unhealthy != nil && bool(w.Unhealthy.State) }

// Destination is where a webhook posts.
type Destination struct {
	TargetURL          string         `json:"target_url"`
	AuthenticationType string         `json:"authentication_type,omitempty"`
	HTTPBasicAuth      string         `json:"http_basic_auth,omitempty"`
	HTTPBasicPassword  string         `json:"http_basic_password,omitempty"`
	CustomHeader       []CustomHeader `json:"custom_header,omitempty"`
}

// CustomHeader is a header a webhook destination adds.
type CustomHeader struct {
	HeaderName string `json:"header_name"`
	Value      string `json:"value"`
}

// BulkJob is a bulk publish/unpublish job.
type BulkJob struct {
	UID     string `json:"uid"`
	Action  string `json:"action"`
	Status  string `json:"status"`
	Summary struct {
		State          string `json:"state"`
		Success        int    `json:"success"`
		Unsuccess      int    `json:"unsuccess"`
		TotalProcessed int    `json:"total_processed"`
	} `json:"summary"`
}

// Done reports whether the job finished.
func (j *BulkJob) Done() bool {
	s := strings.ToLower(j.Status)
	return s == "complete" || s == "completed" || strings.EqualFold(j.Summary.State, "completed")
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
