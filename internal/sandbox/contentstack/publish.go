package contentstack

import (
	"fmt"
	"net/http"
	"sort"
	"time"
)

// Bulk limits as documented: 10 entries x 10 locales x 10 environments per
// publish/unpublish call; 100 entries per bulk delete.
const (
	bulkMaxItems        = 10
	bulkMaxLocales      = 10
	bulkMaxEnvironments = 10
	bulkMaxDelete       = 100
)

// pubItem is one thing to publish or unpublish: an entry copy (from
// srcLocale) or an asset.
type pubItem struct {
	asset     bool
	ct, uid   string
	srcLocale string
	version   int // 0 = latest when the job runs
}

// bulkJob is a bulk publish/unpublish/delete job as GET /v3/bulk/jobs/{id} shows it.
type bulkJob struct {
	UID       string   `json:"uid"`
	Action    string   `json:"action"`
	CreatedBy string   `json:"created_by"`
	CreatedAt string   `json:"created_at"`
	UpdatedAt string   `json:"updated_at"`
	Status    string   `json:"status"`
	Branch    string   `json:"branch"`
	Locales   []string `json:"locales"`
	Envs      []string `json:"environments"`
	Published string   `json:"published_at"`
	Scheduled string   `json:"scheduled_at"`
	Items     []doc    `json:"items"`
}

func (j *bulkJob) view(apiKey string) doc {
	success, unsuccess := 0, 0
	for _, it := range j.Items {
		if pd, _ := it["publish_details"].(doc); pd != nil && pd["status"] == "success" {
			success++
		} else {
			unsuccess++
		}
	}
	state := "in_progress"
	if j.Status == "complete" {
		state = "completed"
	}
	return doc{
		"uid": j.UID, "created_by": j.CreatedBy, "updated_by": "", "created_at": j.CreatedAt, "updated_at": j.UpdatedAt,
		"action": j.Action, "api_key": apiKey, "status": j.Status,
		"body": doc{"branch": j.Branch, "locales": toAnySlice(j.Locales), "environments": toAnySlice(j.Envs),
			"published_at": j.Published, "scheduled_at": j.Scheduled},
		"summary": doc{"approvals": 0, "skip": 0, "state": state, "success": success,
			"total_processed": len(j.Items), "unsuccess": unsuccess},
	}
}

// publishDelay is when a queued publish runs: the scaled delay, or the
// scheduled time if it is later.
func (s *Server) publishDelay(scheduledAt string) (time.Duration, *apiError) {
	d := s.scaled(s.opts.PublishDelay)
	if scheduledAt == "" {
		return d, nil
	}
	t, err := time.Parse(time.RFC3339, scheduledAt)
	if err != nil {
		return 0, errInvalid(141, "The scheduled time is not valid.", map[string][]string{"scheduled_at": {"is not valid."}})
	}
	if until := t.Sub(s.clock.Now()); until > d {
		return until, nil
	}
	return d, nil
}

// publishEntry is POST …/entries/{uid}/publish: it validates, queues and
// answers "The requested action has been performed."; publish_details
// change when the queued action runs.
func (s *Server) publishEntry(w http.ResponseWriter, r *http.Request) *apiError {
	return s.publishOne(w, r, "publish", false)
}

func (s *Server) unpublishEntry(w http.ResponseWriter, r *http.Request) *apiError {
	return s.publishOne(w, r, "unpublish", false)
}

func (s *Server) publishAsset(w http.ResponseWriter, r *http.Request) *apiError {
	return s.publishOne(w, r, "publish", true)
}

func (s *Server) unpublishAsset(w http.ResponseWriter, r *http.Request) *apiError {
	return s.publishOne(w, r, "unpublish", true)
}

