package iconikapi

import (
	"context"
	"net/http"
	"net/url"
)

// Service prefixes below /API.
const (
	assetsV1   = "/assets/v1"
	metadataV1 = "/metadata/v1"
	filesV1    = "/files/v1"
	searchV1   = "/search/v1"
	jobsV1     = "/jobs/v1"
	notifyV1   = "/notifications/v1"
	usersV1    = "/users/v1"
	authV1     = "/auth/v1"
)

// ---- assets ----

// GetAsset reads an asset; includeCollections fills InCollections.
func (c *Client) GetAsset(ctx context.Context, id string, includeCollections bool) (*Asset, error) {
	q := url.Values{}
	if includeCollections {
		q.Set("include_collections", "true")
	}
	var a Asset
	err := c.Do(ctx, http.MethodGet, assetsV1+"/assets/"+esc(id)+"/", q, nil, &a)
	return &a, err
}

// CreateAsset creates an asset from body (title required); a collection_id in
// body with assignToCollection adds it to that collection.
func (c *Client) CreateAsset(ctx context.Context, body map[string]any, assignToCollection bool) (*Asset, error) {
	q := url.Values{}
	if assignToCollection {
		q.Set("assign_to_collection", "true")
	}
	var a Asset
	err := c.Do(ctx, http.MethodPost, assetsV1+"/assets/", q, body, &a)
	return &a, err
}

// UpdateAsset patches an asset's fields.
func (c *Client) UpdateAsset(ctx context.Context, id string, fields map[string]any) (*Asset, error) {
	var a Asset
	err := c.Do(ctx, http.MethodPatch, assetsV1+"/assets/"+esc(id)+"/", nil, fields, &a)
	return &a, err
}

// DeleteAsset soft-deletes an asset (it goes to the delete queue).
func (c *Client) DeleteAsset(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, assetsV1+"/assets/"+esc(id)+"/", nil, nil, nil)
}

// RestoreAsset restores a soft-deleted asset.
func (c *Client) RestoreAsset(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodPut, assetsV1+"/assets/"+esc(id)+"/restore/", nil, nil, nil)
}

// PurgeAsset deletes an asset for good.
func (c *Client) PurgeAsset(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, assetsV1+"/assets/"+esc(id)+"/purge/", nil, nil, nil)
}

// EachAsset lists assets page by page (newest first unless sort says otherwise).
func (c *Client) EachAsset(ctx context.Context, sort string, perPage int, fn func(Asset) bool) (int, error) {
	q := url.Values{}
	if sort != "" {
		q.Set("sort", sort)
	}
	return EachPage(ctx, c, assetsV1+"/assets/", q, perPage, fn)
}

// EachHistory lists an asset's history entries, newest first; filter uses
// iconik's "field,eq,value;..." syntax.
func (c *Client) EachHistory(ctx context.Context, assetID, filter string, fn func(HistoryEntry) bool) error {
	q := url.Values{}
	if filter != "" {
		q.Set("filter", filter)
	}
	_, err := EachPage(ctx, c, assetsV1+"/assets/"+esc(assetID)+"/history/", q, 100, fn)
	return err
}

// AddHistory adds a history entry to an asset.
func (c *Client) AddHistory(ctx context.Context, assetID, operationType, description, jobID string) (*HistoryEntry, error) {
	body := map[string]any{"operation_type": operationType}
	if description != "" {
		body["operation_description"] = description
	}
	if jobID != "" {
		body["job_id"] = jobID
	}
	var h HistoryEntry
	err := c.Do(ctx, http.MethodPost, assetsV1+"/assets/"+esc(assetID)+"/history/", nil, body, &h)
	return &h, err
}

// ---- segments ----

// EachSegment lists an asset's segments of one version ("" = current) and
// type ("" = all).
func (c *Client) EachSegment(ctx context.Context, assetID, versionID, segmentType string, fn func(Segment) bool) error {
	q := url.Values{}
	if versionID != "" {
		q.Set("version_id", versionID)
	}
	if segmentType != "" {
		q.Set("segment_type", segmentType)
	}
	_, err := EachPage(ctx, c, assetsV1+"/assets/"+esc(assetID)+"/segments/", q, 100, fn)
	return err
}

