package iconik

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"time"
)

// Asset is an asset as iconik's AssetSchema shows it.
type Asset struct {
	ID                     string    `json:"id"`
	Title                  string    `json:"title"`
	Type                   string    `json:"type"`
	Status                 string    `json:"status"`
	ExternalID             *string   `json:"external_id"`
	ExternalLink           *string   `json:"external_link"`
	Category               *string   `json:"category"`
	SiteName               *string   `json:"site_name"`
	Warning                *string   `json:"warning"`
	AnalyzeStatus          string    `json:"analyze_status"`
	ArchiveStatus          string    `json:"archive_status"`
	FaceRecognitionStatus  string    `json:"face_recognition_status"`
	IsBlocked              bool      `json:"is_blocked"`
	IsOnline               bool      `json:"is_online"`
	Favoured               bool      `json:"favoured"`
	HasUnconfirmedPersons  bool      `json:"has_unconfirmed_persons"`
	CustomKeyframe         *string   `json:"custom_keyframe"`
	CustomPoster           *string   `json:"custom_poster"`
	PersonIDs              []string  `json:"person_ids"`
	CreatedByUser          string    `json:"created_by_user,omitempty"`
	UpdatedByUser          string    `json:"updated_by_user,omitempty"`
	DeletedByUser          string    `json:"deleted_by_user,omitempty"`
	DateCreated            string    `json:"date_created"`
	DateModified           string    `json:"date_modified"`
	DateImported           string    `json:"date_imported,omitempty"`
	DateDeleted            string    `json:"date_deleted,omitempty"`
	LastArchiveRestoreDate string    `json:"last_archive_restore_date,omitempty"`
	OriginalAssetID        string    `json:"original_asset_id,omitempty"`
	OriginalVersionID      string    `json:"original_version_id,omitempty"`
	OriginalSegmentID      string    `json:"original_segment_id,omitempty"`
	TimeStartMS            *int64    `json:"time_start_milliseconds,omitempty"`
	TimeEndMS              *int64    `json:"time_end_milliseconds,omitempty"`
	InCollections          *[]string `json:"in_collections,omitempty"`
	Versions               []Version `json:"versions"`
}

// Version is one entry of an asset's versions.
type Version struct {
	ID                    string `json:"id"`
	VersionNumber         int    `json:"version_number"`
	Status                string `json:"status"`
	AnalyzeStatus         string `json:"analyze_status"`
	ArchiveStatus         string `json:"archive_status"`
	FaceRecognitionStatus string `json:"face_recognition_status"`
	TranscribeStatus      string `json:"transcribe_status"`
	IsOnline              bool   `json:"is_online"`
	HasUnconfirmedPersons bool   `json:"has_unconfirmed_persons"`
	CreatedByUser         string `json:"created_by_user,omitempty"`
	DateCreated           string `json:"date_created"`
}

// Collection is a collection as iconik's CollectionSchema shows it.
type Collection struct {
	ID                string   `json:"id"`
	Title             string   `json:"title"`
	ParentID          *string  `json:"parent_id"`
	Parents           []string `json:"parents"`
	InCollections     []string `json:"in_collections"`
	ExternalID        *string  `json:"external_id"`
	Category          *string  `json:"category"`
	IsRoot            bool     `json:"is_root"`
	Status            string   `json:"status"`
	StorageID         *string  `json:"storage_id"`
	CustomKeyframe    *string  `json:"custom_keyframe"`
	CustomPoster      *string  `json:"custom_poster"`
	KeyframeAssetIDs  []string `json:"keyframe_asset_ids,omitempty"`
	CustomOrderStatus string   `json:"custom_order_status"`
	ObjectType        string   `json:"object_type"`
	Favoured          bool     `json:"favoured"`
	CreatedByUser     string   `json:"created_by_user,omitempty"`
	DeletedByUser     string   `json:"deleted_by_user,omitempty"`
	DateCreated       string   `json:"date_created"`
	DateModified      string   `json:"date_modified"`
	DateDeleted       string   `json:"date_deleted,omitempty"`
}

