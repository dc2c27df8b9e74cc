package contentstack

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// entry is one entry with its localized copies. A locale that has no copy
// falls back to the master-locale content.
type entry struct {
	UID         string                `json:"uid"`
	ContentType string                `json:"content_type"`
	CreatedAt   string                `json:"created_at"`
	Seq         int64                 `json:"seq"`
	Locales     map[string]*localized `json:"locales"`
}

// localized is one locale's copy: every saved version, the workflow stage
// and the publish records of content published from this copy.
type localized struct {
	Versions     []doc             `json:"versions"` // Versions[i] is _version i+1
	VersionNames map[string]string `json:"version_names"`
	Workflow     doc               `json:"workflow,omitempty"`
	Publish      []publishRecord   `json:"publish"`
}

// publishRecord is one publish_details item: content of this copy at
// Version is live in Environment for Locale.
type publishRecord struct {
	Environment string `json:"environment"`
	Locale      string `json:"locale"`
	Version     int    `json:"version"`
	Time        string `json:"time"`
	User        string `json:"user"`
}

func (l *localized) latest() doc { return l.Versions[len(l.Versions)-1] }

// systemKeys are entry keys the API manages; they are ignored on write.
var systemKeys = map[string]bool{
	"uid": true, "locale": true, "_version": true, "created_at": true, "updated_at": true,
	"created_by": true, "updated_by": true, "ACL": true, "_in_progress": true, "publish_details": true,
	"_workflow": true, "_metadata": true, "_branch": true, "_rules": true, "_embedded_items": true,
	"_content_type_uid": true, "_version_name": true,
}

// source picks the copy that answers for locale: the localized copy, else
// the master copy.
func (st *state) source(e *entry, locale string) (*localized, string) {
	if l, ok := e.Locales[locale]; ok {
		return l, locale
	}
	if l, ok := e.Locales[st.MasterLocale]; ok {
		return l, st.MasterLocale
	}
	// Created in a non-master locale only: answer with any copy.
	keys := make([]string, 0, len(e.Locales))
	for k := range e.Locales {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return nil, ""
	}
	return e.Locales[keys[0]], keys[0]
}

// renderOpts say which optional keys a rendered entry carries.
type renderOpts struct {
	version   int // 0 = latest
	publish   bool
	workflow  bool
	branch    string
	resolveFS bool // resolve file fields to asset objects
}

// render builds the API view of an entry in a locale.
func (s *Server) render(e *entry, locale string, o renderOpts) (doc, bool) {
	l, _ := s.st.source(e, locale)
	if l == nil {
		return nil, false
	}
	var d doc
	if o.version > 0 {
		if o.version > len(l.Versions) {
			return nil, false
		}
		d = cloneDoc(l.Versions[o.version-1])
	} else {
		d = cloneDoc(l.latest())
	}
	if name, ok := l.VersionNames[strconv.Itoa(intOf(d["_version"]))]; ok {
		d["_version_name"] = name
	}
	if o.publish {
		pd := make([]any, 0, len(l.Publish))
		for _, p := range l.Publish {
			pd = append(pd, doc{"environment": p.Environment, "locale": p.Locale, "time": p.Time, "user": p.User, "version": p.Version})
		}
		d["publish_details"] = pd
	}
	if o.workflow && l.Workflow != nil {
		d["_workflow"] = cloneDoc(l.Workflow)
	}
	if o.branch != "" {
		d["_branch"] = o.branch
	}
	if o.resolveFS {
		if ct, ok := s.st.ContentTypes[e.ContentType]; ok {
			s.resolveFiles(schemaOf(ct), d)
		}
	}
	return d, true
}

// resolveFiles replaces asset uids in file fields by the asset objects, as
// reads of the real API show them.
func (s *Server) resolveFiles(fs []field, d doc) {
	for _, f := range fs {
		v, ok := d[f.UID]
		if !ok {
			continue
		}
		switch f.DataType {
		case "file":
			d[f.UID] = s.resolveFileValue(v)
		case "group", "global_field":
			for _, x := range asObjects(v) {
				s.resolveFiles(f.Schema, x)
			}
		case "blocks":
			for _, x := range asObjects(v) {
				for _, b := range f.Blocks {
					if inner, ok := x[b.UID].(map[string]any); ok {
						s.resolveFiles(b.Schema, inner)
					}
				}
			}
		}
	}
}

