package iconikapi

import "encoding/json"

// Asset is an asset (AssetSchema; search documents add metadata, media
// and collection fields).
type Asset struct {
	ID            string    `json:"id"`
	Title         string    `json:"title"`
	Type          string    `json:"type,omitempty"`
	Status        string    `json:"status,omitempty"`
	ExternalID    *string   `json:"external_id,omitempty"`
	ExternalLink  *string   `json:"external_link,omitempty"`
	Category      *string   `json:"category,omitempty"`
	SiteName      *string   `json:"site_name,omitempty"`
	Warning       *string   `json:"warning,omitempty"`
	ArchiveStatus string    `json:"archive_status,omitempty"`
	IsBlocked     bool      `json:"is_blocked"`
	IsOnline      bool      `json:"is_online"`
	CreatedByUser string    `json:"created_by_user,omitempty"`
	UpdatedByUser string    `json:"updated_by_user,omitempty"`
	DateCreated   string    `json:"date_created,omitempty"`
	DateModified  string    `json:"date_modified,omitempty"`
	DateDeleted   string    `json:"date_deleted,omitempty"`
	InCollections []string  `json:"in_collections,omitempty"`
	Versions      []Version `json:"versions,omitempty"`

	// Search documents only.
	ObjectType   string           `json:"object_type,omitempty"`
	Metadata     map[string][]any `json:"metadata,omitempty"`
	MediaType    *string          `json:"media_type,omitempty"`
	DurationMS   *int64           `json:"duration_milliseconds,omitempty"`
	Proxies      []Proxy          `json:"proxies,omitempty"`
	Keyframes    []Keyframe       `json:"keyframes,omitempty"`
	ParentID     *string          `json:"parent_id,omitempty"` // collections in search results
	Sort         []any            `json:"_sort,omitempty"`
	VersionCount int              `json:"versions_number,omitempty"`
}

// CurrentVersion returns the current (last not deleted) version, or nil.
func (a *Asset) CurrentVersion() *Version {
	for i := len(a.Versions) - 1; i >= 0; i-- {
		if a.Versions[i].Status != "DELETED" {
			return &a.Versions[i]
		}
	}
	if n := len(a.Versions); n > 0 {
		return &a.Versions[n-1]
	}
	return nil
}

// CurrentVersionID returns the current version's id or "".
func (a *Asset) CurrentVersionID() string {
	if v := a.CurrentVersion(); v != nil {
		return v.ID
	}
	return ""
}

// Version is one version of an asset.
type Version struct {
	ID            string `json:"id"`
	AssetID       string `json:"asset_id,omitempty"` // in versions-realm events
	VersionNumber int    `json:"version_number"`
	Status        string `json:"status,omitempty"`
	ArchiveStatus string `json:"archive_status,omitempty"`
	CreatedByUser string `json:"created_by_user,omitempty"`
	DateCreated   string `json:"date_created,omitempty"`
}

// Collection is a collection.
type Collection struct {
	ID           string   `json:"id"`
	Title        string   `json:"title"`
	ParentID     *string  `json:"parent_id,omitempty"`
	Parents      []string `json:"parents,omitempty"`
	ExternalID   *string  `json:"external_id,omitempty"`
	Category     *string  `json:"category,omitempty"`
	IsRoot       bool     `json:"is_root"`
	Status       string   `json:"status,omitempty"`
	ObjectType   string   `json:"object_type,omitempty"`
	DateCreated  string   `json:"date_created,omitempty"`
	DateModified string   `json:"date_modified,omitempty"`
}

// ContentEvent is the data of a collections/contents event.
type ContentEvent struct {
	CollectionID string   `json:"collection_id"`
	ObjectID     string   `json:"object_id"`
	ObjectType   string   `json:"object_type"`
	DateCreated  string   `json:"date_created,omitempty"`
	Parents      []string `json:"parents,omitempty"`
}

// FieldValue is one value of a metadata field.
type FieldValue struct {
	Value any `json:"value"`
}

// FieldValues is one field of a metadata envelope. Mode (write only) is
// overwrite (default), append or delete.
type FieldValues struct {
	FieldValues []FieldValue `json:"field_values"`
	Mode        string       `json:"mode,omitempty"`
}

