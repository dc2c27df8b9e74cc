package iconik

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// docOptions steer how search documents are rendered.
type docOptions struct {
	signed     bool            // include signed keyframe/proxy URLs
	downloads  bool            // include file download URLs
	viewFields map[string]bool // restrict metadata to these fields (nil: all)
}

func toMap(v any) map[string]any {
	b, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// assetDoc renders an asset as a search document (AssetElasticSchema).
func (c *call) assetDoc(a *Asset, o docOptions) map[string]any {
	st := c.s.st
	m := toMap(c.assetView(a, false))
	m["object_type"] = "assets"
	ins := c.s.collectionsHolding(a.ID)
	m["in_collections"] = ins
	m["ancestor_collections"] = c.s.ancestorCollections(ins)
	m["versions_number"] = len(a.Versions)
	comments := 0
	for _, sid := range st.segIndex[a.ID] {
		if sg := st.Segments[sid]; sg != nil && sg.SegmentType == "COMMENT" && sg.Status == "ACTIVE" {
			comments++
		}
	}
	m["comments_count"] = comments
	if mi, ok := st.Media[a.ID]; ok {
		m["media_type"] = mi.MediaType
		m["duration_milliseconds"] = mi.DurationMS
	} else {
		m["media_type"] = nil
	}
	meta := map[string]any{}
	if rec := st.Metadata[metaKey("assets", a.ID, latestVersionID(a))]; rec != nil {
		for k, vals := range rec.Values {
			if o.viewFields == nil || o.viewFields[k] {
				meta[k] = append([]any{}, vals...)
			}
		}
	}
	m["metadata"] = meta
	vid := latestVersionID(a)
	var kfs, prs []map[string]any
	if af := st.fileIndex[a.ID]; af != nil {
		for _, id := range af.keyframes {
			k := st.Keyframes[id]
			if k == nil || derefStr(k.VersionID) != vid {
				continue
			}
			km := map[string]any{"id": k.ID, "type": k.Type, "name": k.Name, "filename": k.Filename,
				"resolution": k.Resolution, "version_id": vid, "is_custom_keyframe": k.IsCustomKeyframe, "status": k.Status}
			if o.signed {
				km["url"] = c.mediaURL("keyframes", k.ID, k.Filename, k.IsPublic)
			}
			kfs = append(kfs, km)
		}
		for _, id := range af.proxies {
			p := st.Proxies[id]
			if p == nil || derefStr(p.VersionID) != vid {
				continue
			}
			pm := map[string]any{"id": p.ID, "name": p.Name, "filename": p.Filename, "format": p.Format,
				"codec": p.Codec, "resolution": p.Resolution, "version_id": vid, "status": p.Status}
			if o.signed {
				pm["url"] = c.mediaURL("proxies", p.ID, p.Filename, p.IsPublic)
			}
			prs = append(prs, pm)
		}
		if o.downloads {
			var files []map[string]any
			for _, id := range af.files {
				if f := st.Files[id]; f != nil && f.VersionID == vid {
					files = append(files, map[string]any{"id": f.ID, "name": f.Name, "original_name": f.OriginalName,
						"size": f.Size, "url": c.mediaURL("files", f.ID, f.Name, false)})
				}
			}
			if files != nil {
				m["files"] = files
			}
		}
	}
	if kfs == nil {
		kfs = []map[string]any{}
	}
	if prs == nil {
		prs = []map[string]any{}
	}
	m["keyframes"], m["proxies"] = kfs, prs
	return m
}

func (c *call) assetDocs(items []*Asset, o docOptions) []map[string]any {
	out := make([]map[string]any, 0, len(items))
	for _, a := range items {
		out = append(out, c.assetDoc(a, o))
	}
	return out
}

func (s *Server) ancestorCollections(direct []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range direct {
		col := s.st.Collections[id]
		if col == nil {
			continue
		}
		for _, x := range append(append([]string{}, col.Parents...), id) {
			if !seen[x] {
				seen[x] = true
				out = append(out, x)
			}
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// collectionDoc renders a collection as a search document.
func (c *call) collectionDoc(col *Collection) map[string]any {
	m := toMap(collectionView(col))
	meta := map[string]any{}
	if rec := c.s.st.Metadata[metaKey("collections", col.ID, "")]; rec != nil {
		for k, vals := range rec.Values {
			meta[k] = append([]any{}, vals...)
		}
	}
	m["metadata"] = meta
	return m
}

func (c *call) collectionDocs(items []*Collection) []map[string]any {
	out := make([]map[string]any, 0, len(items))
	for _, col := range items {
		out = append(out, c.collectionDoc(col))
	}
	return out
}

// ---- flattened documents for matching ----

type indexed struct {
	objectType string
	asset      *Asset
	coll       *Collection
	doc        searchDoc
}

func addVals(m map[string][]string, k string, vals ...string) {
	for _, v := range vals {
		if v != "" {
			m[k] = append(m[k], v)
		}
	}
}

func valueString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (s *Server) indexAsset(a *Asset) indexed {
	f := map[string][]string{}
	addVals(f, "id", a.ID)
	addVals(f, "title", a.Title)
	addVals(f, "type", a.Type)
	addVals(f, "status", a.Status)
	addVals(f, "object_type", "assets")
	addVals(f, "external_id", derefStr(a.ExternalID))
	addVals(f, "external_link", derefStr(a.ExternalLink))
	addVals(f, "category", derefStr(a.Category))
	addVals(f, "archive_status", a.ArchiveStatus)
	addVals(f, "analyze_status", a.AnalyzeStatus)
	addVals(f, "is_blocked", strconv.FormatBool(a.IsBlocked))
	addVals(f, "is_online", strconv.FormatBool(a.IsOnline))
	addVals(f, "date_created", a.DateCreated)
	addVals(f, "date_modified", a.DateModified)
	addVals(f, "date_deleted", a.DateDeleted)
	addVals(f, "created_by_user", a.CreatedByUser)
	addVals(f, "updated_by_user", a.UpdatedByUser)
	ins := s.collectionsHolding(a.ID)
	addVals(f, "in_collections", ins...)
	addVals(f, "ancestor_collections", s.ancestorCollections(ins)...)
	for _, v := range a.Versions {
		addVals(f, "versions.id", v.ID)
	}
	if mi, ok := s.st.Media[a.ID]; ok {
		addVals(f, "media_type", mi.MediaType)
		addVals(f, "duration_milliseconds", strconv.FormatInt(mi.DurationMS, 10))
	}
	if rec := s.st.Metadata[metaKey("assets", a.ID, latestVersionID(a))]; rec != nil {
		for k, vals := range rec.Values {
			for _, v := range vals {
				addVals(f, "metadata."+k, valueString(v))
			}
		}
	}
	return indexed{objectType: "assets", asset: a, doc: searchDoc{fields: f}}
}

func (s *Server) indexCollection(col *Collection) indexed {
	f := map[string][]string{}
	addVals(f, "id", col.ID)
	addVals(f, "title", col.Title)
	addVals(f, "status", col.Status)
	addVals(f, "object_type", "collections")
	addVals(f, "external_id", derefStr(col.ExternalID))
	addVals(f, "category", derefStr(col.Category))
	addVals(f, "parent_id", derefStr(col.ParentID))
	addVals(f, "parents", col.Parents...)
	addVals(f, "in_collections", col.InCollections...)
	addVals(f, "ancestor_collections", col.Parents...)
	addVals(f, "is_root", strconv.FormatBool(col.IsRoot))
	addVals(f, "date_created", col.DateCreated)
	addVals(f, "date_modified", col.DateModified)
	addVals(f, "date_deleted", col.DateDeleted)
	addVals(f, "created_by_user", col.CreatedByUser)
	if rec := s.st.Metadata[metaKey("collections", col.ID, "")]; rec != nil {
		for k, vals := range rec.Values {
			for _, v := range vals {
				addVals(f, "metadata."+k, valueString(v))
			}
		}
	}
	return indexed{objectType: "collections", coll: col, doc: searchDoc{fields: f}}
}

// ---- the search request ----

type criteriaTerm struct {
	Name    string   `json:"name"`
	Value   *string  `json:"value"`
	ValueIn []string `json:"value_in"`
	Range   *struct {
		Min      string `json:"min"`
		Max      string `json:"max"`
		Timezone string `json:"timezone"`
	} `json:"range"`
	Exists  *bool `json:"exists"`
	Missing *bool `json:"missing"`
}

type criteriaFilter struct {
	Operator string           `json:"operator"`
	Terms    []criteriaTerm   `json:"terms"`
	Filters  []criteriaFilter `json:"filters"`
}

type searchCriteria struct {
	DocTypes      []string        `json:"doc_types"`
	Query         string          `json:"query"`
	Filter        *criteriaFilter `json:"filter"`
	Sort          []sortKey       `json:"sort"`
	IncludeFields []string        `json:"include_fields"`
	ExcludeFields []string        `json:"exclude_fields"`
	SearchFields  []string        `json:"search_fields"`
	Facets        []string        `json:"facets"`
	FacetsFilters []struct {
		Name    string   `json:"name"`
		ValueIn []string `json:"value_in"`
	} `json:"facets_filters"`
	MetadataViewID string `json:"metadata_view_id"`
	SearchAfter    []any  `json:"search_after"`
}

type sortKey struct {
	Name  string `json:"name"`
	Order string `json:"order"`
}

var docTypes = set("assets", "collections", "segments", "saved_searches", "saved_search_groups")

func (f *criteriaFilter) validate(path string) (string, string) {
	if f.Operator == "" {
		return path + ".operator", "Missing data for required field."
	}
	if !strings.EqualFold(f.Operator, "AND") && !strings.EqualFold(f.Operator, "OR") {
		return path + ".operator", "Must be one of: AND, OR."
	}
	for i, t := range f.Terms {
		if t.Name == "" {
			return fmt.Sprintf("%s.terms.%d.name", path, i), "Missing data for required field."
		}
	}
	for i := range f.Filters {
		if k, m := f.Filters[i].validate(fmt.Sprintf("%s.filters.%d", path, i)); k != "" {
			return k, m
		}
	}
	return "", ""
}

func (f *criteriaFilter) mentions(name string) bool {
	for _, t := range f.Terms {
		if t.Name == name {
			return true
		}
	}
	for i := range f.Filters {
		if f.Filters[i].mentions(name) {
			return true
		}
	}
	return false
}

func (f *criteriaFilter) match(d *searchDoc) bool {
	and := !strings.EqualFold(f.Operator, "OR")
	n := 0
	for _, t := range f.Terms {
		ok := t.match(d)
		if and && !ok {
			return false
		}
		if !and && ok {
			return true
		}
		n++
	}
	for i := range f.Filters {
		ok := f.Filters[i].match(d)
		if and && !ok {
			return false
		}
		if !and && ok {
			return true
		}
		n++
	}
	return and || n == 0
}

func (t *criteriaTerm) match(d *searchDoc) bool {
	vals := d.values(t.Name)
	switch {
	case t.Exists != nil:
		return (len(vals) > 0) == *t.Exists
	case t.Missing != nil:
		return (len(vals) == 0) == *t.Missing
	case t.Range != nil:
		lo, hi := rangeBound(t.Range.Min, t.Range.Timezone), rangeBound(t.Range.Max, t.Range.Timezone)
		for _, v := range vals {
			if inRange(v, lo, hi, true, true) {
				return true
			}
		}
		return false
	case t.Value != nil:
		for _, v := range vals {
			if strings.EqualFold(v, *t.Value) {
				return true
			}
		}
		return false
	case t.ValueIn != nil:
		for _, v := range vals {
			for _, w := range t.ValueIn {
				if strings.EqualFold(v, w) {
					return true
				}
			}
		}
		return false
	}
	return true
}

func isDateField(name string) bool {
	return strings.HasPrefix(name, "date_") || name == "last_archive_restore_date"
}

// sortValue is the _sort value of one key: epoch millis for dates, numbers
// for numeric fields, lowercase strings otherwise ("" when missing).
func sortValue(d *searchDoc, name string) any {
	vals := d.values(name)
	if len(vals) == 0 {
		if isDateField(name) || name == "duration_milliseconds" {
			return int64(0)
		}
		return ""
	}
	v := vals[0]
	if isDateField(name) {
		return parseTime(v).UnixMilli()
	}
	if name == "duration_milliseconds" {
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	return strings.ToLower(v)
}

func compareSortValues(a, b any) int {
	toF := func(v any) (float64, bool) {
		switch x := v.(type) {
		case int64:
			return float64(x), true
		case float64:
			return x, true
		case json.Number:
			f, err := x.Float64()
			return f, err == nil
		}
		return 0, false
	}
	fa, aok := toF(a)
	fb, bok := toF(b)
	if aok && bok {
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	}
	return strings.Compare(strings.ToLower(valueString(a)), strings.ToLower(valueString(b)))
}

func (c *call) search() (int, any) {
	pg, st, b, ok := c.paging(10, c.s.opts.MaxPerPage)
	if !ok {
		return st, b
	}
	var cr searchCriteria
	if st, b, ok := c.decode(&cr); !ok {
		return st, b
	}
	for _, t := range cr.DocTypes {
		if !docTypes[t] {
			return c.invalid("doc_types", "Must be one of: assets, collections, segments, saved_searches, saved_search_groups.")
		}
	}
	if cr.Filter != nil {
		if k, m := cr.Filter.validate("filter"); k != "" {
			return c.invalid(k, m)
		}
	}
	for i, sk := range cr.Sort {
		if sk.Name == "" {
			return c.invalid(fmt.Sprintf("sort.%d.name", i), "Missing data for required field.")
		}
		if sk.Order != "" && sk.Order != "asc" && sk.Order != "desc" {
			return c.invalid(fmt.Sprintf("sort.%d.order", i), "Must be one of: asc, desc.")
		}
	}
	q, err := parseQuery(cr.Query)
	if err != nil {
		return c.fail(http.StatusBadRequest, "Invalid query: "+err.Error())
	}
	if cr.SearchAfter == nil && pg.page*pg.perPage > c.s.opts.SearchMaxWindow {
		return c.fail(http.StatusBadRequest, fmt.Sprintf("Result window is too large, page * per_page must be less than or equal to: %d; use search_after to page deeper", c.s.opts.SearchMaxWindow))
	}
	var viewFields map[string]bool
	if cr.MetadataViewID != "" {
		v := c.s.st.Views[cr.MetadataViewID]
		if v == nil {
			return c.invalid("metadata_view_id", "Metadata view does not exist")
		}
		viewFields = set(v.Fields...)
	}
	types := set(cr.DocTypes...)
	if len(cr.DocTypes) == 0 {
		// UNCONFIRMED default: assets and collections.
		types = set("assets", "collections")
	}
	filterStatus := cr.Filter != nil && cr.Filter.mentions("status")
	textFields := c.textFields(cr.SearchFields)

	var hits []indexed
	consider := func(ix indexed) {
		ix.doc.text = textFields(ix.doc.fields)
		if !filterStatus && len(ix.doc.values("status")) > 0 && ix.doc.values("status")[0] == "DELETED" {
			return
		}
		if cr.Filter != nil && !cr.Filter.match(&ix.doc) {
			return
		}
		if q != nil && !q.match(&ix.doc) {
			return
		}
		hits = append(hits, ix)
	}
	if types["assets"] {
		for _, id := range c.s.st.assetOrder {
			if a := c.s.st.Assets[id]; a != nil {
				consider(c.s.indexAsset(a))
			}
		}
	}
	if types["collections"] {
		for _, col := range sortedByCreated(c.s.st.Collections, func(x *Collection) (string, string) { return x.DateCreated, x.ID }) {
			consider(c.s.indexCollection(col))
		}
	}

	facets := map[string]any{}
	for _, name := range cr.Facets {
		counts := map[string]int{}
		for _, h := range hits {
			for _, v := range h.doc.values(name) {
				counts[v]++
			}
		}
		buckets := make([]map[string]any, 0, len(counts))
		for _, k := range sortedKeys(counts) {
			buckets = append(buckets, map[string]any{"key": k, "doc_count": counts[k]})
		}
		sort.SliceStable(buckets, func(i, j int) bool { return buckets[i]["doc_count"].(int) > buckets[j]["doc_count"].(int) })
		facets[name] = map[string]any{"buckets": buckets, "doc_count_error_upper_bound": 0, "sum_other_doc_count": 0}
	}
	for _, ff := range cr.FacetsFilters {
		t := criteriaTerm{Name: ff.Name, ValueIn: ff.ValueIn}
		kept := hits[:0:0]
		for _, h := range hits {
			if t.match(&h.doc) {
				kept = append(kept, h)
			}
		}
		hits = kept
	}

	keys := cr.Sort
	if len(keys) == 0 {
		keys = []sortKey{{Name: "date_created", Order: "desc"}} // UNCONFIRMED default order
	}
	type sorted struct {
		ix   indexed
		vals []any
		id   string
	}
	rows := make([]sorted, len(hits))
	for i, h := range hits {
		vals := make([]any, len(keys))
		for k, sk := range keys {
			vals[k] = sortValue(&h.doc, sk.Name)
		}
		rows[i] = sorted{ix: h, vals: vals, id: h.doc.values("id")[0]}
	}
	less := func(a, b []any, aid, bid string) int {
		for k, sk := range keys {
			if k >= len(a) || k >= len(b) {
				return 0
			}
			r := compareSortValues(a[k], b[k])
			if sk.Order == "desc" {
				r = -r
			}
			if r != 0 {
				return r
			}
		}
		if aid == "" || bid == "" {
			return 0
		}
		return strings.Compare(aid, bid)
	}
	sort.SliceStable(rows, func(i, j int) bool { return less(rows[i].vals, rows[j].vals, rows[i].id, rows[j].id) < 0 })

	total := len(rows)
	env := listEnvelope{PerPage: pg.perPage, Total: total, Pages: (total + pg.perPage - 1) / pg.perPage, Facets: facets}
	var pageRows []sorted
	if cr.SearchAfter != nil {
		after := cr.SearchAfter
		afterID := ""
		if len(after) > len(keys) {
			afterID = valueString(after[len(keys)])
			after = after[:len(keys)]
		}
		start := sort.Search(len(rows), func(i int) bool {
			r := less(rows[i].vals, after, rows[i].id, afterID)
			return r > 0
		})
		end := min(start+pg.perPage, total)
		pageRows = rows[start:end]
		env.Page = 1
	} else {
		env.Page = pg.page
		if pg.page > 1 && pg.page > env.Pages {
			return c.fail(http.StatusNotFound, "Requested page does not exist")
		}
		start := min((pg.page-1)*pg.perPage, total)
		pageRows = rows[start:min(start+pg.perPage, total)]
		c.pageURLs(&env)
	}
	o := docOptions{signed: c.qBool("generate_signed_url", true), downloads: c.qBool("generate_signed_download_url", false), viewFields: viewFields}
	objects := make([]map[string]any, 0, len(pageRows))
	for _, r := range pageRows {
		var doc map[string]any
		if r.ix.asset != nil {
			doc = c.assetDoc(r.ix.asset, o)
		} else {
			doc = c.collectionDoc(r.ix.coll)
		}
		doc = project(doc, cr.IncludeFields, cr.ExcludeFields)
		doc["_sort"] = append(append([]any{}, r.vals...), r.id)
		objects = append(objects, doc)
	}
	env.Objects = objects
	return http.StatusOK, env
}

// textFields picks the fields bare query words search (search_fields, or
// title, metadata and external_id by default).
func (c *call) textFields(searchFields []string) func(map[string][]string) []string {
	return func(f map[string][]string) []string {
		want := searchFields
		if len(want) == 0 {
			want = []string{"title", "metadata", "external_id"}
		}
		var out []string
		for _, w := range want {
			if w == "metadata" {
				for k := range f {
					if strings.HasPrefix(k, "metadata.") {
						out = append(out, k)
					}
				}
				continue
			}
			out = append(out, w)
		}
		sort.Strings(out)
		return out
	}
}

// project applies include_fields / exclude_fields; id, object_type and title always stay.
func project(doc map[string]any, include, exclude []string) map[string]any {
	if len(include) > 0 {
		out := map[string]any{"id": doc["id"], "object_type": doc["object_type"], "title": doc["title"]}
		var metaKeys []string
		for _, f := range include {
			if k, ok := strings.CutPrefix(f, "metadata."); ok {
				metaKeys = append(metaKeys, k)
				continue
			}
			if v, ok := doc[f]; ok {
				out[f] = v
			}
		}
		if len(metaKeys) > 0 {
			src, _ := doc["metadata"].(map[string]any)
			meta := map[string]any{}
			for _, k := range metaKeys {
				if v, ok := src[k]; ok {
					meta[k] = v
				}
			}
			out["metadata"] = meta
		}
		doc = out
	}
	for _, f := range exclude {
		if f == "id" || f == "object_type" || f == "title" {
			continue
		}
		if k, ok := strings.CutPrefix(f, "metadata."); ok {
			if meta, ok := doc["metadata"].(map[string]any); ok {
				delete(meta, k)
			}
			continue
		}
		delete(doc, f)
	}
	return doc
}