// EachSegmentAll lists an asset's segments of every version (type "" = all).
func (c *Client) EachSegmentAll(ctx context.Context, assetID, segmentType string, fn func(Segment) bool) error {
	q := url.Values{"include_all_versions": {"true"}}
	if segmentType != "" {
		q.Set("segment_type", segmentType)
	}
	_, err := EachPage(ctx, c, assetsV1+"/assets/"+esc(assetID)+"/segments/", q, 100, fn)
	return err
}

// CreateSegment adds a segment (a comment, marker...) to an asset.
func (c *Client) CreateSegment(ctx context.Context, assetID string, s *Segment) (*Segment, error) {
	var out Segment
	err := c.Do(ctx, http.MethodPost, assetsV1+"/assets/"+esc(assetID)+"/segments/", nil, s, &out)
	return &out, err
}

// ---- approvals ----

func objectPath(objectType, id string) string {
	return assetsV1 + "/" + esc(objectType) + "/" + esc(id)
}

// GetApprovalRequest reads the approval request of an object version
// (versionID "" = the current one).
func (c *Client) GetApprovalRequest(ctx context.Context, objectType, id, versionID string) (*Approval, error) {
	p := objectPath(objectType, id)
	if versionID != "" {
		p += "/versions/" + esc(versionID)
	}
	var ap Approval
	err := c.Do(ctx, http.MethodGet, p+"/approvals/request/", nil, nil, &ap)
	return &ap, err
}

// ListDecisions lists the reviewers' decisions on an object version.
func (c *Client) ListDecisions(ctx context.Context, objectType, id, versionID string) ([]ApprovalBy, error) {
	p := objectPath(objectType, id)
	if versionID != "" {
		p += "/versions/" + esc(versionID)
	}
	var out []ApprovalBy
	_, err := EachPage(ctx, c, p+"/approvals/", nil, 100, func(d ApprovalBy) bool { out = append(out, d); return true })
	return out, err
}

// RequestApproval creates (or renews) the approval request on the current version.
func (c *Client) RequestApproval(ctx context.Context, objectType, id string, body map[string]any) (*Approval, error) {
	var ap Approval
	err := c.Do(ctx, http.MethodPost, objectPath(objectType, id)+"/approvals/request/", nil, body, &ap)
	return &ap, err
}

// SetApproval records a decision (status, and user or external) on the current version.
func (c *Client) SetApproval(ctx context.Context, objectType, id string, d ApprovalBy) (*ApprovalBy, error) {
	var out ApprovalBy
	err := c.Do(ctx, http.MethodPut, objectPath(objectType, id)+"/approvals/", nil, d, &out)
	return &out, err
}

// ---- shares ----

// ListShares lists the shares of an object.
func (c *Client) ListShares(ctx context.Context, objectType, id string) ([]Share, error) {
	var out struct {
		Objects []Share `json:"objects"`
	}
	err := c.Do(ctx, http.MethodGet, objectPath(objectType, id)+"/shares/", nil, nil, &out)
	return out.Objects, err
}

// GetShare reads one share (with its url).
func (c *Client) GetShare(ctx context.Context, objectType, id, shareID string) (*Share, error) {
	var sh Share
	err := c.Do(ctx, http.MethodGet, objectPath(objectType, id)+"/shares/"+esc(shareID)+"/", nil, nil, &sh)
	return &sh, err
}

// CreateShare creates a share: a link returned in the answer when
// r.Emails is empty, else a share iconik e-mails to the recipients.
func (c *Client) CreateShare(ctx context.Context, objectType, id string, r *ShareRequest) (*Share, error) {
	p := objectPath(objectType, id) + "/shares/"
	if len(r.Emails) == 0 {
		p += "url/"
	}
	var sh Share
	err := c.Do(ctx, http.MethodPost, p, nil, r, &sh)
	return &sh, err
}

// DeleteShare deletes a share.
func (c *Client) DeleteShare(ctx context.Context, objectType, id, shareID string) error {
	return c.Do(ctx, http.MethodDelete, objectPath(objectType, id)+"/shares/"+esc(shareID)+"/", nil, nil, nil)
}