// MetadataValues is the metadata envelope of an object (MetadataValuesSchema).
type MetadataValues struct {
	ObjectID       string                 `json:"object_id,omitempty"`
	ObjectType     string                 `json:"object_type,omitempty"`
	VersionID      string                 `json:"version_id,omitempty"`
	MetadataViewID string                 `json:"metadata_view_id,omitempty"`
	DateCreated    string                 `json:"date_created,omitempty"`
	DateModified   string                 `json:"date_modified,omitempty"`
	MetadataValues map[string]FieldValues `json:"metadata_values"`
}

// Lists returns the values as plain lists per field.
func (m *MetadataValues) Lists() map[string][]any {
	out := make(map[string][]any, len(m.MetadataValues))
	for k, fv := range m.MetadataValues {
		vals := make([]any, 0, len(fv.FieldValues))
		for _, v := range fv.FieldValues {
			if v.Value != nil {
				vals = append(vals, v.Value)
			}
		}
		out[k] = vals
	}
	return out
}

// Envelope builds a write body from plain lists (mode overwrite).
func Envelope(values map[string][]any) *MetadataValues {
	m := &MetadataValues{MetadataValues: make(map[string]FieldValues, len(values))}
	for k, vals := range values {
		fv := FieldValues{FieldValues: make([]FieldValue, 0, len(vals))}
		for _, v := range vals {
			fv.FieldValues = append(fv.FieldValues, FieldValue{Value: v})
		}
		m.MetadataValues[k] = fv
	}
	return m
}

// FieldOption is one choice of a drop-down field.
type FieldOption struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Field is a metadata field definition.
type Field struct {
	Name        string        `json:"name"`
	Label       string        `json:"label"`
	FieldType   string        `json:"field_type,omitempty"`
	Description string        `json:"description,omitempty"`
	Multi       bool          `json:"multi"`
	Options     []FieldOption `json:"options,omitempty"`
	Required    *bool         `json:"required,omitempty"`
	ReadOnly    *bool         `json:"read_only,omitempty"`
}

// View is a metadata view.
type View struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Description *string `json:"description,omitempty"`
	ViewFields  []Field `json:"view_fields"`
}

// Approval is an approval request and its overall status for one version.
type Approval struct {
	ObjectID       string       `json:"object_id"`
	ObjectType     string       `json:"object_type"`
	VersionID      string       `json:"version_id,omitempty"`
	Status         string       `json:"status"`
	RequestedBy    string       `json:"requested_by,omitempty"`
	RequestDate    string       `json:"request_date,omitempty"`
	ChangeDate     string       `json:"change_date,omitempty"`
	Users          []string     `json:"users"`
	Groups         []string     `json:"groups"`
	Externals      []string     `json:"externals"`
	MinNumber      int          `json:"min_number,omitempty"`
	ApprovalsBy    []ApprovalBy `json:"approvals_by,omitempty"`
	PreviousStatus string       `json:"previous_status,omitempty"` // events only
	ApprovalBy     *ApprovalBy  `json:"approval_by,omitempty"`     // events only
}

// ApprovalBy is one reviewer's decision.
type ApprovalBy struct {
	Status     string `json:"status"`
	User       string `json:"user,omitempty"`
	External   string `json:"external,omitempty"`
	ChangeDate string `json:"change_date,omitempty"`
	VersionID  string `json:"version_id,omitempty"`
}

// Segment is a time-coded segment (comment, marker...).
type Segment struct {
	ID             string  `json:"id,omitempty"`
	AssetID        string  `json:"asset_id,omitempty"`
	SegmentType    string  `json:"segment_type"`
	SegmentText    *string `json:"segment_text,omitempty"`
	TimeStartMS    *int64  `json:"time_start_milliseconds,omitempty"`
	TimeEndMS      *int64  `json:"time_end_milliseconds,omitempty"`
	VersionID      string  `json:"version_id,omitempty"`
	ParentID       string  `json:"parent_id,omitempty"`
	ExternalID     *string `json:"external_id,omitempty"`
	Status         string  `json:"status,omitempty"`
	UserID         string  `json:"user_id,omitempty"`
	SegmentChecked bool    `json:"segment_checked,omitempty"`
	DateCreated    string  `json:"date_created,omitempty"`
	DateModified   string  `json:"date_modified,omitempty"`
}