// ContentRef is one member of a collection.
type ContentRef struct {
	ObjectType  string `json:"object_type"`
	ObjectID    string `json:"object_id"`
	DateCreated string `json:"date_created"`
}

// Segment is a time-coded segment (comment, marker...) of an asset.
type Segment struct {
	ID             string  `json:"id"`
	AssetID        string  `json:"asset_id"`
	SegmentType    string  `json:"segment_type"`
	SegmentText    *string `json:"segment_text"`
	TimeStartMS    *int64  `json:"time_start_milliseconds"`
	TimeEndMS      *int64  `json:"time_end_milliseconds"`
	VersionID      string  `json:"version_id,omitempty"`
	ParentID       string  `json:"parent_id,omitempty"`
	Path           string  `json:"path,omitempty"`
	TopLevel       bool    `json:"top_level"`
	SegmentChecked bool    `json:"segment_checked"`
	SegmentColor   string  `json:"segment_color,omitempty"`
	SegmentTrack   *string `json:"segment_track"`
	Status         string  `json:"status"`
	UserID         string  `json:"user_id,omitempty"`
	UserFirstName  string  `json:"user_first_name,omitempty"`
	UserLastName   string  `json:"user_last_name,omitempty"`
	ExternalID     *string `json:"external_id"`
	ShareID        *string `json:"share_id"`
	ShareUserEmail *string `json:"share_user_email"`
	KeyframeID     *string `json:"keyframe_id"`
	MetadataViewID *string `json:"metadata_view_id"`
	HasDrawing     bool    `json:"has_drawing"`
	DateCreated    string  `json:"date_created"`
	DateModified   string  `json:"date_modified"`
}

// Share is a share (review link) as iconik's ShareSchema shows it.
type Share struct {
	ID                         string   `json:"id"`
	ObjectID                   string   `json:"object_id"`
	ObjectType                 string   `json:"object_type"`
	OwnerID                    string   `json:"owner_id"`
	SystemDomainID             string   `json:"system_domain_id"`
	Title                      *string  `json:"title"`
	Message                    *string  `json:"message"`
	Expires                    string   `json:"expires,omitempty"`
	HasPassword                bool     `json:"has_password"`
	IsApproval                 *bool    `json:"is_approval"`
	ShowWatermark              *bool    `json:"show_watermark"`
	AllowApprovingComments     bool     `json:"allow_approving_comments"`
	AllowComments              bool     `json:"allow_comments"`
	AllowCustomActions         bool     `json:"allow_custom_actions"`
	AllowDownload              bool     `json:"allow_download"`
	AllowDownloadProxy         bool     `json:"allow_download_proxy"`
	AllowSettingApproveStatus  bool     `json:"allow_setting_approve_status"`
	AllowUpload                bool     `json:"allow_upload"`
	AllowUserSearchForMentions bool     `json:"allow_user_search_for_mentions"`
	AllowViewTranscriptions    bool     `json:"allow_view_transcriptions"`
	AllowViewVersions          bool     `json:"allow_view_versions"`
	MetadataViews              []string `json:"metadata_views,omitempty"`
	UploadStorageID            *string  `json:"upload_storage_id"`
	URL                        *string  `json:"url"`
	DateCreated                string   `json:"date_created"`
}

// Approval is an approval request and its overall status for one object version.
type Approval struct {
	ObjectID    string       `json:"object_id"`
	ObjectType  string       `json:"object_type"`
	VersionID   string       `json:"version_id,omitempty"`
	Status      string       `json:"status"`
	UserStatus  *string      `json:"user_status"`
	RequestedBy string       `json:"requested_by,omitempty"`
	RequestDate string       `json:"request_date,omitempty"`
	ChangeDate  string       `json:"change_date,omitempty"`
	Users       []string     `json:"users"`
	Groups      []string     `json:"groups"`
	Externals   []string     `json:"externals"`
	MinNumber   int          `json:"min_number"`
	ShareID     *string      `json:"share_id"`
	ApprovalsBy []ApprovalBy `json:"approvals_by"`
}

