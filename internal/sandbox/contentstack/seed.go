package contentstack

// Seed data: what Options.Seed loads. Names are the template defaults of
// the use cases (USECASES.md UC8-UC14).
const (
	// SeedWorkflow is the seeded workflow's name; it applies to video and campaign.
	SeedWorkflow = "Media Review"
	// StageDraft, StageReadyForMedia, StageInReview and StageApproved are
	// the seeded workflow's stages, in order.
	StageDraft         = "Draft"
	StageReadyForMedia = "Ready for media"
	StageInReview      = "In review"
	StageApproved      = "Approved"
	// SecondLocale is the seeded non-master locale.
	SecondLocale = "fr-fr"
	// PickerExtensionUID is the extension_uid of the seeded iconik picker
	// custom field (video.iconik_assets).
	PickerExtensionUID = "blt3e5f7a9c1b2d4e6f"
)

func text(uid, name string, extra ...any) doc {
	f := doc{"display_name": name, "uid": uid, "data_type": "text", "mandatory": false, "unique": false,
		"multiple": false, "non_localizable": false, "field_metadata": doc{"description": "", "default_value": ""}}
	for i := 0; i+1 < len(extra); i += 2 {
		f[extra[i].(string)] = extra[i+1]
	}
	return f
}

func typed(dataType, uid, name string, extra ...any) doc {
	f := text(uid, name, extra...)
	f["data_type"] = dataType
	return f
}

func choices(vals ...string) doc {
	cs := make([]any, len(vals))
	for i, v := range vals {
		cs[i] = doc{"value": v}
	}
	return doc{"advanced": false, "choices": cs}
}

func titleFieldDoc() doc {
	return doc{"display_name": "Title", "uid": "title", "data_type": "text", "mandatory": true, "unique": true,
		"multiple": false, "non_localizable": false, "field_metadata": doc{"_default": true}}
}

func urlFieldDoc() doc {
	return doc{"display_name": "URL", "uid": "url", "data_type": "text", "mandatory": false, "unique": false,
		"multiple": false, "non_localizable": false, "field_metadata": doc{"_default": true}}
}

// videoContentType is UC8-UC14's video: iconik ids, URLs, duration,
// rights, the picker JSON field, usage and version fields.
func videoContentType() doc {
	return doc{
		"title": "Video", "uid": "video", "description": "A video whose media lives in iconik",
		"schema": []any{
			titleFieldDoc(), urlFieldDoc(),
			text("description", "Description", "field_metadata", doc{"multiline": true, "description": "", "default_value": ""}),
			text("iconik_asset_id", "iconik asset id"),
			text("iconik_version_id", "iconik version id"),
			typed("number", "iconik_version_number", "iconik version number"),
			text("preview_url", "Preview URL"),
			text("thumbnail_url", "Thumbnail URL"),
			text("delivery_url", "Delivery URL"),
			typed("number", "duration", "Duration (seconds)"),
			text("captions", "Captions", "field_metadata", doc{"multiline": true, "description": "", "default_value": ""}),
			typed("group", "rights", "Rights", "schema", []any{
				text("usage_rights", "Usage rights"),
				text("rights_status", "Rights status", "display_type", "dropdown", "enum", choices("Pending", "Cleared", "Restricted", "Rejected")),
				text("territories", "Territories", "multiple", true),
				text("talent", "Talent", "multiple", true),
				typed("isodate", "expiry_date", "Expiry date"),
			}),
			typed("json", "iconik_assets", "iconik assets", "extension_uid", PickerExtensionUID,
				"field_metadata", doc{"extension": true}, "config", doc{"iconik_domain": "app.iconik.io"}),
			typed("number", "usage_count", "Usage count"),
			typed("group", "used_on", "Used on", "multiple", true, "schema", []any{
				text("page", "Page"), text("url", "URL"), text("environment", "Environment"),
			}),
			typed("reference", "campaign", "Campaign", "reference_to", []any{"campaign"},
				"field_metadata", doc{"ref_multiple": false, "ref_multiple_content_types": false}),
			typed("file", "poster", "Poster image"),
		},
		"options": doc{"title": "title", "publishable": true, "is_page": true, "singleton": false,
			"sub_title": []any{"url"}, "url_pattern": "/:title", "url_prefix": "/videos/"},
	}
}

