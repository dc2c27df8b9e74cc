package iconikapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/patchbay/patchbay/internal/fault"
)

// ---- identity ----

// CurrentUser returns the user the token belongs to.
func (c *Client) CurrentUser(ctx context.Context) (*User, error) {
	var u User
	err := c.Do(ctx, http.MethodGet, usersV1+"/users/current/", nil, nil, &u)
	return &u, err
}

// CheckToken checks the credentials without reading any data.
func (c *Client) CheckToken(ctx context.Context) error {
	return c.Do(ctx, http.MethodGet, authV1+"/auth/token/", nil, nil, nil)
}

// ---- metadata ----

// Views lists the metadata views (with their fields' names and options).
func (c *Client) Views(ctx context.Context) ([]View, error) {
	var out struct {
		Objects []View `json:"objects"`
	}
	err := c.Do(ctx, http.MethodGet, metadataV1+"/views/", nil, nil, &out)
	return out.Objects, err
}

// View reads one view with full field definitions.
func (c *Client) View(ctx context.Context, id string) (*View, error) {
	var v View
	err := c.Do(ctx, http.MethodGet, metadataV1+"/views/"+esc(id)+"/", nil, nil, &v)
	return &v, err
}

// Fields lists every metadata field definition (paged by field name).
func (c *Client) Fields(ctx context.Context) ([]Field, error) {
	var all []Field
	q := url.Values{"per_page": {"500"}}
	for {
		var page struct {
			Objects []Field `json:"objects"`
		}
		if err := c.Do(ctx, http.MethodGet, metadataV1+"/fields/", q, nil, &page); err != nil {
			return all, err
		}
		all = append(all, page.Objects...)
		if len(page.Objects) < 500 {
			return all, nil
		}
		q.Set("last_field_name", page.Objects[len(page.Objects)-1].Name)
	}
}

func valuesPath(objectType, id, versionID, viewID string) string {
	p := metadataV1 + "/" + esc(objectType) + "/" + esc(id) + "/"
	if versionID != "" {
		p += "versions/" + esc(versionID) + "/"
	}
	if viewID != "" {
		p += "views/" + esc(viewID) + "/"
	}
	return p
}

// GetValues reads an object's metadata through a view (viewID "" reads every
// field, which iconik allows admins only). versionID "" is the current
// version; reading another version needs a view.
func (c *Client) GetValues(ctx context.Context, objectType, id, versionID, viewID string) (*MetadataValues, error) {
	var m MetadataValues
	err := c.Do(ctx, http.MethodGet, valuesPath(objectType, id, versionID, viewID), nil, nil, &m)
	if m.MetadataValues == nil {
		m.MetadataValues = map[string]FieldValues{}
	}
	return &m, err
}

// PutValues writes metadata through a view (viewID "": without one, admins
// only); fields not in the body are left as they are.
func (c *Client) PutValues(ctx context.Context, objectType, id, viewID string, values *MetadataValues) (*MetadataValues, error) {
	var m MetadataValues
	err := c.Do(ctx, http.MethodPut, valuesPath(objectType, id, "", viewID), nil, values, &m)
	if m.MetadataValues == nil {
		m.MetadataValues = map[string]FieldValues{}
	}
	return &m, err
}

// ---- files ----

func assetFilesPath(assetID, versionID, kind string) string {
	p := filesV1 + "/assets/" + esc(assetID) + "/"
	if versionID != "" {
		p += "versions/" + esc(versionID) + "/"
	}
	return p + kind + "/"
}

// Proxies lists the proxies of a version ("" = current) with signed URLs.
func (c *Client) Proxies(ctx context.Context, assetID, versionID string) ([]Proxy, error) {
	var out []Proxy
	err := EachCursor(ctx, c, assetFilesPath(assetID, versionID, "proxies"), nil, 100,
		func(p Proxy) string { return p.ID }, func(p Proxy) bool { out = append(out, p); return true })
	return out, err
}

// Keyframes lists the keyframes of a version ("" = current) with signed URLs.
func (c *Client) Keyframes(ctx context.Context, assetID, versionID string) ([]Keyframe, error) {
	var out []Keyframe
	err := EachCursor(ctx, c, assetFilesPath(assetID, versionID, "keyframes"), nil, 100,
		func(k Keyframe) string { return k.ID }, func(k Keyframe) bool { out = append(out, k); return true })
	return out, err
}

// Files lists the files of a version ("" = current).
func (c *Client) Files(ctx context.Context, assetID, versionID string) ([]File, error) {
	var out []File
	err := EachCursor(ctx, c, assetFilesPath(assetID, versionID, "files"), nil, 100,
		func(f File) string { return f.ID }, func(f File) bool { out = append(out, f); return true })
	return out, err
}

// Formats lists the formats of a version ("" = current).
func (c *Client) Formats(ctx context.Context, assetID, versionID string) ([]Format, error) {
	var out []Format
	err := EachCursor(ctx, c, assetFilesPath(assetID, versionID, "formats"), nil, 100,
		func(f Format) string { return f.ID }, func(f Format) bool { out = append(out, f); return true })
	return out, err
}

// FileDownloadURL returns a signed download URL of a file.
func (c *Client) FileDownloadURL(ctx context.Context, assetID, fileID string) (string, error) {
	var out struct {
		URL string `json:"url"`
	}
	err := c.Do(ctx, http.MethodGet, filesV1+"/assets/"+esc(assetID)+"/files/"+esc(fileID)+"/download_url/", nil, nil, &out)
	return out.URL, err
}

// GetFormat reads a format by id or name ("ORIGINAL") of the current version.
func (c *Client) GetFormat(ctx context.Context, assetID, format string) (*Format, error) {
	var f Format
	err := c.Do(ctx, http.MethodGet, filesV1+"/assets/"+esc(assetID)+"/formats/"+esc(format)+"/", nil, nil, &f)
	return &f, err
}