// ApprovalBy is one reviewer's decision.
type ApprovalBy struct {
	Status     string `json:"status"`
	User       string `json:"user,omitempty"`
	External   string `json:"external,omitempty"`
	ChangeDate string `json:"change_date"`
	ObjectID   string `json:"object_id"`
	ObjectType string `json:"object_type"`
	VersionID  string `json:"version_id,omitempty"`
}

// HistoryEntry is one asset history record.
type HistoryEntry struct {
	ID                   string  `json:"id"`
	AssetID              string  `json:"asset_id"`
	VersionID            string  `json:"version_id,omitempty"`
	OperationType        string  `json:"operation_type"`
	OperationDescription *string `json:"operation_description"`
	JobID                *string `json:"job_id"`
	ShareID              *string `json:"share_id"`
	ShareUserID          *string `json:"share_user_id"`
	UserID               string  `json:"user_id,omitempty"`
	SystemDomainID       string  `json:"system_domain_id"`
	DateCreated          string  `json:"date_created"`
	DateModified         string  `json:"date_modified"`
}

// Field is a metadata field definition.
type Field struct {
	Name            string        `json:"name"`
	Label           string        `json:"label"`
	FieldType       string        `json:"field_type"`
	Description     string        `json:"description,omitempty"`
	Options         []FieldOption `json:"options,omitempty"`
	Multi           bool          `json:"multi"`
	Required        *bool         `json:"required"`
	ReadOnly        *bool         `json:"read_only"`
	AutoSet         *bool         `json:"auto_set"`
	HideIfNotSet    *bool         `json:"hide_if_not_set"`
	IsBlockField    bool          `json:"is_block_field"`
	IsWarningField  bool          `json:"is_warning_field"`
	Representative  bool          `json:"representative"`
	Sortable        bool          `json:"sortable"`
	UseAsFacet      bool          `json:"use_as_facet"`
	ExternalID      string        `json:"external_id,omitempty"`
	SourceURL       *string       `json:"source_url"`
	MinValue        *float64      `json:"min_value,omitempty"`
	MaxValue        *float64      `json:"max_value,omitempty"`
	DateCreated     string        `json:"date_created"`
	DateModified    string        `json:"date_modified"`
	MappedFieldName string        `json:"mapped_field_name,omitempty"`
}

// FieldOption is one choice of a drop-down field.
type FieldOption struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// View is a metadata view: a named, ordered set of fields.
type View struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Description  *string  `json:"description"`
	Fields       []string `json:"fields"`
	DateCreated  string   `json:"date_created"`
	DateModified string   `json:"date_modified"`
}

// metadataRecord holds the metadata values of one object (version).
type metadataRecord struct {
	ObjectType   string           `json:"object_type"`
	ObjectID     string           `json:"object_id"`
	VersionID    string           `json:"version_id,omitempty"`
	Values       map[string][]any `json:"values"`
	DateCreated  string           `json:"date_created"`
	DateModified string           `json:"date_modified"`
}

// Format is an asset format (ORIGINAL, proxies...).
type Format struct {
	ID             string              `json:"id"`
	AssetID        string              `json:"asset_id"`
	VersionID      string              `json:"version_id,omitempty"`
	Name           string              `json:"name"`
	Status         string              `json:"status"`
	ArchiveStatus  string              `json:"archive_status"`
	IsOnline       bool                `json:"is_online"`
	UserID         string              `json:"user_id,omitempty"`
	Metadata       []map[string]string `json:"metadata,omitempty"`
	StorageMethods []string            `json:"storage_methods,omitempty"`
	Warnings       []string            `json:"warnings,omitempty"`
	DateCreated    string              `json:"date_created"`
	DateModified   string              `json:"date_modified"`
	DateDeleted    string              `json:"date_deleted,omitempty"`
}