func (s *Server) resolveFileValue(v any) any {
	switch t := v.(type) {
	case string:
		if a, ok := s.st.Assets[t]; ok {
			return s.assetView(a)
		}
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = s.resolveFileValue(x)
		}
		return out
	}
	return v
}

func asObjects(v any) []map[string]any {
	switch t := v.(type) {
	case map[string]any:
		return []map[string]any{t}
	case []any:
		var out []map[string]any
		for _, x := range t {
			if m, ok := x.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

// queryView is the document queries run against: everything, including
// publish_details and _workflow.
func (s *Server) queryView(e *entry, locale string) doc {
	d, _ := s.render(e, locale, renderOpts{publish: true, workflow: true})
	return d
}

func (s *Server) renderFromRequest(r *http.Request, e *entry, locale string, version int) (doc, bool) {
	q := r.URL.Query()
	o := renderOpts{
		version:   version,
		publish:   q.Get("include_publish_details") != "false",
		workflow:  qbool(r, "include_workflow"),
		resolveFS: true,
	}
	if qbool(r, "include_branch") {
		o.branch = branchOf(r)
	}
	d, ok := s.render(e, locale, o)
	if !ok {
		return nil, false
	}
	applyProjection(r, d)
	return d, true
}

// applyProjection honours only[BASE][] and except[BASE][].
func applyProjection(r *http.Request, d doc) {
	q := r.URL.Query()
	if only := q["only[BASE][]"]; len(only) > 0 {
		keep := map[string]bool{"uid": true}
		for _, k := range only {
			keep[k] = true
		}
		for k := range d {
			if !keep[k] {
				delete(d, k)
			}
		}
	}
	for _, k := range q["except[BASE][]"] {
		if k != "uid" {
			delete(d, k)
		}
	}
}

// requestLocale reads locale (or locale_code) and checks it exists.
func (s *Server) requestLocale(r *http.Request) (string, *apiError) {
	loc := r.URL.Query().Get("locale")
	if loc == "" {
		loc = r.URL.Query().Get("locale_code")
	}
	if loc == "" {
		return s.st.MasterLocale, nil
	}
	if _, ok := s.st.Locales[loc]; !ok {
		return "", errInvalid(141, "Language was not found. Please try again.", map[string][]string{"locale": {"is not valid."}})
	}
	return loc, nil
}

func (s *Server) lookupEntry(ctUID, uid string) (doc, *entry, *apiError) {
	ct, ok := s.st.ContentTypes[ctUID]
	if !ok {
		return nil, nil, errCTNotFound(ctUID)
	}
	e, ok := s.st.Entries[uid]
	if !ok || e.ContentType != ctUID {
		return nil, nil, errEntryNotFound()
	}
	return ct, e, nil
}

// ---- list / get ----

func (s *Server) listEntries(w http.ResponseWriter, r *http.Request) *apiError {
	ctUID := r.PathValue("ct")
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.st.ContentTypes[ctUID]; !ok {
		return errCTNotFound(ctUID)
	}
	locale, e := s.requestLocale(r)
	if e != nil {
		return e
	}
	ents := s.entriesOf(ctUID)
	views := make([]doc, len(ents))
	for i, en := range ents {
		views[i] = s.queryView(en, locale)
	}
	if r.URL.Query().Get("asc") == "" && r.URL.Query().Get("desc") == "" {
		// Default order: newest first (assumption), ties by uid for stable paging.
		order := make([]int, len(ents))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool {
			ea, eb := ents[order[a]], ents[order[b]]
			if ea.CreatedAt != eb.CreatedAt {
				return ea.CreatedAt > eb.CreatedAt
			}
			return ea.Seq > eb.Seq
		})
		sortedEnts := make([]*entry, len(ents))
		sortedViews := make([]doc, len(ents))
		for i, o := range order {
			sortedEnts[i], sortedViews[i] = ents[o], views[o]
		}
		ents, views = sortedEnts, sortedViews
	}
	byUID := make(map[string]*entry, len(ents))
	for _, en := range ents {
		byUID[en.UID] = en
	}
	page, total, e := s.page(r, views, "entries", s.resolveRef(locale))
	if e != nil {
		return e
	}
	if qbool(r, "count") {
		writeJSON(w, http.StatusOK, map[string]any{"entries": total})
		return nil
	}
	out := make([]any, 0, len(page))
	for _, v := range page {
		d, _ := s.renderFromRequest(r, byUID[str(v["uid"])], locale, 0)
		out = append(out, d)
	}
	body := map[string]any{"entries": out}
	if qbool(r, "include_count") {
		body["count"] = total
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// resolveRef resolves a reference value {uid,_content_type_uid} to entry views.
func (s *Server) resolveRef(locale string) refResolver {
	return func(ref any) []doc {
		var uid string
		switch t := ref.(type) {
		case map[string]any:
			uid = str(t["uid"])
		case string:
			uid = t
		}
		if e, ok := s.st.Entries[uid]; ok {
			return []doc{s.queryView(e, locale)}
		}
		return nil
	}
}

// entriesOf lists a content type's entries in creation order.
func (s *Server) entriesOf(ctUID string) []*entry {
	var out []*entry
	for _, e := range s.st.Entries {
		if e.ContentType == ctUID {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

func (s *Server) getEntry(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, e, ae := s.lookupEntry(r.PathValue("ct"), r.PathValue("uid"))
	if ae != nil {
		return ae
	}
	locale, ae := s.requestLocale(r)
	if ae != nil {
		return ae
	}
	version, ok := queryInt(r, "version", 0)
	if !ok || version < 0 {
		return errInvalid(141, "The requested version doesn't exist.", map[string][]string{"version": {"is not valid."}})
	}
	d, ok := s.renderFromRequest(r, e, locale, version)
	if !ok {
		if version > 0 {
			return errInvalid(141, "The requested version doesn't exist.", map[string][]string{"version": {"is not valid."}})
		}
		return errEntryNotFound()
	}
	writeJSON(w, http.StatusOK, map[string]any{"entry": d})
	return nil
}

// ---- create / update ----

func (s *Server) createEntry(w http.ResponseWriter, r *http.Request) *apiError {
	body, ae := readBody(r)
	if ae != nil {
		return ae
	}
	fields, _ := body["entry"].(map[string]any)
	if fields == nil {
		return errInvalid(119, "Entry creation failed. Please enter valid data.", map[string][]string{"entry": {"is a required field."}})
	}
	s.mu.Lock()
	locale, ae := s.requestLocale(r)
	if ae != nil {
		s.mu.Unlock()
		return ae
	}
	d, evs, ae := s.doCreateEntry(callerOf(r), r.PathValue("ct"), locale, fields, branchOf(r))
	s.mu.Unlock()
	if ae != nil {
		return ae
	}
	s.dispatch(evs)
	writeJSON(w, http.StatusCreated, map[string]any{"notice": "Entry created successfully.", "entry": d})
	return nil
}

// doCreateEntry creates an entry; the caller holds s.mu and dispatches the events.
func (s *Server) doCreateEntry(c caller, ctUID, locale string, fields doc, branch string) (doc, []event, *apiError) {
	ct, ok := s.st.ContentTypes[ctUID]
	if !ok {
		return nil, nil, errCTNotFound(ctUID)
	}
	clean, problems := s.prepareFields(ct, fields, nil, "")
	if len(problems) == 0 {
		s.checkRequired(ct, clean, problems)
		s.checkUnique(ct, clean, locale, "", problems)
	}
	if len(problems) > 0 {
		return nil, nil, errInvalid(119, "Entry creation failed. Please enter valid data.", problems)
	}
	now := s.now()
	uid := s.st.bltUID("entry")
	clean["uid"] = uid
	clean["locale"] = locale
	clean["_version"] = 1
	clean["created_at"], clean["updated_at"] = now, now
	clean["created_by"], clean["updated_by"] = c.user, c.user
	clean["ACL"] = doc{}
	clean["_in_progress"] = false
	if _, ok := clean["tags"]; !ok {
		clean["tags"] = []any{}
	}
	l := &localized{Versions: []doc{clean}, VersionNames: map[string]string{}}
	if wf, stage := s.workflowFor(ctUID, branch); wf != nil && stage != nil {
		l.Workflow = doc{"uid": stage["uid"], "updated_at": now, "updated_by": c.user, "version": 1,
			"assigned_to": []any{}, "assigned_by_roles": []any{}}
	}
	s.st.Seq++
	e := &entry{UID: uid, ContentType: ctUID, CreatedAt: now, Seq: s.st.Seq, Locales: map[string]*localized{locale: l}}
	s.st.Entries[uid] = e
	d, _ := s.render(e, locale, renderOpts{resolveFS: true})
	return d, []event{s.entryEvent("create", e, locale, nil)}, nil
}

func (s *Server) updateEntry(w http.ResponseWriter, r *http.Request) *apiError {
	body, ae := readBody(r)
	if ae != nil {
		return ae
	}
	fields, _ := body["entry"].(map[string]any)
	if fields == nil {
		return errInvalid(119, "Entry update failed. Please enter valid data.", map[string][]string{"entry": {"is a required field."}})
	}
	s.mu.Lock()
	locale, ae := s.requestLocale(r)
	if ae != nil {
		s.mu.Unlock()
		return ae
	}
	d, evs, ae := s.doUpdateEntry(callerOf(r), r.PathValue("ct"), r.PathValue("uid"), locale, fields)
	s.mu.Unlock()
	if ae != nil {
		return ae
	}
	s.dispatch(evs)
	writeJSON(w, http.StatusOK, map[string]any{"notice": "Entry updated successfully.", "entry": d})
	return nil
}

// doUpdateEntry merges fields into the locale's copy (top-level keys
// replace, omitted keys are kept; atomic PUSH/PULL/UPDATE/ADD/SUB apply to
// the current value) and saves a new version. Passing a locale that has no
// copy yet localizes the entry. The caller holds s.mu.
func (s *Server) doUpdateEntry(c caller, ctUID, uid, locale string, fields doc) (doc, []event, *apiError) {
	ct, e, ae := s.lookupEntry(ctUID, uid)
	if ae != nil {
		return nil, nil, ae
	}
	l, have := e.Locales[locale]
	var base doc
	if have {
		base = l.latest()
	} else {
		src, _ := s.st.source(e, locale)
		if src == nil {
			return nil, nil, errEntryNotFound()
		}
		base = src.latest()
	}
	merged, problems := s.prepareFields(ct, fields, base, "")
	if len(problems) == 0 {
		s.checkRequired(ct, merged, problems)
		s.checkUnique(ct, merged, locale, uid, problems)
	}
	if len(problems) > 0 {
		return nil, nil, errInvalid(119, "Entry update failed. Please enter valid data.", problems)
	}
	now := s.now()
	for k, v := range base {
		if systemKeys[k] {
			merged[k] = clone(v)
		}
	}
	merged["uid"] = uid
	merged["locale"] = locale
	merged["updated_at"] = now
	merged["updated_by"] = c.user
	merged["_in_progress"] = false
	delete(merged, "publish_details")
	delete(merged, "_workflow")
	delete(merged, "_version_name")
	if have {
		merged["_version"] = len(l.Versions) + 1
		l.Versions = append(l.Versions, merged)
	} else {
		merged["_version"] = 1
		merged["created_at"] = now
		merged["created_by"] = c.user
		nl := &localized{Versions: []doc{merged}, VersionNames: map[string]string{}}
		if src, _ := s.st.source(e, locale); src != nil && src.Workflow != nil {
			nl.Workflow = cloneDoc(src.Workflow)
		}
		e.Locales[locale] = nl
		// Content published in this locale until now came from the master copy.
		for _, other := range e.Locales {
			if other == nl {
				continue
			}
			kept := other.Publish[:0]
			for _, p := range other.Publish {
				if p.Locale == locale {
					nl.Publish = append(nl.Publish, p)
					continue
				}
				kept = append(kept, p)
			}
			other.Publish = kept
		}
	}
	d, _ := s.render(e, locale, renderOpts{resolveFS: true})
	return d, []event{s.entryEvent("update", e, locale, nil)}, nil
}

// prepareFields validates input fields against the schema and returns the
// document to store: base (if any) with the input merged in.
func (s *Server) prepareFields(ct doc, input, base doc, _ string) (doc, map[string][]string) {
	problems := map[string][]string{}
	schema := schemaOf(ct)
	byUID := map[string]field{}
	for _, f := range schema {
		byUID[f.UID] = f
	}
	out := doc{}
	for k, v := range base {
		if !systemKeys[k] {
			out[k] = clone(v)
		}
	}
	for k, v := range input {
		if systemKeys[k] {
			continue
		}
		if k == "tags" {
			if _, ok := byUID["tags"]; !ok {
				if v != nil && asStrings(v) == nil {
					problems["tags"] = append(problems["tags"], "is not valid.")
				}
				out["tags"] = clone(v)
				continue
			}
		}
		f, known := byUID[k]
		if !known {
			if s.opts.IgnoreUnknownFields {
				continue
			}
			problems[k] = append(problems[k], "is not a valid field.")
			continue
		}
		v = clone(v)
		if m, ok := v.(map[string]any); ok && isAtomic(m) {
			nv, err := applyAtomic(out[k], m)
			if err != "" {
				problems[k] = append(problems[k], err)
				continue
			}
			v = nv
		}
		v = normalizeValue(f, v)
		checkValue(f, v, k, problems)
		out[k] = v
	}
	return out, problems
}

func isAtomic(m map[string]any) bool {
	if len(m) != 1 {
		return false
	}
	for k := range m {
		switch k {
		case "PUSH", "PULL", "UPDATE", "ADD", "SUB":
			return true
		}
	}
	return false
}

// applyAtomic applies an atomic operator to the current value.
func applyAtomic(cur any, m map[string]any) (any, string) {
	for op, arg := range m {
		switch op {
		case "PUSH":
			am, _ := arg.(map[string]any)
			arr, _ := cur.([]any)
			arr = append([]any(nil), arr...)
			switch d := am["data"].(type) {
			case []any:
				arr = append(arr, d...)
			default:
				arr = append(arr, d)
			}
			return arr, ""
		case "PULL":
			am, _ := arg.(map[string]any)
			arr, _ := cur.([]any)
			out := []any{}
			var q map[string]any
			if qq, ok := am["query"].(map[string]any); ok {
				q = qq
			}
			for _, x := range arr {
				drop := false
				if q != nil {
					drop = matcher{}.matchField(doc{"v": x}, []string{"v"}, q)
				} else if d, ok := am["data"]; ok {
					drop = equal(x, d)
				}
				if !drop {
					out = append(out, x)
				}
			}
			return out, ""
		case "UPDATE":
			am, _ := arg.(map[string]any)
			arr, _ := cur.([]any)
			i, ok := asInt(am["index"])
			if !ok || i < 0 || i >= len(arr) {
				return nil, "has an invalid index."
			}
			arr = append([]any(nil), arr...)
			arr[i] = am["data"]
			return arr, ""
		case "ADD", "SUB":
			n, ok := asFloat(arg)
			if !ok {
				return nil, "is not a number."
			}
			c, _ := asFloat(cur)
			if op == "SUB" {
				n = -n
			}
			return numberValue(c + n), ""
		}
	}
	return cur, ""
}

func numberValue(f float64) any {
	if f == float64(int64(f)) {
		return jsonNumber(strconv.FormatInt(int64(f), 10))
	}
	return jsonNumber(strconv.FormatFloat(f, 'f', -1, 64))
}

// normalizeValue turns accepted write shapes into the stored shape (file
// fields store asset uids; a single reference object becomes a list).
func normalizeValue(f field, v any) any {
	switch f.DataType {
	case "file":
		toUID := func(x any) any {
			if m, ok := x.(map[string]any); ok && m["uid"] != nil {
				return str(m["uid"])
			}
			return x
		}
		if arr, ok := v.([]any); ok {
			out := make([]any, len(arr))
			for i, x := range arr {
				out[i] = toUID(x)
			}
			return out
		}
		return toUID(v)
	case "reference":
		if m, ok := v.(map[string]any); ok {
			return []any{m}
		}
	}
	return v
}

// checkValue type-checks a value against its field, recursing into groups,
// global fields and modular blocks.
func checkValue(f field, v any, path string, problems map[string][]string) {
	if v == nil {
		return
	}
	bad := func() { problems[path] = append(problems[path], "is not valid.") }
	each := func(check func(x any) bool) {
		if f.Multiple {
			arr, ok := v.([]any)
			if !ok {
				bad()
				return
			}
			for _, x := range arr {
				if !check(x) {
					bad()
					return
				}
			}
			return
		}
		if !check(v) {
			bad()
		}
	}
	switch f.DataType {
	case "text":
		each(func(x any) bool {
			s, ok := x.(string)
			if ok && len(f.Enum) > 0 && s != "" && !contains(f.Enum, s) {
				return false
			}
			return ok
		})
	case "number":
		each(func(x any) bool { _, ok := asFloat(x); return ok })
	case "boolean":
		each(func(x any) bool { _, ok := x.(bool); return ok })
	case "isodate":
		each(func(x any) bool { s, ok := x.(string); return ok && (s == "" || len(s) >= 10) })
	case "link":
		each(func(x any) bool { _, ok := x.(map[string]any); return ok || x == nil })
	case "file":
		check := func(x any) bool { _, ok := x.(string); return ok }
		if arr, ok := v.([]any); ok {
			for _, x := range arr {
				if !check(x) {
					bad()
					return
				}
			}
			return
		}
		if !check(v) {
			bad()
		}
	case "reference":
		arr, ok := v.([]any)
		if !ok {
			bad()
			return
		}
		for _, x := range arr {
			m, ok := x.(map[string]any)
			if !ok || str(m["uid"]) == "" {
				bad()
				return
			}
			if ctu := str(m["_content_type_uid"]); ctu != "" && len(f.ReferenceTo) > 0 && !contains(f.ReferenceTo, ctu) {
				bad()
				return
			}
		}
	case "group", "global_field":
		objs := []any{v}
		if f.Multiple {
			arr, ok := v.([]any)
			if !ok {
				bad()
				return
			}
			objs = arr
		}
		for i, o := range objs {
			m, ok := o.(map[string]any)
			if !ok {
				bad()
				return
			}
			p := path
			if f.Multiple {
				p = fmt.Sprintf("%s.%d", path, i)
			}
			checkNested(f.Schema, m, p, problems)
		}
	case "blocks":
		arr, ok := v.([]any)
		if !ok {
			bad()
			return
		}
		for i, x := range arr {
			m, ok := x.(map[string]any)
			if !ok {
				bad()
				return
			}
			found := false
			for _, b := range f.Blocks {
				inner, ok := m[b.UID]
				if !ok {
					continue
				}
				found = true
				im, ok := inner.(map[string]any)
				if !ok {
					bad()
					return
				}
				checkNested(b.Schema, im, fmt.Sprintf("%s.%d.%s", path, i, b.UID), problems)
			}
			if !found {
				bad()
				return
			}
		}
	case "json", "taxonomy":
		// Any JSON: JSON RTE documents, custom (extension/app) fields such as
		// a DAM picker's array of asset objects, taxonomy terms.
	}
}

// checkNested validates an object's keys against a nested schema; unknown
// keys inside groups and blocks are reported like top-level ones, except
// _metadata which the UI adds to blocks.
func checkNested(schema []field, m map[string]any, path string, problems map[string][]string) {
	if schema == nil {
		return
	}
	byUID := map[string]field{}
	for _, f := range schema {
		byUID[f.UID] = f
	}
	for k, v := range m {
		if k == "_metadata" {
			continue
		}
		f, ok := byUID[k]
		if !ok {
			problems[path+"."+k] = append(problems[path+"."+k], "is not a valid field.")
			continue
		}
		nv := normalizeValue(f, v)
		m[k] = nv
		checkValue(f, nv, path+"."+k, problems)
	}
	for _, f := range schema {
		if f.Mandatory && isEmpty(m[f.UID]) {
			problems[path+"."+f.UID] = append(problems[path+"."+f.UID], "is a required field.")
		}
	}
}

func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(t) == ""
	case []any:
		return len(t) == 0
	}
	return false
}

func (s *Server) checkRequired(ct doc, d doc, problems map[string][]string) {
	for _, f := range schemaOf(ct) {
		if f.Mandatory && isEmpty(d[f.UID]) {
			problems[f.UID] = append(problems[f.UID], "is a required field.")
		}
	}
}

// checkUnique enforces unique fields among the content type's entries in the locale.
func (s *Server) checkUnique(ct doc, d doc, locale, self string, problems map[string][]string) {
	ctUID := str(ct["uid"])
	for _, f := range schemaOf(ct) {
		if !f.Unique || isEmpty(d[f.UID]) {
			continue
		}
		for _, other := range s.st.Entries {
			if other.ContentType != ctUID || other.UID == self {
				continue
			}
			l, ok := other.Locales[locale]
			if !ok {
				continue
			}
			if equal(l.latest()[f.UID], d[f.UID]) {
				problems[f.UID] = append(problems[f.UID], "is not unique.")
				break
			}
		}
	}
}

// ---- delete ----

func (s *Server) deleteEntry(w http.ResponseWriter, r *http.Request) *apiError {
	body, ae := readBody(r)
	if ae != nil {
		return ae
	}
	s.mu.Lock()
	locale := r.URL.Query().Get("locale")
	var locales []string
	if eb, ok := body["entry"].(map[string]any); ok {
		locales = asStrings(eb["locales"])
	}
	evs, ae := s.doDeleteEntry(r.PathValue("ct"), r.PathValue("uid"), locale, locales, qbool(r, "delete_all_localized"))
	s.mu.Unlock()
	if ae != nil {
		return ae
	}
	s.dispatch(evs)
	notice(w, http.StatusOK, "Entry deleted successfully.")
	return nil
}

// doDeleteEntry deletes one localized copy (locale), several (locales), the
// master copy (no locale), or everything (deleteAll). The caller holds s.mu.
func (s *Server) doDeleteEntry(ctUID, uid, locale string, locales []string, deleteAll bool) ([]event, *apiError) {
	_, e, ae := s.lookupEntry(ctUID, uid)
	if ae != nil {
		return nil, ae
	}
	var targets []string
	switch {
	case len(locales) > 0:
		targets = locales
	case deleteAll:
		for l := range e.Locales {
			targets = append(targets, l)
		}
	case locale != "":
		targets = []string{locale}
	default:
		targets = []string{s.st.MasterLocale}
		if len(e.Locales) == 1 {
			for l := range e.Locales {
				targets = []string{l}
			}
		}
	}
	sort.Strings(targets)
	var evs []event
	for _, l := range targets {
		if _, ok := e.Locales[l]; !ok {
			if len(targets) == 1 {
				return nil, errEntryNotFound()
			}
			continue
		}
		evs = append(evs, s.entryEvent("delete", e, l, nil))
		delete(e.Locales, l)
	}
	if len(e.Locales) == 0 {
		delete(s.st.Entries, uid)
	}
	return evs, nil
}

// ---- versions, locales, references, import/export ----

func (s *Server) entryVersions(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, e, ae := s.lookupEntry(r.PathValue("ct"), r.PathValue("uid"))
	if ae != nil {
		return ae
	}
	locale, ae := s.requestLocale(r)
	if ae != nil {
		return ae
	}
	l, _ := s.st.source(e, locale)
	if l == nil {
		return errEntryNotFound()
	}
	var out []doc
	for i := len(l.Versions) - 1; i >= 0; i-- {
		v := l.Versions[i]
		item := doc{"_version": i + 1, "locale": v["locale"], "updated_at": v["updated_at"], "updated_by": v["updated_by"]}
		name, named := l.VersionNames[strconv.Itoa(i+1)]
		if named {
			item["_version_name"] = name
		}
		if qbool(r, "named") && !named {
			continue
		}
		out = append(out, item)
	}
	page, total, ae := s.page(r, out, "versions", nil)
	if ae != nil {
		return ae
	}
	body := map[string]any{"versions": page}
	if r.URL.Query().Get("include_count") != "false" {
		body["count"] = total
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (s *Server) nameEntryVersion(w http.ResponseWriter, r *http.Request) *apiError {
	return s.setVersionName(w, r, true)
}

func (s *Server) unnameEntryVersion(w http.ResponseWriter, r *http.Request) *apiError {
	return s.setVersionName(w, r, false)
}

func (s *Server) setVersionName(w http.ResponseWriter, r *http.Request, set bool) *apiError {
	body, ae := readBody(r)
	if ae != nil {
		return ae
	}
	eb, _ := body["entry"].(map[string]any)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, e, ae := s.lookupEntry(r.PathValue("ct"), r.PathValue("uid"))
	if ae != nil {
		return ae
	}
	locale := str(eb["locale"])
	if locale == "" || e.Locales[locale] == nil {
		_, locale = s.st.source(e, locale)
	}
	l := e.Locales[locale]
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 || n > len(l.Versions) {
		return errInvalid(141, "The requested version doesn't exist.", map[string][]string{"version": {"is not valid."}})
	}
	if !set {
		delete(l.VersionNames, strconv.Itoa(n))
		notice(w, http.StatusOK, "Version name deleted successfully.")
		return nil
	}
	name := str(eb["_version_name"])
	if name == "" {
		return errInvalid(141, "Version name could not be assigned.", map[string][]string{"_version_name": {"is a required field."}})
	}
	l.VersionNames[strconv.Itoa(n)] = name
	notice(w, http.StatusOK, "Version name assigned successfully.")
	return nil
}

func (s *Server) entryLocales(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, e, ae := s.lookupEntry(r.PathValue("ct"), r.PathValue("uid"))
	if ae != nil {
		return ae
	}
	codes := make([]string, 0, len(s.st.Locales))
	for c := range s.st.Locales {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	out := []any{}
	for _, c := range codes {
		_, localized := e.Locales[c]
		out = append(out, doc{"code": c, "localized": localized})
	}
	writeJSON(w, http.StatusOK, map[string]any{"locales": out})
	return nil
}

func (s *Server) unlocalizeEntry(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	_, e, ae := s.lookupEntry(r.PathValue("ct"), r.PathValue("uid"))
	if ae != nil {
		s.mu.Unlock()
		return ae
	}
	locale := r.URL.Query().Get("locale")
	if locale == "" || locale == s.st.MasterLocale || e.Locales[locale] == nil {
		s.mu.Unlock()
		return errInvalid(141, "Entry could not be unlocalized.", map[string][]string{"locale": {"is not valid."}})
	}
	ev := s.entryEvent("update", e, locale, nil)
	delete(e.Locales, locale)
	s.mu.Unlock()
	s.dispatch([]event{ev})
	notice(w, http.StatusOK, "Entry unlocalized successfully.")
	return nil
}

func (s *Server) entryReferences(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, target, ae := s.lookupEntry(r.PathValue("ct"), r.PathValue("uid"))
	if ae != nil {
		return ae
	}
	locale, ae := s.requestLocale(r)
	if ae != nil {
		return ae
	}
	refs := []any{}
	for _, e := range s.st.Entries {
		v := s.queryView(e, locale)
		if v == nil {
			continue
		}
		ct := s.st.ContentTypes[e.ContentType]
		if refersTo(schemaOf(ct), v, target.UID) {
			refs = append(refs, doc{"entry_uid": e.UID, "content_type_uid": e.ContentType, "locale": v["locale"],
				"title": v[titleField(ct)], "content_type_title": ct["title"]})
		}
	}
	sort.Slice(refs, func(i, j int) bool { return str(refs[i].(doc)["entry_uid"]) < str(refs[j].(doc)["entry_uid"]) })
	writeJSON(w, http.StatusOK, map[string]any{"references": refs})
	return nil
}

// refersTo reports whether a document's reference fields point at uid.
func refersTo(fs []field, d doc, uid string) bool {
	for _, f := range fs {
		v := d[f.UID]
		switch f.DataType {
		case "reference":
			for _, x := range asObjects(v) {
				if str(x["uid"]) == uid {
					return true
				}
			}
		case "group", "global_field":
			for _, x := range asObjects(v) {
				if refersTo(f.Schema, x, uid) {
					return true
				}
			}
		case "blocks":
			for _, x := range asObjects(v) {
				for _, b := range f.Blocks {
					if inner, ok := x[b.UID].(map[string]any); ok && refersTo(b.Schema, inner, uid) {
						return true
					}
				}
			}
		}
	}
	return false
}

func (s *Server) exportEntry(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, e, ae := s.lookupEntry(r.PathValue("ct"), r.PathValue("uid"))
	if ae != nil {
		return ae
	}
	locale, ae := s.requestLocale(r)
	if ae != nil {
		return ae
	}
	d, _ := s.render(e, locale, renderOpts{})
	writeJSON(w, http.StatusOK, d)
	return nil
}

// importEntry creates an entry (entries/import) or overwrites one
// (entries/{uid}/import) from the multipart "entry" JSON file.
func (s *Server) importEntry(w http.ResponseWriter, r *http.Request) *apiError {
	fields, ae := readMultipartJSON(r, "entry")
	if ae != nil {
		return ae
	}
	s.mu.Lock()
	locale, ae := s.requestLocale(r)
	if ae != nil {
		s.mu.Unlock()
		return ae
	}
	var d doc
	var evs []event
	if uid := r.PathValue("uid"); uid != "" {
		d, evs, ae = s.doUpdateEntry(callerOf(r), r.PathValue("ct"), uid, locale, fields)
	} else {
		d, evs, ae = s.doCreateEntry(callerOf(r), r.PathValue("ct"), locale, fields, branchOf(r))
	}
	s.mu.Unlock()
	if ae != nil {
		return ae
	}
	s.dispatch(evs)
	writeJSON(w, http.StatusOK, map[string]any{"notice": "Entry imported successfully.", "entry": d})
	return nil
}