// ---- collections ----

// GetCollection reads a collection.
func (c *Client) GetCollection(ctx context.Context, id string) (*Collection, error) {
	var col Collection
	err := c.Do(ctx, http.MethodGet, assetsV1+"/collections/"+esc(id)+"/", nil, nil, &col)
	return &col, err
}

// CreateCollection creates a collection (under body["parent_id"] when set).
func (c *Client) CreateCollection(ctx context.Context, body map[string]any) (*Collection, error) {
	var col Collection
	err := c.Do(ctx, http.MethodPost, assetsV1+"/collections/", nil, body, &col)
	return &col, err
}

// UpdateCollection patches a collection.
func (c *Client) UpdateCollection(ctx context.Context, id string, fields map[string]any) (*Collection, error) {
	var col Collection
	err := c.Do(ctx, http.MethodPatch, assetsV1+"/collections/"+esc(id)+"/", nil, fields, &col)
	return &col, err
}

// EachRootCollection lists the root collections.
func (c *Client) EachRootCollection(ctx context.Context, fn func(Collection) bool) error {
	q := url.Values{"is_root": {"true"}}
	_, err := EachPage(ctx, c, assetsV1+"/collections/", q, 100, fn)
	return err
}

// ContentItem is one member of a collection as listed (an asset or
// collection document with its object_type).
type ContentItem struct {
	ID         string  `json:"id"`
	Title      string  `json:"title"`
	ObjectType string  `json:"object_type"`
	ExternalID *string `json:"external_id,omitempty"`
	Status     string  `json:"status,omitempty"`
}

// EachContent lists a collection's members; objectTypes and objectIDs
// (comma-separated) filter them.
func (c *Client) EachContent(ctx context.Context, collectionID, objectTypes, objectIDs string, fn func(ContentItem) bool) error {
	q := url.Values{}
	if objectTypes != "" {
		q.Set("object_types", objectTypes)
	}
	if objectIDs != "" {
		q.Set("object_ids", objectIDs)
	}
	_, err := EachPage(ctx, c, assetsV1+"/collections/"+esc(collectionID)+"/contents/", q, 100, fn)
	return err
}

// AddContent adds an object (assets or collections) to a collection.
func (c *Client) AddContent(ctx context.Context, collectionID, objectType, objectID string) error {
	body := map[string]any{"object_id": objectID, "object_type": objectType}
	return c.Do(ctx, http.MethodPost, assetsV1+"/collections/"+esc(collectionID)+"/contents/", nil, body, nil)
}

// RemoveContent removes an object from a collection.
func (c *Client) RemoveContent(ctx context.Context, collectionID, objectType, objectID string) error {
	return c.Do(ctx, http.MethodDelete, assetsV1+"/collections/"+esc(collectionID)+"/contents/"+esc(objectType)+"/"+esc(objectID)+"/", nil, nil, nil)
}

// ---- custom actions ----

// ListCustomActions lists the custom actions of a context ("" = all).
func (c *Client) ListCustomActions(ctx context.Context, context string) ([]CustomAction, error) {
	p := assetsV1 + "/custom_actions/"
	if context != "" {
		p += esc(context) + "/"
	}
	var out struct {
		Objects []CustomAction `json:"objects"`
	}
	err := c.Do(ctx, http.MethodGet, p, nil, nil, &out)
	return out.Objects, err
}

// CreateCustomAction defines a custom action in a context.
func (c *Client) CreateCustomAction(ctx context.Context, a *CustomAction) (*CustomAction, error) {
	var out CustomAction
	err := c.Do(ctx, http.MethodPost, assetsV1+"/custom_actions/"+esc(a.Context)+"/", nil, a, &out)
	return &out, err
}

// UpdateCustomAction replaces a custom action.
func (c *Client) UpdateCustomAction(ctx context.Context, a *CustomAction) (*CustomAction, error) {
	var out CustomAction
	err := c.Do(ctx, http.MethodPut, assetsV1+"/custom_actions/"+esc(a.Context)+"/"+esc(a.ID)+"/", nil, a, &out)
	return &out, err
}