// campaignContentType is UC9/UC12's campaign, with modular blocks that
// reference videos.
func campaignContentType() doc {
	return doc{
		"title": "Campaign", "uid": "campaign", "description": "A marketing campaign with its pages",
		"schema": []any{
			titleFieldDoc(), urlFieldDoc(),
			text("iconik_collection_id", "iconik collection id"),
			text("page_name", "Page name"),
			typed("isodate", "publication_date", "Publication date"),
			text("region", "Region", "display_type", "dropdown", "enum", choices("EMEA", "AMER", "APAC")),
			text("summary", "Summary", "field_metadata", doc{"multiline": true, "description": "", "default_value": ""}),
			typed("reference", "videos", "Videos", "reference_to", []any{"video"},
				"field_metadata", doc{"ref_multiple": true, "ref_multiple_content_types": false}),
			typed("blocks", "page_sections", "Page sections", "multiple", true, "blocks", []any{
				doc{"title": "Hero", "uid": "hero", "schema": []any{
					text("headline", "Headline"),
					typed("reference", "video", "Video", "reference_to", []any{"video"}),
				}},
				doc{"title": "Text", "uid": "text", "schema": []any{
					text("body", "Body", "field_metadata", doc{"multiline": true, "description": "", "default_value": ""}),
				}},
			}),
		},
		"options": doc{"title": "title", "publishable": true, "is_page": true, "singleton": false,
			"sub_title": []any{"url"}, "url_pattern": "/:title", "url_prefix": "/campaigns/"},
	}
}

