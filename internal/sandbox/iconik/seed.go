package iconik

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Metadata field names of the seed schema (InstallSchema / Options.Seed).
// They are the use-case templates' defaults; every template lets a customer
// map its own names.
const (
	FieldDescription        = "description"
	FieldAssetType          = "asset_type"
	FieldCampaign           = "campaign"
	FieldRegion             = "region"
	FieldReviewStatus       = "review_status"
	FieldRightsStatus       = "rights_status"
	FieldTalent             = "talent"
	FieldUsageRights        = "usage_rights"
	FieldRightsExpiry       = "rights_expiry"
	FieldTerritories        = "territories"
	FieldMetadataStatus     = "metadata_status"
	FieldRightsOwner        = "rights_owner"
	FieldProjectCode        = "project_code"
	FieldDistributionRegion = "distribution_region"
	FieldCaseStatus         = "case_status"
	FieldUsedOn             = "used_on"
	FieldUsageCount         = "usage_count"
	FieldPageName           = "page_name"
	FieldCMSContentType     = "cms_content_type"
	FieldPublicationDate    = "publication_date"
	FieldRetentionPolicy    = "retention_policy"
	FieldCaptions           = "captions"
)

// View and collection names of the seed data.
const (
	// ViewPatchbay holds every seed field; the integration reads and writes through it.
	ViewPatchbay = "patchbay"
	// ViewRights holds the rights fields only (UC2's trigger filter).
	ViewRights = "Rights"
	// CollectionApproved is the root collection approved assets go to (UC1).
	CollectionApproved = "Approved"
	// CollectionCampaigns is the root collection campaign collections live under (UC12).
	CollectionCampaigns = "Campaigns"
)

// SeedCampaigns are the campaign collections created under "Campaigns".
var SeedCampaigns = []string{"Summer Splash 2025", "Holiday Lights 2025", "Spring Launch 2026", "Back to School 2025"}

type seedField struct {
	name, label, typ string
	multi            bool
	options          []string
}

var seedFields = []seedField{
	{FieldDescription, "Description", "text", false, nil},
	{FieldAssetType, "Asset type", "drop_down", false, []string{"Trailer", "Promo", "Interview", "B-Roll", "Social", "Still"}},
	{FieldCampaign, "Campaign", "string", false, nil},
	{FieldRegion, "Region", "drop_down", false, []string{"EMEA", "NA", "APAC", "LATAM"}},
	{FieldReviewStatus, "Review status", "string", false, nil},
	{FieldRightsStatus, "Rights status", "drop_down", false, []string{"Pending", "Cleared", "Restricted", "Rejected"}},
	{FieldTalent, "Talent", "tag_cloud", true, nil},
	{FieldUsageRights, "Usage rights", "text", false, nil},
	{FieldRightsExpiry, "Rights expiry", "date", false, nil},
	{FieldTerritories, "Territories", "tag_cloud", true, nil},
	{FieldMetadataStatus, "Metadata status", "drop_down", false, []string{"Complete", "Incomplete"}},
	{FieldRightsOwner, "Rights owner", "string", false, nil},
	{FieldProjectCode, "Project code", "string", false, nil},
	{FieldDistributionRegion, "Distribution region", "string", false, nil},
	{FieldCaseStatus, "Case status", "string", false, nil},
	{FieldUsedOn, "Used on", "tag_cloud", true, nil},
	{FieldUsageCount, "Usage count", "integer", false, nil},
	{FieldPageName, "Page name", "string", false, nil},
	{FieldCMSContentType, "CMS content type", "string", false, nil},
	{FieldPublicationDate, "Publication date", "date", false, nil},
	{FieldRetentionPolicy, "Retention policy", "string", false, nil},
	{FieldCaptions, "Captions", "text", false, nil},
}

var rightsFields = []string{FieldTalent, FieldUsageRights, FieldRightsExpiry, FieldTerritories, FieldRightsStatus, FieldRightsOwner}