func (s *Server) publishOne(w http.ResponseWriter, r *http.Request, action string, isAsset bool) *apiError {
	body, ae := readBody(r)
	if ae != nil {
		return ae
	}
	key := "entry"
	if isAsset {
		key = "asset"
	}
	spec, _ := body[key].(map[string]any)
	envs := asStrings(spec["environments"])
	locales := asStrings(spec["locales"])
	s.mu.Lock()
	item := pubItem{asset: isAsset, uid: r.PathValue("uid")}
	if isAsset {
		if a, ok := s.st.Assets[item.uid]; !ok || a.IsDir {
			s.mu.Unlock()
			return errNotFound("asset")
		}
	} else {
		item.ct = r.PathValue("ct")
		_, e, ae := s.lookupEntry(item.ct, item.uid)
		if ae != nil {
			s.mu.Unlock()
			return ae
		}
		item.srcLocale = str(body["locale"])
		if item.srcLocale == "" {
			item.srcLocale = r.URL.Query().Get("locale")
		}
		if item.srcLocale == "" {
			item.srcLocale = s.st.MasterLocale
		}
		if _, ok := s.st.Locales[item.srcLocale]; !ok {
			s.mu.Unlock()
			return errInvalid(141, "Language was not found. Please try again.", map[string][]string{"locale": {"is not valid."}})
		}
		if v, ok := asInt(body["version"]); ok && body["version"] != nil {
			l, _ := s.st.source(e, item.srcLocale)
			if v < 1 || l == nil || v > len(l.Versions) {
				s.mu.Unlock()
				return errInvalid(141, "The requested version doesn't exist.", map[string][]string{"version": {"is not valid."}})
			}
			item.version = v
		}
	}
	if len(locales) == 0 {
		locales = []string{item.srcLocale}
		if isAsset {
			locales = []string{s.st.MasterLocale}
		}
	}
	envUIDs, problems := s.resolveTargets(envs, locales)
	s.mu.Unlock()
	if len(problems) > 0 {
		return errInvalid(141, fmt.Sprintf("The %s action could not be performed.", action), problems)
	}
	delay, ae := s.publishDelay(str(body["scheduled_at"]))
	if ae != nil {
		return ae
	}
	user := callerOf(r).user
	s.sched.after(delay, func() {
		s.mu.Lock()
		var evs []event
		for _, env := range envUIDs {
			for _, loc := range locales {
				_, ev := s.applyPublish(action, item, env, loc, user)
				evs = append(evs, ev...)
			}
		}
		s.mu.Unlock()
		s.dispatch(evs)
	})
	notice(w, http.StatusOK, "The requested action has been performed.")
	return nil
}

// resolveTargets maps environment names/uids to uids and checks locales.
// The caller holds s.mu.
func (s *Server) resolveTargets(envs, locales []string) ([]string, map[string][]string) {
	problems := map[string][]string{}
	if len(envs) == 0 {
		problems["environments"] = []string{"is a required field."}
	}
	var uids []string
	for _, e := range envs {
		env, ok := s.st.envByNameOrUID(e)
		if !ok {
			problems["environments"] = []string{"is not valid."}
			continue
		}
		uids = append(uids, str(env["uid"]))
	}
	for _, l := range locales {
		if _, ok := s.st.Locales[l]; !ok {
			problems["locales"] = []string{"is not valid."}
		}
	}
	return uids, problems
}