// FileSet is a set of files of one format on one storage.
type FileSet struct {
	ID                string   `json:"id"`
	AssetID           string   `json:"asset_id"`
	VersionID         string   `json:"version_id,omitempty"`
	FormatID          string   `json:"format_id"`
	StorageID         string   `json:"storage_id,omitempty"`
	OriginalStorageID string   `json:"original_storage_id,omitempty"`
	Name              string   `json:"name"`
	BaseDir           string   `json:"base_dir"`
	ComponentIDs      []string `json:"component_ids"`
	Status            string   `json:"status"`
	IsArchive         bool     `json:"is_archive"`
	FileCount         int      `json:"file_count"`
	DateCreated       string   `json:"date_created"`
	DateModified      string   `json:"date_modified"`
	DateDeleted       string   `json:"date_deleted,omitempty"`
}

// File is one file of a file set.
type File struct {
	ID               string  `json:"id"`
	AssetID          string  `json:"asset_id"`
	VersionID        string  `json:"version_id,omitempty"`
	FormatID         string  `json:"format_id,omitempty"`
	FileSetID        string  `json:"file_set_id"`
	StorageID        string  `json:"storage_id,omitempty"`
	StorageMethod    string  `json:"storage_method,omitempty"`
	SystemDomainID   string  `json:"system_domain_id,omitempty"`
	OriginalName     string  `json:"original_name"`
	Name             string  `json:"name,omitempty"`
	DirectoryPath    string  `json:"directory_path"`
	Size             int64   `json:"size"`
	Checksum         *string `json:"checksum"`
	Type             string  `json:"type"`
	Status           string  `json:"status"`
	UserID           *string `json:"user_id"`
	ParentID         *string `json:"parent_id"`
	FileDateCreated  string  `json:"file_date_created,omitempty"`
	FileDateModified string  `json:"file_date_modified,omitempty"`
	DateCreated      string  `json:"date_created"`
	DateModified     string  `json:"date_modified"`
	URL              string  `json:"url,omitempty"`
	UploadURL        string  `json:"upload_url,omitempty"`
	UploadMethod     string  `json:"upload_method,omitempty"`
}

// Resolution is a width and height in pixels.
type Resolution struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

// Proxy is a playable rendition of an asset version.
type Proxy struct {
	ID            string     `json:"id"`
	AssetID       string     `json:"asset_id"`
	VersionID     *string    `json:"version_id"`
	Name          string     `json:"name"`
	Filename      string     `json:"filename"`
	Format        string     `json:"format"`
	Codec         string     `json:"codec"`
	Resolution    Resolution `json:"resolution"`
	BitRate       int        `json:"bit_rate"`
	AudioBitrate  int        `json:"audio_bitrate"`
	FrameRate     *string    `json:"frame_rate"`
	IsDropFrame   *bool      `json:"is_drop_frame"`
	Rotation      *int       `json:"rotation"`
	Size          *int64     `json:"size"`
	StartTimeCode *string    `json:"start_time_code"`
	Status        string     `json:"status"`
	StorageID     string     `json:"storage_id,omitempty"`
	StorageMethod string     `json:"storage_method,omitempty"`
	IsPublic      bool       `json:"is_public"`
	URL           string     `json:"url,omitempty"`
	DateCreated   string     `json:"date_created"`
	DateModified  string     `json:"date_modified"`
}

