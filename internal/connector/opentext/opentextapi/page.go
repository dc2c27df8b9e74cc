package opentextapi

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"time"

	"github.com/patchbay/patchbay/internal/fault"
)

// Paging selects one page of a list: offset is the number of items to skip,
// count the page size (the service's default is 10), sort a property name
// and order asc or desc.
type Paging struct {
	Offset int
	Count  int
	Sort   string
	Order  string
}

func (p Paging) set(v url.Values) {
	if p.Offset > 0 {
		v.Set("offset", strconv.Itoa(p.Offset))
	}
	if p.Count > 0 {
		v.Set("count", strconv.Itoa(p.Count))
	}
	if p.Sort != "" {
		v.Set("sort", p.Sort)
	}
	if p.Order != "" {
		v.Set("order", p.Order)
	}
}

// Page is one page of a list.
type Page[T any] struct {
	Items []T
	// Total is page.totalElements, or -1 when the answer did not say.
	Total int
}

// envelope covers the renderings of a Spring HATEOAS paged model: HAL
// ({_embedded: {<rel>: [...]}, page: {...}, _links}, what the live service
// returns), the plain form ({links, content, page}, what OpenText's
// generated samples show) and a bare JSON array. An empty HAL page has no
// _embedded member at all.
type envelope struct {
	Embedded map[string]json.RawMessage `json:"_embedded"`
	Content  json.RawMessage            `json:"content"`
	Page     *struct {
		Size          int `json:"size"`
		TotalElements int `json:"totalElements"`
		TotalPages    int `json:"totalPages"`
		Number        int `json:"number"`
	} `json:"page"`
	Total *int `json:"total"`
}

// DecodePage decodes a list answer whose items are under _embedded.<rel>
// (or content, or the top level).
func DecodePage[T any](data []byte, rel string) (Page[T], error) {
	p := Page[T]{Total: -1}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		p.Total = 0
		return p, nil
	}
	if data[0] == '[' {
		if err := json.Unmarshal(data, &p.Items); err != nil {
			return p, fault.E(fault.Permanent, "opentext: decoding "+rel, err)
		}
		p.Total = len(p.Items)
		return p, nil
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return p, fault.E(fault.Permanent, "opentext: decoding "+rel, err)
	}
	raw := env.Embedded[rel]
	if raw == nil && len(env.Embedded) == 1 {
		for _, r := range env.Embedded {
			raw = r
		}
	}
	if raw == nil {
		raw = env.Content
	}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &p.Items); err != nil {
			return p, fault.E(fault.Permanent, "opentext: decoding "+rel, err)
		}
	}
	switch {
	case env.Page != nil:
		p.Total = env.Page.TotalElements
	case env.Total != nil:
		p.Total = *env.Total
	case env.Embedded == nil && env.Content == nil:
		p.Total = 0
	}
	return p, nil
}

// TimeLayout is how the service renders times (UTC, milliseconds).
const TimeLayout = "2006-01-02T15:04:05.000Z"

// FormatTime renders t for a query parameter.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// ParseTime reads a time as the service renders it (ISO-8601 with Z, an
// offset such as +0000 or +00:00, with or without fractions).
func ParseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700",
		"2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05.000", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