// applyPublish publishes or unpublishes one item to one environment and
// locale, returning the failure reason ("" on success) and the webhook
// events. The caller holds s.mu.
func (s *Server) applyPublish(action string, it pubItem, envUID, locale, user string) (string, []event) {
	env, ok := s.st.Environments[envUID]
	if !ok {
		return "The environment does not exist.", nil
	}
	if _, ok := s.st.Locales[locale]; !ok {
		return "The locale does not exist.", nil
	}
	now := s.now()
	if it.asset {
		a, ok := s.st.Assets[it.uid]
		if !ok {
			return "The asset does not exist.", nil
		}
		a.Publish = dropRecord(a.Publish, envUID, locale)
		if action == "publish" {
			v := it.version
			if v == 0 {
				v = a.Version
			}
			a.Publish = append(a.Publish, publishRecord{Environment: envUID, Locale: locale, Version: v, Time: now, User: user})
		}
		return "", []event{s.assetPublishEvent(action, a, env, locale)}
	}
	e, ok := s.st.Entries[it.uid]
	if !ok || e.ContentType != it.ct {
		return "The entry does not exist.", nil
	}
	if action == "unpublish" {
		var owner string
		for code, l := range e.Locales {
			before := len(l.Publish)
			l.Publish = dropRecord(l.Publish, envUID, locale)
			if len(l.Publish) != before {
				owner = code
			}
		}
		if owner == "" {
			_, owner = s.st.source(e, locale)
		}
		return "", []event{s.entryPublishEvent("unpublish", e, owner, env, locale)}
	}
	src, srcLocale := e.Locales[it.srcLocale], it.srcLocale
	if src == nil {
		src, srcLocale = s.st.source(e, it.srcLocale)
	}
	if locale != srcLocale {
		if _, localized := e.Locales[locale]; localized {
			// Publishing the master copy into a locale that has its own copy
			// does not publish that copy (documented).
			return "The entry is localized in this locale; publish the localized entry.", nil
		}
	}
	v := it.version
	if v == 0 || v > len(src.Versions) {
		v = len(src.Versions)
	}
	for _, l := range e.Locales {
		l.Publish = dropRecord(l.Publish, envUID, locale)
	}
	src.Publish = append(src.Publish, publishRecord{Environment: envUID, Locale: locale, Version: v, Time: now, User: user})
	return "", []event{s.entryPublishEvent("publish", e, srcLocale, env, locale)}
}

func dropRecord(rs []publishRecord, env, locale string) []publishRecord {
	out := rs[:0]
	for _, p := range rs {
		if p.Environment == env && p.Locale == locale {
			continue
		}
		out = append(out, p)
	}
	return out
}

// ---- bulk ----

func (s *Server) bulkPublish(w http.ResponseWriter, r *http.Request) *apiError {
	return s.bulkPublishAction(w, r, "publish")
}

func (s *Server) bulkUnpublish(w http.ResponseWriter, r *http.Request) *apiError {
	return s.bulkPublishAction(w, r, "unpublish")
}

// bulkPublishAction queues a bulk job and answers with its job_id. Items,
// environments and locales are checked when the job runs; failures show in
// GET /v3/bulk/jobs/{id}/items. A bulk unpublish without environments or
// locales unpublishes everywhere the items are published (assumption).
func (s *Server) bulkPublishAction(w http.ResponseWriter, r *http.Request, action string) *apiError {
	body, ae := readBody(r)
	if ae != nil {
		return ae
	}
	entries := asObjects(body["entries"])
	assets := asObjects(body["assets"])
	if items, ok := body["items"].([]any); ok && len(entries) == 0 {
		for _, x := range asObjects(items) {
			entries = append(entries, doc{"uid": x["uid"], "content_type": x["_content_type_uid"], "locale": x["locale"], "version": x["version"]})
		}
	}
	envs := asStrings(body["environments"])
	locales := asStrings(body["locales"])
	problems := map[string][]string{}
	if len(entries)+len(assets) == 0 {
		problems["entries"] = []string{"is a required field."}
	}
	if len(entries) > bulkMaxItems || len(assets) > bulkMaxItems {
		problems["entries"] = []string{fmt.Sprintf("should not exceed %d.", bulkMaxItems)}
	}
	if len(locales) > bulkMaxLocales {
		problems["locales"] = []string{fmt.Sprintf("should not exceed %d.", bulkMaxLocales)}
	}
	if len(envs) > bulkMaxEnvironments {
		problems["environments"] = []string{fmt.Sprintf("should not exceed %d.", bulkMaxEnvironments)}
	}
	if len(problems) > 0 {
		return errInvalid(141, fmt.Sprintf("Bulk %s failed. You can %s up to 10 entries in 10 languages and 10 environments at a time.", action, action), problems)
	}
	delay, ae := s.publishDelay(str(body["scheduled_at"]))
	if ae != nil {
		return ae
	}
	user := callerOf(r).user
	s.mu.Lock()
	job := &bulkJob{UID: s.st.uuid("job"), Action: action, CreatedBy: user, CreatedAt: s.now(), UpdatedAt: s.now(),
		Status: "in_progress", Branch: branchOf(r), Locales: locales, Scheduled: str(body["scheduled_at"]), Items: []doc{}}
	for _, e := range envs {
		if env, ok := s.st.envByNameOrUID(e); ok {
			job.Envs = append(job.Envs, str(env["uid"]))
		} else {
			job.Envs = append(job.Envs, e)
		}
	}
	s.st.Jobs[job.UID] = job
	s.mu.Unlock()

	s.sched.after(delay, func() { s.runBulkJob(job.UID, entries, assets, user) })
	notice(w, http.StatusOK, fmt.Sprintf("Your bulk %s request is in progress. Please check publish queue for more details.", action), "job_id", job.UID)
	return nil
}