// Keyframe is a still image of an asset version (or collection poster).
type Keyframe struct {
	ID               string     `json:"id"`
	AssetID          *string    `json:"asset_id"`
	CollectionID     *string    `json:"collection_id"`
	VersionID        *string    `json:"version_id"`
	Type             string     `json:"type"`
	Name             string     `json:"name"`
	Filename         string     `json:"filename"`
	Format           *string    `json:"format"`
	IsCustomKeyframe bool       `json:"is_custom_keyframe"`
	IsPublic         bool       `json:"is_public"`
	Resolution       Resolution `json:"resolution"`
	Rotation         *int       `json:"rotation"`
	Size             *int64     `json:"size"`
	Status           string     `json:"status"`
	StorageID        string     `json:"storage_id,omitempty"`
	StorageMethod    string     `json:"storage_method,omitempty"`
	TimeCode         *TimeCode  `json:"time_code,omitempty"`
	URL              string     `json:"url,omitempty"`
	DateCreated      string     `json:"date_created"`
	DateModified     string     `json:"date_modified"`
}

// TimeCode locates a keyframe in the media.
type TimeCode struct {
	FramesNumber int64    `json:"frames_number"`
	IsDropFrame  bool     `json:"is_drop_frame"`
	TimeBase     TimeBase `json:"time_base"`
}

// TimeBase is a frame rate as a fraction.
type TimeBase struct {
	Numerator   int `json:"numerator"`
	Denominator int `json:"denominator"`
}

// Storage is a storage location.
type Storage struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Method   string         `json:"method"`
	Purpose  string         `json:"purpose"`
	Status   string         `json:"status"`
	Default  bool           `json:"default"`
	Settings map[string]any `json:"settings"`
}

// Job is a job (transcode, archive, custom...) as iconik's JobSchema shows it.
type Job struct {
	ID                string          `json:"id"`
	Title             string          `json:"title"`
	Type              string          `json:"type"`
	Status            string          `json:"status"`
	CustomType        *string         `json:"custom_type"`
	ObjectType        *string         `json:"object_type"`
	ObjectID          *string         `json:"object_id"`
	ParentID          *string         `json:"parent_id"`
	HasChildren       bool            `json:"has_children"`
	Message           string          `json:"message,omitempty"`
	ErrorMessage      string          `json:"error_message,omitempty"`
	Metadata          map[string]any  `json:"metadata,omitempty"`
	JobContext        map[string]any  `json:"job_context,omitempty"`
	ActionContext     map[string]any  `json:"action_context,omitempty"`
	RelatedObjects    []RelatedObject `json:"related_objects,omitempty"`
	ProgressProcessed int64           `json:"progress_processed"`
	ProgressTotal     int64           `json:"progress_total"`
	Progress          int             `json:"progress"`
	Priority          int             `json:"priority"`
	Steps             []JobStep       `json:"steps,omitempty"`
	CreatedBy         string          `json:"created_by,omitempty"`
	StartedAt         string          `json:"started_at,omitempty"`
	CompletedAt       string          `json:"completed_at,omitempty"`
	DateCreated       string          `json:"date_created"`
	DateModified      string          `json:"date_modified"`
}

// RelatedObject links a job to another object.
type RelatedObject struct {
	ObjectType string `json:"object_type"`
	ObjectID   string `json:"object_id"`
}

// JobStep is one step of a job.
type JobStep struct {
	ID           string  `json:"id,omitempty"`
	Label        string  `json:"label"`
	Status       string  `json:"status"`
	Message      *string `json:"message"`
	ErrorMessage *string `json:"error_message"`
	DateUpdated  string  `json:"date_updated,omitempty"`
}

// Webhook is a webhook definition (notifications service).
type Webhook struct {
	ID            string            `json:"id"`
	Name          string            `json:"name,omitempty"`
	Description   string            `json:"description,omitempty"`
	URL           string            `json:"url"`
	EventType     string            `json:"event_type"`
	Realm         *string           `json:"realm"`
	Operation     *string           `json:"operation"`
	ObjectID      *string           `json:"object_id"`
	Query         string            `json:"query,omitempty"`
	Headers       map[string]string `json:"headers,omitempty"`
	Status        string            `json:"status"`
	LastError     string            `json:"last_error,omitempty"`
	LastPayload   string            `json:"last_payload,omitempty"`
	FirstFailedAt string            `json:"first_failed_at,omitempty"`
	DateCreated   string            `json:"date_created"`
	DateModified  string            `json:"date_modified"`
}