// seedBase creates what every tenant has: users and storages.
func (s *Server) seedBase() {
	st := s.st
	for _, u := range []User{
		{ID: APIUserID, Email: "integration@patchbay.example", FirstName: "Patchbay", LastName: "Integration", Type: "POWER", Status: "ACTIVE", IsAdmin: true},
		{ID: EditorUserID, Email: "edith.editor@patchbay.example", FirstName: "Edith", LastName: "Editor", Type: "POWER", Status: "ACTIVE"},
		{ID: ReviewerUserID, Email: "riley.reviewer@patchbay.example", FirstName: "Riley", LastName: "Reviewer", Type: "STANDARD", Status: "ACTIVE"},
	} {
		cp := u
		st.Users[u.ID] = &cp
	}
	for _, sto := range []Storage{
		{ID: StorageFilesID, Name: "iconik-files", Method: "GCS", Purpose: "FILES", Status: "ACTIVE", Default: true},
		{ID: StorageProxiesID, Name: "iconik-proxies", Method: "GCS", Purpose: "PROXIES", Status: "ACTIVE", Default: true},
		{ID: StorageKeyframesID, Name: "iconik-keyframes", Method: "GCS", Purpose: "KEYFRAMES", Status: "ACTIVE", Default: true},
		{ID: StorageArchiveID, Name: "Archive (S3 Glacier)", Method: "S3", Purpose: "ARCHIVE", Status: "ACTIVE"},
	} {
		cp := sto
		cp.Settings = map[string]any{}
		st.Storages[sto.ID] = &cp
	}
}

// InstallSchema creates the seed metadata fields, the "patchbay" and
// "Rights" views and the "Approved" and "Campaigns" collections (with the
// campaign sub-collections), if absent. Options.Seed does this too.
func (s *Server) InstallSchema() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.installSchema()
	s.outbox = nil
}

func (s *Server) installSchema() {
	st := s.st
	now := s.stamp()
	for _, f := range seedFields {
		if st.Fields[f.name] != nil {
			continue
		}
		fd := &Field{Name: f.name, Label: f.label, FieldType: f.typ, Multi: f.multi, Sortable: true,
			UseAsFacet: f.typ == "drop_down", DateCreated: now, DateModified: now}
		for _, o := range f.options {
			fd.Options = append(fd.Options, FieldOption{Label: o, Value: o})
		}
		st.Fields[f.name] = fd
	}
	mkView := func(name string, fields []string) {
		if st.viewIndex[name] != "" {
			return
		}
		v := &View{ID: s.newID(), Name: name, Fields: fields, DateCreated: now, DateModified: now}
		st.Views[v.ID] = v
		st.viewIndex[name] = v.ID
	}
	var all []string
	for _, f := range seedFields {
		all = append(all, f.name)
	}
	mkView(ViewPatchbay, all)
	mkView(ViewRights, rightsFields)
	if s.rootCollection(CollectionApproved) == nil {
		s.insertCollection(CollectionApproved, nil, APIUserID)
	}
	camp := s.rootCollection(CollectionCampaigns)
	if camp == nil {
		camp = s.insertCollection(CollectionCampaigns, nil, APIUserID)
	}
	for _, name := range SeedCampaigns {
		if s.childCollection(camp.ID, name) == nil {
			s.insertCollection(name, camp, APIUserID)
		}
	}
}

func (s *Server) rootCollection(title string) *Collection {
	for _, col := range sortedByCreated(s.st.Collections, func(x *Collection) (string, string) { return x.DateCreated, x.ID }) {
		if col.Title == title && col.ParentID == nil && col.Status != "DELETED" {
			return col
		}
	}
	return nil
}

func (s *Server) childCollection(parentID, title string) *Collection {
	for _, ref := range s.st.Contents[parentID] {
		if col := s.st.Collections[ref.ObjectID]; ref.ObjectType == "collections" && col != nil && col.Title == title {
			return col
		}
	}
	return nil
}