// Share is a share (review link).
type Share struct {
	ID                        string  `json:"id,omitempty"`
	ObjectID                  string  `json:"object_id,omitempty"`
	ObjectType                string  `json:"object_type,omitempty"`
	OwnerID                   string  `json:"owner_id,omitempty"`
	Title                     *string `json:"title,omitempty"`
	Message                   *string `json:"message,omitempty"`
	Expires                   string  `json:"expires,omitempty"`
	AllowApprovingComments    bool    `json:"allow_approving_comments"`
	AllowComments             bool    `json:"allow_comments"`
	AllowDownload             bool    `json:"allow_download"`
	AllowSettingApproveStatus bool    `json:"allow_setting_approve_status"`
	URL                       *string `json:"url,omitempty"`
	DateCreated               string  `json:"date_created,omitempty"`
}

// ShareRequest is the body of a share creation.
type ShareRequest struct {
	AllowApprovingComments    bool     `json:"allow_approving_comments"`
	AllowComments             bool     `json:"allow_comments"`
	AllowDownload             bool     `json:"allow_download"`
	AllowSettingApproveStatus bool     `json:"allow_setting_approve_status"`
	Title                     string   `json:"title,omitempty"`
	Message                   string   `json:"message,omitempty"`
	Expires                   string   `json:"expires,omitempty"`
	Password                  string   `json:"password,omitempty"`
	Emails                    []string `json:"emails,omitempty"`
}

// HistoryEntry is one asset history record.
type HistoryEntry struct {
	ID                   string  `json:"id"`
	AssetID              string  `json:"asset_id,omitempty"`
	VersionID            string  `json:"version_id,omitempty"`
	OperationType        string  `json:"operation_type"`
	OperationDescription *string `json:"operation_description,omitempty"`
	JobID                *string `json:"job_id,omitempty"`
	UserID               string  `json:"user_id,omitempty"`
	DateCreated          string  `json:"date_created,omitempty"`
}

// Resolution is a width and height in pixels.
type Resolution struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

// Proxy is a playable rendition.
type Proxy struct {
	ID         string     `json:"id"`
	AssetID    string     `json:"asset_id,omitempty"`
	VersionID  *string    `json:"version_id,omitempty"`
	Name       string     `json:"name,omitempty"`
	Filename   string     `json:"filename,omitempty"`
	Format     string     `json:"format,omitempty"`
	Codec      string     `json:"codec,omitempty"`
	Resolution Resolution `json:"resolution"`
	Status     string     `json:"status,omitempty"`
	IsPublic   bool       `json:"is_public,omitempty"`
	URL        string     `json:"url,omitempty"`
}

// Keyframe is a still image of a version.
type Keyframe struct {
	ID         string     `json:"id"`
	AssetID    *string    `json:"asset_id,omitempty"`
	VersionID  *string    `json:"version_id,omitempty"`
	Type       string     `json:"type,omitempty"`
	Name       string     `json:"name,omitempty"`
	Filename   string     `json:"filename,omitempty"`
	Resolution Resolution `json:"resolution"`
	Status     string     `json:"status,omitempty"`
	URL        string     `json:"url,omitempty"`
}

// File is one stored file.
type File struct {
	ID           string `json:"id"`
	AssetID      string `json:"asset_id,omitempty"`
	VersionID    string `json:"version_id,omitempty"`
	FormatID     string `json:"format_id,omitempty"`
	OriginalName string `json:"original_name,omitempty"`
	Name         string `json:"name,omitempty"`
	Size         int64  `json:"size"`
	Status       string `json:"status,omitempty"`
	Type         string `json:"type,omitempty"`
	URL          string `json:"url,omitempty"`
}

// Format is an asset format (ORIGINAL...).
type Format struct {
	ID            string `json:"id"`
	AssetID       string `json:"asset_id,omitempty"`
	VersionID     string `json:"version_id,omitempty"`
	Name          string `json:"name"`
	Status        string `json:"status,omitempty"`
	ArchiveStatus string `json:"archive_status,omitempty"`
}

// Job is a job.
type Job struct {
	ID                string          `json:"id,omitempty"`
	Title             string          `json:"title,omitempty"`
	Type              string          `json:"type,omitempty"`
	Status            string          `json:"status,omitempty"`
	CustomType        *string         `json:"custom_type,omitempty"`
	ObjectType        *string         `json:"object_type,omitempty"`
	ObjectID          *string         `json:"object_id,omitempty"`
	Message           string          `json:"message,omitempty"`
	ErrorMessage      string          `json:"error_message,omitempty"`
	Metadata          map[string]any  `json:"metadata,omitempty"`
	RelatedObjects    []RelatedObject `json:"related_objects,omitempty"`
	ProgressProcessed int64           `json:"progress_processed,omitempty"`
	ProgressTotal     int64           `json:"progress_total,omitempty"`
	Progress          int             `json:"progress,omitempty"`
	CreatedBy         string          `json:"created_by,omitempty"`
	DateCreated       string          `json:"date_created,omitempty"`
	DateModified      string          `json:"date_modified,omitempty"`
}

