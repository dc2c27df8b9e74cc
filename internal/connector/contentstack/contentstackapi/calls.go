package contentstackapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/patchbay/patchbay/internal/fault"
)

// ---- content types ----

// ContentTypes lists every content type (paged).
func (c *Client) ContentTypes(ctx context.Context) ([]ContentType, error) {
	var out []ContentType
	_, err := c.pages(ctx, "/content_types", nil, 0, func(raw json.RawMessage) (int, int, error) {
		var page struct {
			ContentTypes []ContentType `json:"content_types"`
			Count        *int          `json:"count"`
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			return 0, 0, err
		}
		out = append(out, page.ContentTypes...)
		return len(page.ContentTypes), countOr(page.Count), nil
	})
	return out, err
}

// ContentType reads one content type with its schema.
func (c *Client) ContentType(ctx context.Context, uid string) (*ContentType, error) {
	var resp struct {
		ContentType *ContentType `json:"content_type"`
	}
	if err := c.do(ctx, request{method: http.MethodGet, path: "/content_types/" + uid}, &resp); err != nil {
		return nil, err
	}
	if resp.ContentType == nil {
		return nil, fault.Errorf(fault.NotFound, "contentstack: content type %s not in the answer", uid)
	}
	return resp.ContentType, nil
}

// ---- entries ----

// ListOptions narrow and shape an entry listing.
type ListOptions struct {
	Query           Query
	Locale          string
	Skip, Limit     int
	IncludeCount    bool
	Asc, Desc       string
	IncludeWorkflow bool
	// IncludePublishDetails adds each entry's publish_details.
	IncludePublishDetails bool
	// Only lists the fields to return (only[BASE][]); uid always comes back.
	Only []string
}

func (o ListOptions) values() (url.Values, error) {
	q := url.Values{}
	if s, err := o.Query.Encode(); err != nil {
		return nil, fault.E(fault.Invalid, err)
	} else if s != "" {
		q.Set("query", s)
	}
	if o.Locale != "" {
		q.Set("locale", o.Locale)
	}
	if o.Skip > 0 {
		q.Set("skip", strconv.Itoa(o.Skip))
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(min(o.Limit, MaxLimit)))
	}
	if o.IncludeCount {
		q.Set("include_count", "true")
	}
	if o.Asc != "" {
		q.Set("asc", o.Asc)
	}
	if o.Desc != "" {
		q.Set("desc", o.Desc)
	}
	if o.IncludeWorkflow {
		q.Set("include_workflow", "true")
	}
	if o.IncludePublishDetails {
		q.Set("include_publish_details", "true")
	}
	for _, f := range o.Only {
		q.Add("only[BASE][]", f)
	}
	return q, nil
}

// EntryPage is one page of entries; Count is set with IncludeCount.
type EntryPage struct {
	Entries []Entry `json:"entries"`
	Count   *int    `json:"count,omitempty"`
}