// seed loads the demo data; the caller holds s.mu (or is New).
func (s *Server) seed() {
	st := s.st
	now := s.now()
	st.addLocale(SecondLocale, "French - France", st.MasterLocale, now, SystemUser)
	for _, name := range []string{"development", "staging", "production"} {
		s.newEnvironment(doc{"name": name, "urls": []any{
			doc{"locale": "en-us", "url": "https://" + name + ".example.com/"},
			doc{"locale": SecondLocale, "url": "https://" + name + ".example.com/fr/"},
		}, "deploy_content": false}, SystemUser)
	}
	for _, ct := range []doc{campaignContentType(), videoContentType()} {
		_, _ = s.putContentType(ct, SystemUser)
	}
	stage := func(name, color string) doc {
		return doc{"name": name, "color": color, "description": "", "SYS_ACL": doc{
			"roles": doc{"uids": []any{}}, "users": doc{"uids": []any{"$all"}}, "others": doc{}},
			"next_available_stages": []any{"$all"}, "entry_lock": "$none",
			"allStages": true, "allUsers": true, "specificStages": false, "specificUsers": false}
	}
	wf := s.normalizeWorkflow(doc{"name": SeedWorkflow, "description": "Review of media-backed entries",
		"content_types": []any{"video", "campaign"}, "branches": []any{"main"}, "enabled": true,
		"admin_users": doc{"users": []any{}},
		"workflow_stages": []any{stage(StageDraft, "#2196f3"), stage(StageReadyForMedia, "#ff9800"),
			stage(StageInReview, "#9c27b0"), stage(StageApproved, "#74ba76")}},
		st.bltUID("workflow"), now, SystemUser, nil)
	st.Workflows[str(wf["uid"])] = wf

	sys := caller{user: SystemUser, managementToken: true}
	mustCreate := func(ct string, fields doc) string {
		d, _, ae := s.doCreateEntry(sys, ct, st.MasterLocale, fields, "main")
		if ae != nil {
			panic("seed: " + ae.Error())
		}
		return str(d["uid"])
	}
	spring := mustCreate("campaign", doc{"title": "Spring Launch", "url": "/campaigns/spring-launch",
		"page_name": "Spring Launch", "publication_date": "2026-03-20", "region": "EMEA",
		"summary": "The spring product launch.", "iconik_collection_id": "4a7c2f0e-6b1d-4c9e-8f3a-2d5b7e9c1a04"})
	summer := mustCreate("campaign", doc{"title": "Summer Stories", "url": "/campaigns/summer-stories",
		"page_name": "Summer Stories", "publication_date": "2026-06-21", "region": "AMER",
		"summary": "Customer stories for the summer."})

	picker := func(id, title string) []any {
		return []any{doc{"id": id, "title": title, "type": "video", "version_id": "9b1e4d2c-0f3a-4e5b-8c7d-" + id[len(id)-12:],
			"thumbnailUrl": "https://iconik.example.com/keyframes/" + id + ".jpg",
			"platformUrl":  "https://app.iconik.io/asset/" + id,
			"proxyUrl":     "https://iconik.example.com/proxies/" + id + ".mp4",
			"duration_ms":  95000, "synced_at": now}}
	}
	video := func(title, id string, campaign string, status string) doc {
		return doc{"title": title, "url": "/videos/" + slug(title), "description": title + " (seed).",
			"iconik_asset_id": id, "iconik_version_id": "9b1e4d2c-0f3a-4e5b-8c7d-" + id[len(id)-12:], "iconik_version_number": 1,
			"preview_url":   "https://iconik.example.com/proxies/" + id + ".mp4",
			"thumbnail_url": "https://iconik.example.com/keyframes/" + id + ".jpg",
			"delivery_url":  "https://cdn.example.com/video/" + id + ".m3u8",
			"duration":      95, "usage_count": 0, "used_on": []any{},
			"rights":        doc{"usage_rights": "Worldwide web", "rights_status": status, "territories": []any{"WW"}, "talent": []any{}, "expiry_date": "2027-12-31"},
			"iconik_assets": picker(id, title),
			"campaign":      []any{doc{"uid": campaign, "_content_type_uid": "campaign"}}}
	}
	v1 := mustCreate("video", video("Spring Launch Teaser", "0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a51", spring, "Cleared"))
	v2 := mustCreate("video", video("Product Walkthrough", "1f2a3b4c-5d6e-4f70-9b8c-1d2e3f4a5b62", spring, "Cleared"))
	v3 := mustCreate("video", video("Customer Story: Harbour Café", "2a3b4c5d-6e7f-4a81-8c9d-2e3f4a5b6c73", summer, "Pending"))

	// The spring campaign shows two videos and a hero block.
	_, _, _ = s.doUpdateEntry(sys, "campaign", spring, st.MasterLocale, doc{
		"videos": []any{doc{"uid": v1, "_content_type_uid": "video"}, doc{"uid": v2, "_content_type_uid": "video"}},
		"page_sections": []any{
			doc{"hero": doc{"headline": "Spring is here", "video": []any{doc{"uid": v1, "_content_type_uid": "video"}}}},
			doc{"text": doc{"body": "Everything new this spring."}},
		}})
	// A French copy of the teaser.
	_, _, _ = s.doUpdateEntry(sys, "video", v1, SecondLocale, doc{"title": "Teaser du lancement de printemps",
		"description": "Teaser (seed, français)."})

	// Workflow stages: the walkthrough waits for media.
	for uid, name := range map[string]string{v1: StageApproved, v2: StageReadyForMedia, v3: StageDraft} {
		if sg := stageNamed(wf, name); sg != nil {
			_, _ = s.doSetStage(sys, "video", uid, st.MasterLocale, doc{"uid": sg["uid"]}, "main")
		}
	}
	// Published state: the teaser and the spring campaign are live.
	for _, env := range []string{"development", "production"} {
		e, _ := s.envByName(env)
		envUID := str(e["uid"])
		s.applyPublish("publish", pubItem{ct: "video", uid: v1, srcLocale: st.MasterLocale}, envUID, st.MasterLocale, SystemUser)
		s.applyPublish("publish", pubItem{ct: "video", uid: v1, srcLocale: SecondLocale}, envUID, SecondLocale, SystemUser)
		s.applyPublish("publish", pubItem{ct: "campaign", uid: spring, srcLocale: st.MasterLocale}, envUID, st.MasterLocale, SystemUser)
	}
	dev, _ := s.envByName("development")
	s.applyPublish("publish", pubItem{ct: "video", uid: v2, srcLocale: st.MasterLocale}, str(dev["uid"]), st.MasterLocale, SystemUser)
}

func stageNamed(wf doc, name string) doc {
	for _, st := range asObjects(wf["workflow_stages"]) {
		if str(st["name"]) == name {
			return st
		}
	}
	return nil
}

func slug(s string) string {
	out := make([]rune, 0, len(s))
	dash := false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			out = append(out, r)
			dash = false
		case r >= 'A' && r <= 'Z':
			out = append(out, r+('a'-'A'))
			dash = false
		default:
			if !dash && len(out) > 0 {
				out = append(out, '-')
				dash = true
			}
		}
	}
	for len(out) > 0 && out[len(out)-1] == '-' {
		out = out[:len(out)-1]
	}
	return string(out)
}
