package contentstack

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
)

// field is one parsed content-type schema field.
type field struct {
	UID          string
	DataType     string
	Multiple     bool
	Mandatory    bool
	Unique       bool
	Schema       []field // group, global_field (when given inline)
	Blocks       []block // modular blocks
	ReferenceTo  []string
	ExtensionUID string
	Enum         []string // select choices
}

type block struct {
	UID    string
	Schema []field
}

var uidPattern = regexp.MustCompile(`^[a-z0-9_]+$`)

// parseSchema reads a schema array, collecting problems under path.
func parseSchema(v any, path string, problems map[string][]string) []field {
	arr, ok := v.([]any)
	if !ok {
		if v != nil {
			problems[path] = append(problems[path], "is not valid.")
		}
		return nil
	}
	seen := map[string]bool{}
	out := make([]field, 0, len(arr))
	for i, x := range arr {
		p := fmt.Sprintf("%s.%d", path, i)
		m, ok := x.(map[string]any)
		if !ok {
			problems[p] = append(problems[p], "is not valid.")
			continue
		}
		f := field{UID: str(m["uid"]), DataType: str(m["data_type"]),
			Multiple: asBool(m["multiple"]), Mandatory: asBool(m["mandatory"]), Unique: asBool(m["unique"]),
			ExtensionUID: str(m["extension_uid"])}
		if f.UID == "" {
			problems[p+".uid"] = append(problems[p+".uid"], "is a required field.")
		} else if seen[f.UID] {
			problems[p+".uid"] = append(problems[p+".uid"], "is not unique.")
		}
		seen[f.UID] = true
		if str(m["display_name"]) == "" {
			problems[p+".display_name"] = append(problems[p+".display_name"], "is a required field.")
		}
		if f.DataType == "" && f.UID != "taxonomies" {
			problems[p+".data_type"] = append(problems[p+".data_type"], "is a required field.")
		}
		switch rt := m["reference_to"].(type) {
		case string:
			f.ReferenceTo = []string{rt}
		case []any:
			f.ReferenceTo = asStrings(rt)
		}
		switch f.DataType {
		case "group":
			f.Schema = parseSchema(m["schema"], p+".schema", problems)
		case "global_field":
			if m["schema"] != nil {
				f.Schema = parseSchema(m["schema"], p+".schema", problems)
			}
		case "blocks":
			bl, _ := m["blocks"].([]any)
			for j, b := range bl {
				bm, _ := b.(map[string]any)
				if bm == nil {
					continue
				}
				bp := fmt.Sprintf("%s.blocks.%d", p, j)
				blk := block{UID: str(bm["uid"])}
				if blk.UID == "" {
					problems[bp+".uid"] = append(problems[bp+".uid"], "is a required field.")
				}
				blk.Schema = parseSchema(bm["schema"], bp+".schema", problems)
				f.Blocks = append(f.Blocks, blk)
			}
		}
		if en, ok := m["enum"].(map[string]any); ok {
			ch, _ := en["choices"].([]any)
			for _, c := range ch {
				if cm, ok := c.(map[string]any); ok {
					f.Enum = append(f.Enum, str(cm["value"]))
				}
			}
		}
		out = append(out, f)
	}
	return out
}

// schemaOf parses a stored content type's schema (already validated).
func schemaOf(ct doc) []field {
	return parseSchema(ct["schema"], "schema", map[string][]string{})
}

// validateContentType checks a content_type body and returns the problems.
func validateContentType(body doc, creating bool) map[string][]string {
	problems := map[string][]string{}
	if str(body["title"]) == "" {
		problems["title"] = []string{"is a required field."}
	}
	uid := str(body["uid"])
	if creating {
		if uid == "" {
			problems["uid"] = []string{"is a required field."}
		} else if !uidPattern.MatchString(uid) {
			problems["uid"] = []string{"is not valid."}
		}
	}
	if body["schema"] != nil {
		parseSchema(body["schema"], "schema", problems)
	}
	return problems
}