// setValuesRaw stores values without validation, events or history (seeding).
func (s *Server) setValuesRaw(objectType, objectID, versionID string, vals map[string][]any) {
	key := metaKey(objectType, objectID, versionID)
	rec := s.st.Metadata[key]
	now := s.stamp()
	if rec == nil {
		rec = &metadataRecord{ObjectType: objectType, ObjectID: objectID, VersionID: versionID, Values: map[string][]any{}, DateCreated: now}
		s.st.Metadata[key] = rec
	}
	for k, v := range vals {
		rec.Values[k] = v
	}
	rec.DateModified = now
}

var (
	seedTypes     = []string{"Trailer", "Promo", "Interview", "B-Roll", "Social", "Still"}
	seedRegions   = []string{"EMEA", "NA", "APAC", "LATAM"}
	seedReview    = []string{"Not started", "In review", "Changes requested", "Approved", "Released"}
	seedTalent    = []string{"Ava Stone", "Jonah Reyes", "Mia Chen", "Lars Berg", "Nora Quinn", "Omar Haddad"}
	seedTerritory = []string{"US", "CA", "GB", "DE", "FR", "JP", "AU", "BR"}
	seedOwners    = []string{"Northwind Studios", "Contoso Media", "Fabrikam Films"}
)

// seedDemo creates the schema and n demo assets (no webhooks are sent).
func (s *Server) seedDemo(n int) {
	s.installSchema()
	rng := rand.New(rand.NewPCG(7, 11))
	pick := func(l []string) string { return l[rng.IntN(len(l))] }
	c := &call{s: s, user: EditorUserID, appID: s.opts.AppID, reqID: "seed"}
	camp := s.rootCollection(CollectionCampaigns)
	approved := s.rootCollection(CollectionApproved)
	start := s.now().Add(-time.Duration(n) * 2 * time.Hour)
	for i := range n {
		campaign := SeedCampaigns[i%len(SeedCampaigns)]
		typ := pick(seedTypes)
		a := s.insertAsset(fmt.Sprintf("%s %s %03d", campaign, typ, i+1), "ASSET", EditorUserID)
		created := fmtTime(start.Add(time.Duration(i) * 2 * time.Hour))
		a.DateCreated, a.DateModified, a.DateImported, a.Versions[0].DateCreated = created, created, created, created
		if rng.IntN(5) == 0 {
			v := s.newVersion(a, EditorUserID)
			v.DateCreated = fmtTime(start.Add(time.Duration(i)*2*time.Hour + time.Hour))
			a.DateModified = v.DateCreated
		}
		review := pick(seedReview)
		rights := "Cleared"
		if rng.IntN(6) == 0 {
			rights = "Pending"
		}
		vals := map[string][]any{
			FieldDescription:        {fmt.Sprintf("%s for the %s campaign.", typ, campaign)},
			FieldAssetType:          {typ},
			FieldCampaign:           {campaign},
			FieldRegion:             {pick(seedRegions)},
			FieldReviewStatus:       {review},
			FieldRightsStatus:       {rights},
			FieldTalent:             {pick(seedTalent), pick(seedTalent)},
			FieldUsageRights:        {"Worldwide digital, 2 years"},
			FieldRightsExpiry:       {start.AddDate(1+rng.IntN(2), rng.IntN(12), 0).Format("2006-01-02")},
			FieldTerritories:        {pick(seedTerritory), pick(seedTerritory)},
			FieldMetadataStatus:     {"Complete"},
			FieldRightsOwner:        {pick(seedOwners)},
			FieldProjectCode:        {fmt.Sprintf("PRJ-%04d", 1000+i%50)},
			FieldDistributionRegion: {pick(seedRegions)},
		}
		if vals[FieldTalent][0] == vals[FieldTalent][1] {
			vals[FieldTalent] = vals[FieldTalent][:1]
		}
		if i%10 == 3 {
			delete(vals, FieldRightsOwner)
			delete(vals, FieldProjectCode)
			vals[FieldMetadataStatus] = []any{"Incomplete"}
		}
		modified := a.DateModified
		for _, v := range a.Versions {
			s.produceMedia(c, a, v.ID, false)
			s.setValuesRaw("assets", a.ID, v.ID, vals)
		}
		a.DateModified = modified
		if col := s.childCollection(camp.ID, campaign); col != nil {
			s.st.Contents[col.ID] = append(s.st.Contents[col.ID], ContentRef{ObjectType: "assets", ObjectID: a.ID, DateCreated: created})
			s.st.indexContent(col.ID, a.ID, true)
		}
		if review == "Approved" || review == "Released" {
			ver := latestVersionID(a)
			s.st.Contents[approved.ID] = append(s.st.Contents[approved.ID], ContentRef{ObjectType: "assets", ObjectID: a.ID, DateCreated: created})
			s.st.indexContent(approved.ID, a.ID, true)
			s.st.Approvals[approvalKey("assets", a.ID, ver)] = &Approval{ObjectID: a.ID, ObjectType: "assets", VersionID: ver,
				Status: ApprovalApproved, RequestedBy: EditorUserID, RequestDate: created, ChangeDate: created,
				Users: []string{ReviewerUserID}, Groups: []string{}, Externals: []string{}, MinNumber: 1,
				ApprovalsBy: []ApprovalBy{{Status: ApprovalApproved, User: ReviewerUserID, ChangeDate: created,
					ObjectID: a.ID, ObjectType: "assets", VersionID: ver}}}
		}
		if i%7 == 0 {
			from := int64(1000 * (1 + rng.IntN(20)))
			to := from + 2000
			text := "Please trim the first second."
			sg := &Segment{ID: s.newID(), AssetID: a.ID, SegmentType: "COMMENT", SegmentText: &text, TimeStartMS: &from,
				TimeEndMS: &to, VersionID: latestVersionID(a), TopLevel: true, Status: "ACTIVE", UserID: ReviewerUserID,
				UserFirstName: "Riley", UserLastName: "Reviewer", DateCreated: created, DateModified: created}
			sg.Path = sg.ID
			s.st.Segments[sg.ID] = sg
			s.st.segIndex[a.ID] = append(s.st.segIndex[a.ID], sg.ID)
		}
	}
	s.resortAssets()
	s.st.History = map[string][]*HistoryEntry{}
	s.st.Jobs = map[string]*Job{}
	s.outbox = nil
}