// Entries reads one page (Limit ≤ 100).
func (c *Client) Entries(ctx context.Context, ct string, o ListOptions) (*EntryPage, error) {
	q, err := o.values()
	if err != nil {
		return nil, err
	}
	var page EntryPage
	if err := c.do(ctx, request{method: http.MethodGet, path: "/content_types/" + ct + "/entries", query: q}, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// PageStats says what a paged listing cost.
type PageStats struct {
	Pages int
	// Total is the provider's count of matches (include_count).
	Total int
	// More is true when max stopped the listing before the end.
	More bool
}

// EachEntry pages through every matching entry from o.Skip (100 per page,
// include_count on the first page) and calls fn for each, stopping after
// max entries when max > 0. Sort on a stable field (updated_at, created_at)
// when entries may change during the listing.
func (c *Client) EachEntry(ctx context.Context, ct string, o ListOptions, max int, fn func(Entry) error) (PageStats, error) {
	base, err := o.values()
	if err != nil {
		return PageStats{}, err
	}
	base.Del("skip")
	base.Del("limit")
	base.Del("include_count")
	seen := 0
	stats, err := c.pages(ctx, "/content_types/"+ct+"/entries", base, o.Skip, func(raw json.RawMessage) (int, int, error) {
		var page EntryPage
		if err := json.Unmarshal(raw, &page); err != nil {
			return 0, 0, err
		}
		for _, e := range page.Entries {
			if max > 0 && seen >= max {
				return len(page.Entries), -2, nil // stop: enough
			}
			seen++
			if err := fn(e); err != nil {
				return 0, 0, err
			}
		}
		return len(page.Entries), countOr(page.Count), nil
	})
	return stats, err
}

func countOr(n *int) int {
	if n == nil {
		return -1
	}
	return *n
}

// pages runs a skip/limit listing: handle decodes one page and returns the
// number of items and the total count (-1 unknown, -2 to stop early).
func (c *Client) pages(ctx context.Context, path string, base url.Values, skip int, handle func(json.RawMessage) (int, int, error)) (PageStats, error) {
	var st PageStats
	total := -1
	for {
		q := url.Values{}
		for k, v := range base {
			q[k] = v
		}
		q.Set("limit", strconv.Itoa(MaxLimit))
		if skip > 0 {
			q.Set("skip", strconv.Itoa(skip))
		}
		if st.Pages == 0 {
			q.Set("include_count", "true")
		}
		var raw json.RawMessage
		if err := c.do(ctx, request{method: http.MethodGet, path: path, query: q}, &raw); err != nil {
			return st, err
		}
		st.Pages++
		n, count, err := handle(raw)
		if err != nil {
			return st, fault.E(fault.Permanent, "contentstack: decoding "+path, err)
		}
		if count == -2 {
			st.More = true
			if total >= 0 {
				st.Total = total
			}
			return st, nil
		}
		if count >= 0 {
			total = count
			st.Total = total
		}
		skip += n
		if n < MaxLimit || n == 0 || (total >= 0 && skip >= total) {
			return st, nil
		}
	}
}

// GetOptions shape a single-entry read.
type GetOptions struct {
	Locale                string
	Version               int
	IncludeWorkflow       bool
	IncludePublishDetails bool
}

// Entry reads one entry. A missing entry is kind NotFound (the CMA answers
// 422 "UID is not valid").
func (c *Client) Entry(ctx context.Context, ct, uid string, o GetOptions) (Entry, error) {
	q := url.Values{}
	if o.Locale != "" {
		q.Set("locale", o.Locale)
	}
	if o.Version > 0 {
		q.Set("version", strconv.Itoa(o.Version))
	}
	if o.IncludeWorkflow {
		q.Set("include_workflow", "true")
	}
	if o.IncludePublishDetails {
		q.Set("include_publish_details", "true")
	}
	var resp struct {
		Entry Entry `json:"entry"`
	}
	if err := c.do(ctx, request{method: http.MethodGet, path: "/content_types/" + ct + "/entries/" + uid, query: q}, &resp); err != nil {
		return nil, err
	}
	if resp.Entry == nil {
		return nil, fault.Errorf(fault.NotFound, "contentstack: entry %s/%s not in the answer", ct, uid)
	}
	return resp.Entry, nil
}

func localeQuery(locale string) url.Values {
	if locale == "" {
		return nil
	}
	return url.Values{"locale": {locale}}
}

// CreateEntry creates an entry (locale "" = the master locale).
func (c *Client) CreateEntry(ctx context.Context, ct, locale string, fields map[string]any) (Entry, error) {
	var resp struct {
		Entry Entry `json:"entry"`
	}
	err := c.do(ctx, request{class: classWrite, method: http.MethodPost, path: "/content_types/" + ct + "/entries",
		query: localeQuery(locale), body: map[string]any{"entry": fields}}, &resp)
	if err != nil {
		return nil, err
	}
	return resp.Entry, nil
}

// UpdateEntry saves the given top-level fields; the CMA keeps the fields
// not named. A non-master locale creates or updates the localized copy.
func (c *Client) UpdateEntry(ctx context.Context, ct, uid, locale string, fields map[string]any) (Entry, error) {
	var resp struct {
		Entry Entry `json:"entry"`
	}
	err := c.do(ctx, request{class: classWrite, method: http.MethodPut, path: "/content_types/" + ct + "/entries/" + uid,
		query: localeQuery(locale), body: map[string]any{"entry": fields}}, &resp)
	if err != nil {
		return nil, err
	}
	return resp.Entry, nil
}

// DeleteEntry deletes one locale's copy ("" = master) or, with all, every copy.
func (c *Client) DeleteEntry(ctx context.Context, ct, uid, locale string, all bool) error {
	q := url.Values{}
	if locale != "" {
		q.Set("locale", locale)
	}
	if all {
		q.Set("delete_all_localized", "true")
	}
	return c.do(ctx, request{class: classWrite, method: http.MethodDelete, path: "/content_types/" + ct + "/entries/" + uid, query: q}, nil)
}

// PublishRequest is a publish or unpublish of one entry.
type PublishRequest struct {
	// Environments are names (uids are accepted by the sandbox; UNCONFIRMED on the real API).
	Environments []string
	Locales      []string
	// Locale is the copy published ("" = master).
	Locale      string
	Version     int
	ScheduledAt string
}

func (p PublishRequest) body() map[string]any {
	b := map[string]any{"entry": map[string]any{"environments": p.Environments, "locales": p.Locales}}
	if p.Locale != "" {
		b["locale"] = p.Locale
	}
	if p.Version > 0 {
		b["version"] = p.Version
	}
	if p.ScheduledAt != "" {
		b["scheduled_at"] = p.ScheduledAt
	}
	return b
}

// Publish queues a publish; it is asynchronous (confirm through
// publish_details, a webhook or the publish queue).
func (c *Client) Publish(ctx context.Context, ct, uid string, p PublishRequest) error {
	return c.do(ctx, request{class: classWrite, method: http.MethodPost, path: "/content_types/" + ct + "/entries/" + uid + "/publish",
		query: localeQuery(p.Locale), body: p.body()}, nil)
}

// Unpublish queues an unpublish.
func (c *Client) Unpublish(ctx context.Context, ct, uid string, p PublishRequest) error {
	return c.do(ctx, request{class: classWrite, method: http.MethodPost, path: "/content_types/" + ct + "/entries/" + uid + "/unpublish",
		query: localeQuery(p.Locale), body: p.body()}, nil)
}

// StageChange moves an entry to a workflow stage.
type StageChange struct {
	UID        string
	Comment    string
	DueDate    string
	Notify     bool
	AssignedTo []map[string]any
}

// SetWorkflowStage sets the entry copy's workflow stage. With a management
// token this works only when the current stage's transition rule allows
// all users (else kind Forbidden).
func (c *Client) SetWorkflowStage(ctx context.Context, ct, uid, locale string, s StageChange) error {
	stage := map[string]any{"uid": s.UID, "notify": s.Notify}
	if s.Comment != "" {
		stage["comment"] = s.Comment
	}
	if s.DueDate != "" {
		stage["due_date"] = s.DueDate
	}
	if len(s.AssignedTo) > 0 {
		stage["assigned_to"] = s.AssignedTo
	}
	return c.do(ctx, request{class: classWrite, method: http.MethodPost, path: "/content_types/" + ct + "/entries/" + uid + "/workflow",
		query: localeQuery(locale), body: map[string]any{"workflow": map[string]any{"workflow_stage": stage}}}, nil)
}

// ---- bulk ----

// Bulk limits per call (documented): 10 entries × 10 locales × 10 environments.
const (
	BulkMaxEntries      = 10
	BulkMaxLocales      = 10
	BulkMaxEnvironments = 10
)

// BulkItem is one entry of a bulk action.
type BulkItem struct {
	UID         string `json:"uid"`
	ContentType string `json:"content_type"`
	Locale      string `json:"locale,omitempty"`
	Version     int    `json:"version,omitempty"`
}

// BulkRequest is a bulk publish or unpublish within the limits above.
type BulkRequest struct {
	Entries              []BulkItem
	Environments         []string
	Locales              []string
	PublishWithReference bool
	// SkipWorkflowStageCheck publishes entries whose stage a publish rule would block.
	SkipWorkflowStageCheck bool
}

// BulkPublish queues a bulk publish (unpublish=false) or unpublish and
// returns the job id. Bulk calls have their own budget (1/s by default).
func (c *Client) BulkPublish(ctx context.Context, unpublish bool, r BulkRequest) (string, error) {
	if len(r.Entries) > BulkMaxEntries || len(r.Locales) > BulkMaxLocales || len(r.Environments) > BulkMaxEnvironments {
		return "", fault.Errorf(fault.Invalid, "contentstack: a bulk call takes at most %d entries, %d locales and %d environments",
			BulkMaxEntries, BulkMaxLocales, BulkMaxEnvironments)
	}
	action := "publish"
	if unpublish {
		action = "unpublish"
	}
	q := url.Values{}
	if r.SkipWorkflowStageCheck {
		q.Set("skip_workflow_stage_check", "true")
		q.Set("approvals", "true")
	}
	body := map[string]any{"entries": r.Entries, "environments": r.Environments, "locales": r.Locales}
	if r.PublishWithReference {
		body["publish_with_reference"] = true
	}
	var resp struct {
		JobID string `json:"job_id"`
	}
	err := c.do(ctx, request{class: classBulk, method: http.MethodPost, path: "/bulk/" + action, query: q,
		header: http.Header{"Api_version": {"3.2"}}, body: body}, &resp)
	return resp.JobID, err
}

// BulkJob reads a bulk job's status.
func (c *Client) BulkJob(ctx context.Context, id string) (*BulkJob, error) {
	var raw map[string]json.RawMessage
	if err := c.do(ctx, request{method: http.MethodGet, path: "/bulk/jobs/" + id, header: http.Header{"Api_version": {"3.2"}}}, &raw); err != nil {
		return nil, err
	}
	b, ok := raw["job"]
	if !ok {
		b, _ = json.Marshal(raw)
	}
	var j BulkJob
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fault.E(fault.Permanent, "contentstack: decoding bulk job", err)
	}
	return &j, nil
}

// BulkJobItems lists a job's items, optionally only those with status
// ("failed" or "success").
func (c *Client) BulkJobItems(ctx context.Context, id, status string) ([]map[string]any, error) {
	q := url.Values{"limit": {strconv.Itoa(MaxLimit)}}
	if status != "" {
		q.Set("status", status)
	}
	var resp struct {
		Items []map[string]any `json:"items"`
	}
	err := c.do(ctx, request{method: http.MethodGet, path: "/bulk/jobs/" + id + "/items", query: q, header: http.Header{"Api_version": {"3.2"}}}, &resp)
	return resp.Items, err
}

// ---- workflows, environments, locales ----

// Workflows lists the stack's workflows with their stages.
func (c *Client) Workflows(ctx context.Context) ([]Workflow, error) {
	var resp struct {
		Workflows []Workflow `json:"workflows"`
	}
	if err := c.do(ctx, request{method: http.MethodGet, path: "/workflows"}, &resp); err != nil {
		return nil, err
	}
	return resp.Workflows, nil
}

// Environments lists the publishing environments.
func (c *Client) Environments(ctx context.Context) ([]Environment, error) {
	var out []Environment
	_, err := c.pages(ctx, "/environments", nil, 0, func(raw json.RawMessage) (int, int, error) {
		var page struct {
			Environments []Environment `json:"environments"`
			Count        *int          `json:"count"`
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			return 0, 0, err
		}
		out = append(out, page.Environments...)
		return len(page.Environments), countOr(page.Count), nil
	})
	return out, err
}

// Locales lists the stack's languages.
func (c *Client) Locales(ctx context.Context) ([]Locale, error) {
	var out []Locale
	_, err := c.pages(ctx, "/locales", nil, 0, func(raw json.RawMessage) (int, int, error) {
		var page struct {
			Locales []Locale `json:"locales"`
			Count   *int     `json:"count"`
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			return 0, 0, err
		}
		out = append(out, page.Locales...)
		return len(page.Locales), countOr(page.Count), nil
	})
	return out, err
}

// ---- webhooks ----

// Webhooks lists the stack's webhooks.
func (c *Client) Webhooks(ctx context.Context) ([]Webhook, error) {
	var out []Webhook
	_, err := c.pages(ctx, "/webhooks", nil, 0, func(raw json.RawMessage) (int, int, error) {
		var page struct {
			Webhooks []map[string]any `json:"webhooks"`
			Count    *int             `json:"count"`
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			return 0, 0, err
		}
		for _, m := range page.Webhooks {
			w, err := webhookOf(m)
			if err != nil {
				return 0, 0, err
			}
			out = append(out, w)
		}
		return len(page.Webhooks), countOr(page.Count), nil
	})
	return out, err
}

func webhookOf(m map[string]any) (Webhook, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return Webhook{}, err
	}
	var w Webhook
	if err := json.Unmarshal(b, &w); err != nil {
		return Webhook{}, err
	}
	w.Raw = m
	return w, nil
}

// CreateWebhook creates a webhook from its definition ({name, destinations, channels, …}).
func (c *Client) CreateWebhook(ctx context.Context, def map[string]any) (Webhook, error) {
	var resp struct {
		Webhook map[string]any `json:"webhook"`
	}
	if err := c.do(ctx, request{class: classWrite, method: http.MethodPost, path: "/webhooks", body: map[string]any{"webhook": def}}, &resp); err != nil {
		return Webhook{}, err
	}
	return webhookOf(resp.Webhook)
}

// UpdateWebhook replaces a webhook's definition.
func (c *Client) UpdateWebhook(ctx context.Context, uid string, def map[string]any) (Webhook, error) {
	var resp struct {
		Webhook map[string]any `json:"webhook"`
	}
	if err := c.do(ctx, request{class: classWrite, method: http.MethodPut, path: "/webhooks/" + uid, body: map[string]any{"webhook": def}}, &resp); err != nil {
		return Webhook{}, err
	}
	return webhookOf(resp.Webhook)
}