func (s *Server) contentTypeDoc(body doc, uid, now, user string, version int, prev doc) doc {
	ct := cloneDoc(body)
	ct["uid"] = uid
	if ct["schema"] == nil {
		// A content type created without a schema gets the default Title
		// field, as one created in the UI does (assumption).
		ct["schema"] = []any{titleFieldDoc()}
	}
	if ct["options"] == nil {
		ct["options"] = doc{"title": "title", "is_page": false, "singleton": false}
	}
	if _, ok := ct["description"]; !ok {
		ct["description"] = ""
	}
	ct["created_at"] = now
	ct["created_by"] = user
	if prev != nil {
		ct["created_at"] = prev["created_at"]
		ct["created_by"] = prev["created_by"]
	}
	ct["updated_at"] = now
	ct["updated_by"] = user
	ct["_version"] = version
	ct["inbuilt_class"] = false
	ct["last_activity"] = doc{}
	ct["maintain_revisions"] = true
	ct["abilities"] = doc{"get_one_object": true, "get_all_objects": true, "create_object": true,
		"update_object": true, "delete_object": true, "delete_all_objects": true}
	ct["DEFAULT_ACL"] = doc{"others": doc{"read": false, "create": false}, "users": []any{},
		"management_token": doc{"read": true}}
	ct["SYS_ACL"] = doc{"roles": []any{}, "others": doc{"read": false, "create": false, "update": false, "delete": false,
		"sub_acl": doc{"read": false, "create": false, "update": false, "delete": false, "publish": false}}}
	return ct
}

// putContentType creates or replaces a content type; the caller holds s.mu.
func (s *Server) putContentType(body doc, user string) (doc, *apiError) {
	uid := str(body["uid"])
	if p := validateContentType(body, true); len(p) > 0 {
		return nil, errInvalid(115, "Content Type creation failed. Please enter valid data.", p)
	}
	prev := s.st.ContentTypes[uid]
	version := 1
	if prev != nil {
		version = intOf(prev["_version"]) + 1
	}
	ct := s.contentTypeDoc(body, uid, s.now(), user, version, prev)
	s.st.ContentTypes[uid] = ct
	return ct, nil
}

func intOf(v any) int {
	n, _ := asInt(v)
	return n
}