// SeedAssets creates n ready assets quickly (one version, original, proxy,
// keyframes and a little metadata when the seed schema is installed) without
// sending webhooks, and returns their ids in creation order. Their
// date_created values are one millisecond apart, ending now.
func (s *Server) SeedAssets(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &call{s: s, user: EditorUserID, appID: s.opts.AppID, reqID: "seed", base: s.base}
	now := s.now()
	ids := make([]string, 0, n)
	haveSchema := s.st.Fields[FieldAssetType] != nil
	for i := range n {
		a := s.insertAsset(fmt.Sprintf("Seeded asset %05d", len(s.st.Assets)+1), "ASSET", EditorUserID)
		created := fmtTime(now.Add(-time.Duration(n-1-i) * time.Millisecond))
		a.DateCreated, a.DateModified, a.DateImported, a.Versions[0].DateCreated = created, created, created, created
		s.produceMedia(c, a, a.Versions[0].ID, false)
		a.DateModified = created
		if haveSchema {
			s.setValuesRaw("assets", a.ID, a.Versions[0].ID, map[string][]any{
				FieldAssetType: {seedTypes[i%len(seedTypes)]}, FieldCampaign: {SeedCampaigns[i%len(SeedCampaigns)]},
			})
		}
		ids = append(ids, a.ID)
	}
	s.resortAssets()
	s.outbox = nil
	return ids
}