// ArchiveFormat moves a format to archive storage (storageID "" = the
// tenant's default archive), or back when restore is true. iconik answers
// 202 and runs a job.
func (c *Client) ArchiveFormat(ctx context.Context, assetID, formatID, storageID string, restore bool) error {
	op := "archive"
	if restore {
		op = "restore"
	}
	var body map[string]any
	if storageID != "" {
		body = map[string]any{"destination_storage_id": storageID}
	}
	if body == nil {
		body = map[string]any{}
	}
	return c.Do(ctx, http.MethodPost, filesV1+"/assets/"+esc(assetID)+"/formats/"+esc(formatID)+"/"+op+"/", nil, body, nil)
}

// ---- search ----

// SearchPage is one page of search results; Objects are the raw documents.
type SearchPage struct {
	Objects []json.RawMessage `json:"objects"`
	Total   int               `json:"total"`
	Page    int               `json:"page"`
	Pages   int               `json:"pages"`
}

// Search runs one search request for one page (page 0: search_after paging).
func (c *Client) Search(ctx context.Context, req *SearchRequest, page, perPage int) (*SearchPage, error) {
	q := url.Values{}
	if page > 0 {
		q.Set("page", strconv.Itoa(page))
	}
	if perPage > 0 {
		q.Set("per_page", strconv.Itoa(perPage))
	}
	var out SearchPage
	err := c.Do(ctx, http.MethodPost, searchV1+"/search/", q, req, &out)
	return &out, err
}

// SearchEach runs a search and pages through every hit with search_after
// (no result window), calling fn for each raw document until it returns
// false. It returns the total iconik reported and the pages fetched.
func (c *Client) SearchEach(ctx context.Context, req SearchRequest, perPage int, fn func(json.RawMessage) bool) (int, int, error) {
	if perPage <= 0 {
		perPage = 100
	}
	if len(req.Sort) == 0 {
		req.Sort = []SortKey{{Name: "date_created", Order: "desc"}}
	}
	total, pages := 0, 0
	for {
		p, err := c.Search(ctx, &req, 0, perPage)
		if err != nil {
			return total, pages, err
		}
		pages++
		if pages == 1 {
			total = p.Total
		}
		for _, o := range p.Objects {
			if !fn(o) {
				return total, pages, nil
			}
		}
		if len(p.Objects) < perPage {
			return total, pages, nil
		}
		var last struct {
			Sort []any `json:"_sort"`
		}
		if err := json.Unmarshal(p.Objects[len(p.Objects)-1], &last); err != nil || len(last.Sort) == 0 {
			return total, pages, fault.Errorf(fault.Permanent, "iconik: search hit has no _sort value to continue from")
		}
		req.SearchAfter = last.Sort
	}
}

// ---- jobs ----

// CreateJob creates a job.
func (c *Client) CreateJob(ctx context.Context, j *Job) (*Job, error) {
	var out Job
	err := c.Do(ctx, http.MethodPost, jobsV1+"/jobs/", nil, j, &out)
	return &out, err
}

// GetJob reads a job.
func (c *Client) GetJob(ctx context.Context, id string) (*Job, error) {
	var out Job
	err := c.Do(ctx, http.MethodGet, jobsV1+"/jobs/"+esc(id)+"/", nil, nil, &out)
	return &out, err
}

// UpdateJob patches a job; mergeMetadata merges body["metadata"] into the job's.
func (c *Client) UpdateJob(ctx context.Context, id string, body map[string]any, mergeMetadata bool) (*Job, error) {
	q := url.Values{}
	if mergeMetadata {
		q.Set("merge_metadata", "true")
	}
	var out Job
	err := c.Do(ctx, http.MethodPatch, jobsV1+"/jobs/"+esc(id)+"/", q, body, &out)
	return &out, err
}

// EachJob lists jobs newest first; filter holds list filters (type,
// status, object_type, object_id, custom_type...). maxPages bounds the scan.
func (c *Client) EachJob(ctx context.Context, filter url.Values, maxPages int, fn func(Job) bool) error {
	seen := 0
	_, err := EachPage(ctx, c, jobsV1+"/jobs/", filter, 100, func(j Job) bool {
		seen++
		if maxPages > 0 && seen > maxPages*100 {
			return false
		}
		return fn(j)
	})
	return err
}

// ---- notifications ----

// Webhooks lists the webhook definitions.
func (c *Client) Webhooks(ctx context.Context) ([]Webhook, error) {
	var out struct {
		Objects []Webhook `json:"objects"`
	}
	err := c.Do(ctx, http.MethodGet, notifyV1+"/webhooks/", nil, nil, &out)
	return out.Objects, err
}

// CreateWebhook defines a webhook.
func (c *Client) CreateWebhook(ctx context.Context, w *Webhook) (*Webhook, error) {
	var out Webhook
	err := c.Do(ctx, http.MethodPost, notifyV1+"/webhooks/", nil, w, &out)
	return &out, err
}

// UpdateWebhook replaces a webhook definition (iconik has no PATCH here).
func (c *Client) UpdateWebhook(ctx context.Context, w *Webhook) (*Webhook, error) {
	if w.ID == "" {
		return nil, fmt.Errorf("iconik: updating a webhook without an id")
	}
	var out Webhook
	err := c.Do(ctx, http.MethodPut, notifyV1+"/webhooks/"+esc(w.ID)+"/", nil, w, &out)
	return &out, err
}

// DeleteWebhook removes a webhook definition.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, notifyV1+"/webhooks/"+esc(id)+"/", nil, nil, nil)
}