func (s *Server) runBulkJob(jobUID string, entries, assets []doc, user string) {
	s.mu.Lock()
	job, ok := s.st.Jobs[jobUID]
	if !ok {
		s.mu.Unlock()
		return
	}
	now := s.now()
	var evs []event
	type target struct {
		env, locale string
	}
	run := func(it pubItem, title string, version int, targets []target) {
		for _, t := range targets {
			reason, ev := s.applyPublish(job.Action, it, t.env, t.locale, user)
			evs = append(evs, ev...)
			status := doc{"status": "success"}
			published := any(now)
			if reason != "" {
				status = doc{"status": "failed", "failure_reason": reason}
				published = nil
			}
			item := doc{"uid": it.uid, "locale": it.srcLocale, "version": version, "title": title,
				"publish_details": status, "publish_locale": t.locale, "environment": t.env, "action": job.Action,
				"published_at": published, "scheduled_at": job.Scheduled, "user": user, "depth": 1}
			if it.asset {
				item["type"] = "asset"
			} else {
				item["type"] = "entry"
				item["content_type"] = doc{"uid": it.ct}
			}
			job.Items = append(job.Items, item)
		}
	}
	targetsFor := func(published []publishRecord, srcLocale string) []target {
		var ts []target
		if len(job.Envs) == 0 && job.Action == "unpublish" {
			for _, p := range published {
				if len(job.Locales) == 0 || contains(job.Locales, p.Locale) {
					ts = append(ts, target{p.Environment, p.Locale})
				}
			}
			return ts
		}
		locs := job.Locales
		if len(locs) == 0 {
			if job.Action == "unpublish" {
				for _, p := range published {
					if contains(job.Envs, p.Environment) {
						ts = append(ts, target{p.Environment, p.Locale})
					}
				}
				if len(ts) > 0 {
					return ts
				}
			}
			locs = []string{srcLocale}
		}
		for _, env := range job.Envs {
			for _, l := range locs {
				ts = append(ts, target{env, l})
			}
		}
		return ts
	}
	for _, en := range entries {
		it := pubItem{ct: str(en["content_type"]), uid: str(en["uid"]), srcLocale: str(en["locale"])}
		if it.srcLocale == "" {
			it.srcLocale = s.st.MasterLocale
		}
		it.version, _ = asInt(en["version"])
		title, version := "", it.version
		var published []publishRecord
		if e, ok := s.st.Entries[it.uid]; ok {
			if l, _ := s.st.source(e, it.srcLocale); l != nil {
				title = str(l.latest()[titleField(s.st.ContentTypes[e.ContentType])])
				if version == 0 {
					version = len(l.Versions)
				}
			}
			for _, l := range e.Locales {
				published = append(published, l.Publish...)
			}
		}
		run(it, title, version, targetsFor(published, it.srcLocale))
	}
	for _, as := range assets {
		it := pubItem{asset: true, uid: str(as["uid"])}
		it.version, _ = asInt(as["version"])
		title := ""
		var published []publishRecord
		if a, ok := s.st.Assets[it.uid]; ok {
			title = a.Title
			published = a.Publish
		}
		run(it, title, it.version, targetsFor(published, s.st.MasterLocale))
	}
	job.Status = "complete"
	job.Published = now
	job.UpdatedAt = now
	s.mu.Unlock()
	s.dispatch(evs)
}