// RelatedObject ties a job to another object.
type RelatedObject struct {
	ObjectType string `json:"object_type"`
	ObjectID   string `json:"object_id"`
}

// Webhook is a webhook definition (notifications service).
type Webhook struct {
	ID            string            `json:"id,omitempty"`
	Name          string            `json:"name,omitempty"`
	Description   string            `json:"description,omitempty"`
	URL           string            `json:"url"`
	EventType     string            `json:"event_type"`
	Realm         *string           `json:"realm"`
	Operation     *string           `json:"operation"`
	ObjectID      *string           `json:"object_id,omitempty"`
	Query         string            `json:"query,omitempty"`
	Headers       map[string]string `json:"headers,omitempty"`
	Status        string            `json:"status"`
	LastError     string            `json:"last_error,omitempty"`
	FirstFailedAt string            `json:"first_failed_at,omitempty"`
}

// CustomAction is a custom action definition.
type CustomAction struct {
	ID       string            `json:"id,omitempty"`
	Title    string            `json:"title"`
	URL      string            `json:"url"`
	Context  string            `json:"context,omitempty"`
	Type     string            `json:"type,omitempty"`
	AppID    *string           `json:"app_id,omitempty"`
	Headers  map[string]string `json:"headers,omitempty"`
	Disabled bool              `json:"disabled"`
	Status   string            `json:"status,omitempty"`
}

// User is an iconik user.
type User struct {
	ID             string `json:"id"`
	Email          string `json:"email"`
	FirstName      string `json:"first_name"`
	LastName       string `json:"last_name"`
	SystemDomainID string `json:"system_domain_id,omitempty"`
}

// Event is the body of one webhook delivery.
type Event struct {
	SystemDomainID string          `json:"system_domain_id"`
	EventType      string          `json:"event_type"`
	ObjectID       string          `json:"object_id"`
	UserID         string          `json:"user_id"`
	Realm          string          `json:"realm"`
	Operation      string          `json:"operation"`
	Data           json.RawMessage `json:"data"`
	RequestID      string          `json:"request_id"`
}

// CustomActionPayload is what iconik posts when a user runs a custom action.
type CustomActionPayload struct {
	UserID         string          `json:"user_id"`
	SystemDomainID string          `json:"system_domain_id"`
	Context        string          `json:"context"`
	ActionID       string          `json:"action_id"`
	AssetIDs       []string        `json:"asset_ids"`
	CollectionIDs  []string        `json:"collection_ids"`
	SavedSearchIDs []string        `json:"saved_search_ids"`
	MetadataViewID *string         `json:"metadata_view_id"`
	MetadataValues json.RawMessage `json:"metadata_values"`
	DateCreated    string          `json:"date_created"`
	AuthToken      string          `json:"auth_token"`
}

// SearchRequest is the body of POST /search/v1/search/.
type SearchRequest struct {
	DocTypes       []string      `json:"doc_types,omitempty"`
	Query          string        `json:"query,omitempty"`
	Filter         *SearchFilter `json:"filter,omitempty"`
	Sort           []SortKey     `json:"sort,omitempty"`
	IncludeFields  []string      `json:"include_fields,omitempty"`
	MetadataViewID string        `json:"metadata_view_id,omitempty"`
	SearchAfter    []any         `json:"search_after,omitempty"`
}

// SearchFilter combines terms and nested filters with AND or OR.
type SearchFilter struct {
	Operator string         `json:"operator"`
	Terms    []SearchTerm   `json:"terms,omitempty"`
	Filters  []SearchFilter `json:"filters,omitempty"`
}

// SearchTerm matches one field.
type SearchTerm struct {
	Name    string       `json:"name"`
	Value   *string      `json:"value,omitempty"`
	ValueIn []string     `json:"value_in,omitempty"`
	Range   *SearchRange `json:"range,omitempty"`
	Exists  *bool        `json:"exists,omitempty"`
	Missing *bool        `json:"missing,omitempty"`
}

// SearchRange bounds a field (dates as ISO 8601).
type SearchRange struct {
	Min string `json:"min,omitempty"`
	Max string `json:"max,omitempty"`
}

// SortKey orders search results.
type SortKey struct {
	Name  string `json:"name"`
	Order string `json:"order,omitempty"`
}