// CustomAction is a custom action definition.
type CustomAction struct {
	ID             string            `json:"id"`
	Title          string            `json:"title"`
	URL            string            `json:"url"`
	Context        string            `json:"context"`
	Type           string            `json:"type"`
	AppID          *string           `json:"app_id"`
	Headers        map[string]string `json:"headers,omitempty"`
	MetadataView   *string           `json:"metadata_view"`
	Disabled       bool              `json:"disabled"`
	Status         string            `json:"status"`
	LastError      string            `json:"last_error,omitempty"`
	LastErrorDate  string            `json:"last_error_date,omitempty"`
	SystemDomainID string            `json:"system_domain_id"`
	DateCreated    string            `json:"date_created"`
	DateModified   string            `json:"date_modified"`
}

// User is an iconik user.
type User struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Type      string `json:"type"`
	Status    string `json:"status"`
	IsAdmin   bool   `json:"is_admin"`
}

type token struct {
	AppID   string `json:"app_id"`
	UserID  string `json:"user_id"`
	Expires string `json:"expires,omitempty"`
}

// mediaInfo is what the simulated transcoder learned about an asset.
type mediaInfo struct {
	MediaType  string `json:"media_type"`
	DurationMS int64  `json:"duration_ms"`
}

// shareSecret is a share's non-API state.
type shareSecret struct {
	Emails   []string `json:"emails"`
	Hash     string   `json:"hash"`
	Password string   `json:"password,omitempty"`
}

// state is everything the server knows; it is what snapshots hold.
type state struct {
	Seq           uint64                     `json:"seq"`
	Users         map[string]*User           `json:"users"`
	Tokens        map[string]token           `json:"tokens"`
	Assets        map[string]*Asset          `json:"assets"`
	Media         map[string]mediaInfo       `json:"media"`
	Collections   map[string]*Collection     `json:"collections"`
	Contents      map[string][]ContentRef    `json:"contents"`
	Segments      map[string]*Segment        `json:"segments"`
	Shares        map[string]*Share          `json:"shares"`
	ShareSecrets  map[string]shareSecret     `json:"share_secrets"`
	Approvals     map[string]*Approval       `json:"approvals"`
	History       map[string][]*HistoryEntry `json:"history"`
	Fields        map[string]*Field          `json:"fields"`
	FieldOrder    []string                   `json:"field_order"`
	Views         map[string]*View           `json:"views"`
	Metadata      map[string]*metadataRecord `json:"metadata"`
	Formats       map[string]*Format         `json:"formats"`
	FileSets      map[string]*FileSet        `json:"file_sets"`
	Files         map[string]*File           `json:"files"`
	Proxies       map[string]*Proxy          `json:"proxies"`
	Keyframes     map[string]*Keyframe       `json:"keyframes"`
	Storages      map[string]*Storage        `json:"storages"`
	Jobs          map[string]*Job            `json:"jobs"`
	Webhooks      map[string]*Webhook        `json:"webhooks"`
	CustomActions map[string]*CustomAction   `json:"custom_actions"`

	assetOrder []string                   // asset ids by creation
	collIndex  map[string]map[string]bool // object id -> collection ids holding it
	segIndex   map[string][]string        // asset id -> segment ids
	fileIndex  map[string]*assetFiles     // asset id -> its formats, files, proxies, keyframes
	viewIndex  map[string]string          // view name -> id
}

// assetFiles lists the ids of an asset's file-service objects in creation order.
type assetFiles struct {
	formats, fileSets, files, proxies, keyframes []string
}