// bulkDelete is POST /v3/bulk/delete: up to 100 entries (and assets),
// deleted in the background.
func (s *Server) bulkDelete(w http.ResponseWriter, r *http.Request) *apiError {
	body, ae := readBody(r)
	if ae != nil {
		return ae
	}
	entries := asObjects(body["entries"])
	assets := asObjects(body["assets"])
	if len(entries)+len(assets) == 0 {
		return errInvalid(141, "Bulk delete failed.", map[string][]string{"entries": {"is a required field."}})
	}
	if len(entries) > bulkMaxDelete {
		return errInvalid(141, "Bulk delete failed. You can delete up to 100 entries at a time.", map[string][]string{"entries": {"should not exceed 100."}})
	}
	s.sched.after(s.scaled(s.opts.PublishDelay), func() {
		s.mu.Lock()
		var evs []event
		for _, en := range entries {
			ev, _ := s.doDeleteEntry(str(en["content_type"]), str(en["uid"]), str(en["locale"]), nil, false)
			evs = append(evs, ev...)
		}
		for _, as := range assets {
			if ev, ok := s.doDeleteAsset(str(as["uid"])); ok {
				evs = append(evs, ev...)
			}
		}
		s.mu.Unlock()
		s.dispatch(evs)
	})
	notice(w, http.StatusOK, "Your bulk delete request is in progress. Please check bulk task queue for more details.")
	return nil
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	job, ok := s.st.Jobs[r.PathValue("id")]
	if !ok {
		return errNotFound("job")
	}
	writeJSON(w, http.StatusOK, job.view(s.opts.APIKey))
	return nil
}

func (s *Server) getJobItems(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	job, ok := s.st.Jobs[r.PathValue("id")]
	if !ok {
		s.mu.Unlock()
		return errNotFound("job")
	}
	q := r.URL.Query()
	var items []doc
	for _, it := range job.Items {
		pd, _ := it["publish_details"].(doc)
		if st := q.Get("status"); st != "" && (pd == nil || (st == "failed") != (pd["status"] == "failed")) {
			continue
		}
		if t := q.Get("type"); t != "" && it["type"] != t {
			continue
		}
		if cts := q["ct[]"]; len(cts) > 0 {
			ct, _ := it["content_type"].(doc)
			if ct == nil || !contains(cts, str(ct["uid"])) {
				continue
			}
		}
		items = append(items, cloneDoc(it))
	}
	s.mu.Unlock()
	page, total, ae := s.page(r, items, "job items", nil)
	if ae != nil {
		return ae
	}
	skip, _ := queryInt(r, "skip", 0)
	limit, _ := queryInt(r, "limit", maxLimit)
	body := map[string]any{"items": page, "skip": skip, "limit": limit}
	if skip == 0 || qbool(r, "include_count") {
		body["total_count"] = total
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// listJobs is GET /v3/bulk/jobs: the stack's bulk task queue, newest first.
func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	var jobs []doc
	for _, j := range s.st.Jobs {
		v := j.view(s.opts.APIKey)
		v["job_id"] = j.UID
		jobs = append(jobs, v)
	}
	s.mu.Unlock()
	sort.Slice(jobs, func(i, j int) bool { return str(jobs[i]["created_at"]) > str(jobs[j]["created_at"]) })
	page, total, ae := s.page(r, jobs, "jobs", nil)
	if ae != nil {
		return ae
	}
	body := map[string]any{"jobItems": page}
	if qbool(r, "include_count") {
		body["count"] = total
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}