func (s *Server) listContentTypes(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	docs := make([]doc, 0, len(s.st.ContentTypes))
	for _, ct := range s.st.ContentTypes {
		docs = append(docs, cloneDoc(ct))
	}
	s.mu.Unlock()
	sort.Slice(docs, func(i, j int) bool {
		return str(docs[i]["created_at"])+str(docs[i]["uid"]) < str(docs[j]["created_at"])+str(docs[j]["uid"])
	})
	page, count, e := s.page(r, docs, "content types", nil)
	if e != nil {
		return e
	}
	body := map[string]any{"content_types": page}
	if qbool(r, "include_count") {
		body["count"] = count
	}
	if qbool(r, "include_branch") {
		for _, d := range page {
			d["_branch"] = branchOf(r)
		}
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (s *Server) getContentType(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	ct, ok := s.st.ContentTypes[r.PathValue("ct")]
	if !ok {
		return errCTNotFound(r.PathValue("ct"))
	}
	out := cloneDoc(ct)
	if qbool(r, "include_branch") {
		out["_branch"] = branchOf(r)
	}
	writeJSON(w, http.StatusOK, map[string]any{"content_type": out})
	return nil
}

func (s *Server) createContentType(w http.ResponseWriter, r *http.Request) *apiError {
	body, e := readBody(r)
	if e != nil {
		return e
	}
	ctBody, _ := body["content_type"].(map[string]any)
	if ctBody == nil {
		return errInvalid(115, "Content Type creation failed. Please enter valid data.", map[string][]string{"content_type": {"is a required field."}})
	}
	s.mu.Lock()
	if _, exists := s.st.ContentTypes[str(ctBody["uid"])]; exists {
		s.mu.Unlock()
		return errInvalid(115, "Content Type creation failed. Please enter valid data.", map[string][]string{"uid": {"is not unique."}})
	}
	ct, e := s.putContentType(ctBody, callerOf(r).user)
	if e != nil {
		s.mu.Unlock()
		return e
	}
	out, ev := cloneDoc(ct), s.contentTypeEvent("create", ct)
	s.mu.Unlock()
	s.dispatch([]event{ev})
	writeJSON(w, http.StatusCreated, map[string]any{"notice": "Content Type created successfully.", "content_type": out})
	return nil
}

func (s *Server) updateContentType(w http.ResponseWriter, r *http.Request) *apiError {
	body, e := readBody(r)
	if e != nil {
		return e
	}
	uid := r.PathValue("ct")
	ctBody, _ := body["content_type"].(map[string]any)
	if ctBody == nil {
		return errInvalid(115, "Content Type update failed. Please enter valid data.", map[string][]string{"content_type": {"is a required field."}})
	}
	s.mu.Lock()
	prev, ok := s.st.ContentTypes[uid]
	if !ok {
		s.mu.Unlock()
		return errCTNotFound(uid)
	}
	merged := cloneDoc(prev)
	for k, v := range ctBody {
		merged[k] = v
	}
	merged["uid"] = uid
	ct, e := s.putContentType(merged, callerOf(r).user)
	if e != nil {
		s.mu.Unlock()
		e.Message = "Content Type update failed. Please enter valid data."
		return e
	}
	out, ev := cloneDoc(ct), s.contentTypeEvent("update", ct)
	s.mu.Unlock()
	s.dispatch([]event{ev})
	writeJSON(w, http.StatusOK, map[string]any{"notice": "Content Type updated successfully.", "content_type": out})
	return nil
}

func (s *Server) deleteContentType(w http.ResponseWriter, r *http.Request) *apiError {
	uid := r.PathValue("ct")
	s.mu.Lock()
	ct, ok := s.st.ContentTypes[uid]
	if !ok {
		s.mu.Unlock()
		return errCTNotFound(uid)
	}
	ev := s.contentTypeEvent("delete", ct)
	delete(s.st.ContentTypes, uid)
	for id, e := range s.st.Entries {
		if e.ContentType == uid {
			delete(s.st.Entries, id)
		}
	}
	s.mu.Unlock()
	s.dispatch([]event{ev})
	notice(w, http.StatusOK, "Content Type deleted successfully.")
	return nil
}

func (s *Server) contentTypeReferences(w http.ResponseWriter, r *http.Request) *apiError {
	uid := r.PathValue("ct")
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.st.ContentTypes[uid]; !ok {
		return errCTNotFound(uid)
	}
	refs := []string{}
	for other, ct := range s.st.ContentTypes {
		if schemaRefers(schemaOf(ct), uid) {
			refs = append(refs, other)
		}
	}
	sort.Strings(refs)
	writeJSON(w, http.StatusOK, map[string]any{"references": refs})
	return nil
}

func schemaRefers(fs []field, target string) bool {
	for _, f := range fs {
		if contains(f.ReferenceTo, target) || schemaRefers(f.Schema, target) {
			return true
		}
		for _, b := range f.Blocks {
			if schemaRefers(b.Schema, target) {
				return true
			}
		}
	}
	return false
}

func (s *Server) exportContentType(w http.ResponseWriter, r *http.Request) *apiError {
	uid := r.PathValue("ct")
	s.mu.Lock()
	defer s.mu.Unlock()
	ct, ok := s.st.ContentTypes[uid]
	if !ok {
		return errCTNotFound(uid)
	}
	writeJSON(w, http.StatusOK, cloneDoc(ct))
	return nil
}

// importContentType reads the multipart "content_type" file (a content type
// JSON, with or without the {"content_type": …} wrapper).
func (s *Server) importContentType(w http.ResponseWriter, r *http.Request) *apiError {
	body, e := readMultipartJSON(r, "content_type")
	if e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.st.ContentTypes[str(body["uid"])]; exists && !qbool(r, "overwrite") {
		return errInvalid(115, "Content Type import failed. Please enter valid data.", map[string][]string{"uid": {"is not unique."}})
	}
	ct, e := s.putContentType(body, callerOf(r).user)
	if e != nil {
		return e
	}
	writeJSON(w, http.StatusOK, map[string]any{"notice": "Content Type imported successfully.", "content_type": cloneDoc(ct)})
	return nil
}

// readMultipartJSON reads a JSON file from a multipart form field and
// unwraps {name: {...}} if present.
func readMultipartJSON(r *http.Request, name string) (doc, *apiError) {
	if err := r.ParseMultipartForm(16 << 20); err != nil {
		return nil, errBadBody(fmt.Errorf("parsing multipart form: %w", err))
	}
	f, _, err := r.FormFile(name)
	var b []byte
	if err == nil {
		defer f.Close()
		b, err = io.ReadAll(f)
		if err != nil {
			return nil, errBadBody(fmt.Errorf("reading %s file: %w", name, err))
		}
	} else if v := r.FormValue(name); v != "" {
		b = []byte(v)
	} else {
		return nil, errInvalid(141, "Import failed. Please upload a valid file.", map[string][]string{name: {"is a required field."}})
	}
	var d doc
	if err := decodeJSON(b, &d); err != nil || d == nil {
		return nil, errInvalid(141, "Import failed. Please upload a valid file.", map[string][]string{name: {"is not valid JSON."}})
	}
	if inner, ok := d[name].(map[string]any); ok {
		d = inner
	}
	return d, nil
}

// titleField returns the content type's title field uid (options.title or "title").
func titleField(ct doc) string {
	if o, ok := ct["options"].(map[string]any); ok {
		if t := str(o["title"]); t != "" && !strings.Contains(t, " ") {
			return t
		}
	}
	return "title"
}