func (st *state) filesOf(assetID string) *assetFiles {
	af := st.fileIndex[assetID]
	if af == nil {
		af = &assetFiles{}
		st.fileIndex[assetID] = af
	}
	return af
}

func newState() *state {
	st := &state{
		Users: map[string]*User{}, Tokens: map[string]token{}, Assets: map[string]*Asset{},
		Media: map[string]mediaInfo{}, Collections: map[string]*Collection{}, Contents: map[string][]ContentRef{},
		Segments: map[string]*Segment{}, Shares: map[string]*Share{}, ShareSecrets: map[string]shareSecret{},
		Approvals: map[string]*Approval{}, History: map[string][]*HistoryEntry{}, Fields: map[string]*Field{},
		Views: map[string]*View{}, Metadata: map[string]*metadataRecord{}, Formats: map[string]*Format{},
		FileSets: map[string]*FileSet{}, Files: map[string]*File{}, Proxies: map[string]*Proxy{},
		Keyframes: map[string]*Keyframe{}, Storages: map[string]*Storage{}, Jobs: map[string]*Job{},
		Webhooks: map[string]*Webhook{}, CustomActions: map[string]*CustomAction{},
	}
	st.init()
	return st
}

// init fills nil maps (after loading a snapshot) and rebuilds the indexes.
func (st *state) init() {
	if st.Users == nil {
		st.Users = map[string]*User{}
	}
	if st.Tokens == nil {
		st.Tokens = map[string]token{}
	}
	if st.Assets == nil {
		st.Assets = map[string]*Asset{}
	}
	if st.Media == nil {
		st.Media = map[string]mediaInfo{}
	}
	if st.Collections == nil {
		st.Collections = map[string]*Collection{}
	}
	if st.Contents == nil {
		st.Contents = map[string][]ContentRef{}
	}
	if st.Segments == nil {
		st.Segments = map[string]*Segment{}
	}
	if st.Shares == nil {
		st.Shares = map[string]*Share{}
	}
	if st.ShareSecrets == nil {
		st.ShareSecrets = map[string]shareSecret{}
	}
	if st.Approvals == nil {
		st.Approvals = map[string]*Approval{}
	}
	if st.History == nil {
		st.History = map[string][]*HistoryEntry{}
	}
	if st.Fields == nil {
		st.Fields = map[string]*Field{}
	}
	if st.Views == nil {
		st.Views = map[string]*View{}
	}
	if st.Metadata == nil {
		st.Metadata = map[string]*metadataRecord{}
	}
	if st.Formats == nil {
		st.Formats = map[string]*Format{}
	}
	if st.FileSets == nil {
		st.FileSets = map[string]*FileSet{}
	}
	if st.Files == nil {
		st.Files = map[string]*File{}
	}
	if st.Proxies == nil {
		st.Proxies = map[string]*Proxy{}
	}
	if st.Keyframes == nil {
		st.Keyframes = map[string]*Keyframe{}
	}
	if st.Storages == nil {
		st.Storages = map[string]*Storage{}
	}
	if st.Jobs == nil {
		st.Jobs = map[string]*Job{}
	}
	if st.Webhooks == nil {
		st.Webhooks = map[string]*Webhook{}
	}
	if st.CustomActions == nil {
		st.CustomActions = map[string]*CustomAction{}
	}
	st.collIndex = map[string]map[string]bool{}
	for cid, refs := range st.Contents {
		for _, ref := range refs {
			st.indexContent(cid, ref.ObjectID, true)
		}
	}
	st.segIndex = map[string][]string{}
	for _, sg := range sortedSegments(st.Segments) {
		st.segIndex[sg.AssetID] = append(st.segIndex[sg.AssetID], sg.ID)
	}
	st.viewIndex = map[string]string{}
	for id, v := range st.Views {
		st.viewIndex[v.Name] = id
	}
	st.assetOrder = nil
	for id := range st.Assets {
		st.assetOrder = append(st.assetOrder, id)
	}
	sort.Slice(st.assetOrder, func(i, j int) bool {
		a, b := st.Assets[st.assetOrder[i]], st.Assets[st.assetOrder[j]]
		if a.DateCreated != b.DateCreated {
			return a.DateCreated < b.DateCreated
		}
		return a.ID < b.ID
	})
	st.fileIndex = map[string]*assetFiles{}
	add := func(assetID string, dst func(*assetFiles) *[]string, id, created string) {
		l := dst(st.filesOf(assetID))
		*l = append(*l, id)
		_ = created
	}
	for _, f := range sortedByCreated(st.Formats, func(x *Format) (string, string) { return x.DateCreated, x.ID }) {
		add(f.AssetID, func(a *assetFiles) *[]string { return &a.formats }, f.ID, f.DateCreated)
	}
	for _, f := range sortedByCreated(st.FileSets, func(x *FileSet) (string, string) { return x.DateCreated, x.ID }) {
		add(f.AssetID, func(a *assetFiles) *[]string { return &a.fileSets }, f.ID, f.DateCreated)
	}
	for _, f := range sortedByCreated(st.Files, func(x *File) (string, string) { return x.DateCreated, x.ID }) {
		add(f.AssetID, func(a *assetFiles) *[]string { return &a.files }, f.ID, f.DateCreated)
	}
	for _, p := range sortedByCreated(st.Proxies, func(x *Proxy) (string, string) { return x.DateCreated, x.ID }) {
		add(p.AssetID, func(a *assetFiles) *[]string { return &a.proxies }, p.ID, p.DateCreated)
	}
	for _, k := range sortedByCreated(st.Keyframes, func(x *Keyframe) (string, string) { return x.DateCreated, x.ID }) {
		if k.AssetID != nil {
			add(*k.AssetID, func(a *assetFiles) *[]string { return &a.keyframes }, k.ID, k.DateCreated)
		}
	}
}

func sortedByCreated[T any](m map[string]T, key func(T) (string, string)) []T {
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		ci, ii := key(out[i])
		cj, ij := key(out[j])
		if ci != cj {
			return ci < cj
		}
		return ii < ij
	})
	return out
}

func sortedSegments(m map[string]*Segment) []*Segment {
	out := make([]*Segment, 0, len(m))
	for _, sg := range m {
		out = append(out, sg)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].DateCreated != out[j].DateCreated {
			return out[i].DateCreated < out[j].DateCreated
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func (st *state) indexContent(collectionID, objectID string, add bool) {
	m := st.collIndex[objectID]
	if add {
		if m == nil {
			m = map[string]bool{}
			st.collIndex[objectID] = m
		}
		m[collectionID] = true
		return
	}
	delete(m, collectionID)
}

// ---- ids and time ----

// newID returns a deterministic UUID (version 4 layout) from the state's sequence.
func (s *Server) newID() string {
	s.st.Seq++
	h := sha256.Sum256(fmt.Appendf(nil, "%s/%d", s.opts.SystemDomainID, s.st.Seq))
	b := h[:16]
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (s *Server) newRequestID() string {
	s.st.Seq++
	h := sha256.Sum256(fmt.Appendf(nil, "req/%s/%d", s.opts.SystemDomainID, s.st.Seq))
	return hex.EncodeToString(h[:16])
}

func (s *Server) now() time.Time { return s.kit.Clock().Now().UTC() }

// timeLayout is how iconik writes date-times (Python isoformat of an aware UTC datetime).
const timeLayout = "2006-01-02T15:04:05.000000+00:00"

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func (s *Server) stamp() string { return fmtTime(s.now()) }

func parseTime(v string) time.Time {
	for _, l := range []string{time.RFC3339Nano, timeLayout, "2006-01-02T15:04:05.999999", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(l, v); err == nil {
			return t
		}
	}
	return time.Time{}
}

func strPtr(v string) *string { return &v }

func derefStr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
