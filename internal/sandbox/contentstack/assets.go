package contentstack

import (
	"bytes"
	"fmt"
	"image"
	_ "image/gif"  // register decoders for include_dimension
	_ "image/jpeg" // register decoders for include_dimension
	_ "image/png"  // register decoders for include_dimension
	"io"
	"mime"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
)

// folderContentType is the content_type the API shows for asset folders
// (spelled as in the documented samples).
const folderContentType = "application/vnd.contenstack.folder"

// asset is an uploaded file or a folder.
type asset struct {
	UID         string          `json:"uid"`
	IsDir       bool            `json:"is_dir"`
	Name        string          `json:"name,omitempty"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	Filename    string          `json:"filename"`
	ContentType string          `json:"content_type"`
	ParentUID   string          `json:"parent_uid"`
	Tags        []string        `json:"tags"`
	Version     int             `json:"version"`
	UploadUID   string          `json:"upload_uid"`
	Data        []byte          `json:"data"`
	Width       int             `json:"width,omitempty"`
	Height      int             `json:"height,omitempty"`
	CreatedAt   string          `json:"created_at"`
	UpdatedAt   string          `json:"updated_at"`
	CreatedBy   string          `json:"created_by"`
	UpdatedBy   string          `json:"updated_by"`
	History     []doc           `json:"history"` // {_version, updated_at, updated_by}
	Publish     []publishRecord `json:"publish"`
}

// assetView is the API shape of an asset; the caller holds s.mu.
func (s *Server) assetView(a *asset) doc {
	var parent any
	if a.ParentUID != "" {
		parent = a.ParentUID
	}
	tags := toAnySlice(a.Tags)
	if a.IsDir {
		return doc{"uid": a.UID, "created_at": a.CreatedAt, "updated_at": a.UpdatedAt, "created_by": a.CreatedBy,
			"updated_by": a.UpdatedBy, "content_type": folderContentType, "tags": tags, "name": a.Name, "ACL": doc{},
			"is_dir": true, "parent_uid": parent, "_version": a.Version}
	}
	d := doc{"uid": a.UID, "created_at": a.CreatedAt, "updated_at": a.UpdatedAt, "created_by": a.CreatedBy,
		"updated_by": a.UpdatedBy, "content_type": a.ContentType, "file_size": strconv.Itoa(len(a.Data)),
		"tags": tags, "filename": a.Filename, "url": s.assetURL(a), "ACL": doc{}, "is_dir": false,
		"parent_uid": parent, "_version": a.Version, "title": a.Title, "description": a.Description}
	if a.Width > 0 {
		d["dimension"] = doc{"height": a.Height, "width": a.Width}
	}
	pd := make([]any, 0, len(a.Publish))
	for _, p := range a.Publish {
		pd = append(pd, doc{"environment": p.Environment, "locale": p.Locale, "time": p.Time, "user": p.User, "version": p.Version})
	}
	d["publish_details"] = pd
	return d
}

// assetURL mirrors https://assets.contentstack.io/v3/assets/{api_key}/{asset_uid}/{upload_uid}/{filename}
// on the sandbox host. The caller holds s.mu.
func (s *Server) assetURL(a *asset) string {
	base := s.baseURL
	if base == "" {
		base = "http://localhost"
	}
	return fmt.Sprintf("%s/v3/assets/%s/%s/%s/%s", base, s.opts.APIKey, a.UID, a.UploadUID, a.Filename)
}

func (s *Server) assetEvent(kind string, a *asset) event {
	v := s.assetView(a)
	chs := []string{"assets." + kind}
	if kind != "create" {
		chs = append(chs, "assets."+a.UID+"."+kind)
	}
	return event{module: "asset", name: kind, branch: "main", channels: chs,
		data:    doc{"asset": v, "branch": branchDoc("main")},
		concise: doc{"asset": doc{"uid": a.UID, "title": a.Title, "_version": a.Version}}}
}

func (s *Server) assetPublishEvent(action string, a *asset, env doc, locale string) event {
	ev := s.assetEvent(action, a)
	ev.data["environment"] = cloneDoc(env)
	ev.data["action"] = action
	ev.data["status"] = "success"
	ev.data["locale"] = locale
	ev.concise["environment"] = doc{"uid": env["uid"], "name": env["name"]}
	ev.concise["locale"] = locale
	envUID := str(env["uid"])
	ev.channels = []string{
		"assets." + action,
		"assets.environments." + action + ".success",
		"assets.environments." + envUID + "." + action + ".success",
		"assets." + a.UID + ".environments." + action + ".success",
		"assets." + a.UID + ".environments." + envUID + "." + action + ".success",
	}
	return ev
}

// storeUpload creates an asset from bytes; the caller holds s.mu.
func (s *Server) storeUpload(filename, contentType string, data []byte, title, description, parent string, tags []string, user string) *asset {
	now := s.now()
	if contentType == "" || contentType == "application/octet-stream" {
		if ct := mime.TypeByExtension(path.Ext(filename)); ct != "" {
			contentType = ct
		}
	}
	if title == "" {
		title = filename
	}
	a := &asset{UID: s.st.bltUID("asset"), Title: title, Description: description, Filename: filename,
		ContentType: contentType, ParentUID: parent, Tags: tags, Version: 1, UploadUID: s.st.hex16("upload")[:12] + "0a1b2c3d4e5f",
		Data: data, CreatedAt: now, UpdatedAt: now, CreatedBy: user, UpdatedBy: user}
	if a.Tags == nil {
		a.Tags = []string{}
	}
	a.measure()
	a.History = []doc{{"_version": 1, "updated_at": now, "updated_by": user}}
	s.st.Assets[a.UID] = a
	return a
}

func (a *asset) measure() {
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(a.Data)); err == nil {
		a.Width, a.Height = cfg.Width, cfg.Height
	} else {
		a.Width, a.Height = 0, 0
	}
}

func splitTags(v string) []string {
	var out []string
	for _, t := range strings.Split(v, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// readUpload reads asset[upload] and the text fields of a multipart form.
func readUpload(r *http.Request) (name, ctype string, data []byte, fields map[string]string, ae *apiError) {
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		return "", "", nil, nil, errBadBody(fmt.Errorf("parsing multipart form: %w", err))
	}
	fields = map[string]string{}
	for _, k := range []string{"title", "description", "tags", "parent_uid", "permanent_url"} {
		if vs, ok := r.MultipartForm.Value["asset["+k+"]"]; ok && len(vs) > 0 {
			fields[k] = vs[0]
		}
	}
	f, hdr, err := r.FormFile("asset[upload]")
	if err != nil {
		return "", "", nil, fields, nil
	}
	defer f.Close()
	data, err = io.ReadAll(f)
	if err != nil {
		return "", "", nil, nil, errBadBody(fmt.Errorf("reading upload: %w", err))
	}
	return path.Base(hdr.Filename), hdr.Header.Get("Content-Type"), data, fields, nil
}

func isMultipart(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data")
}

func (s *Server) uploadAsset(w http.ResponseWriter, r *http.Request) *apiError {
	if !isMultipart(r) {
		return errInvalid(141, "Asset creation failed. Please upload a file.", map[string][]string{"asset[upload]": {"is a required field."}})
	}
	name, ctype, data, fields, ae := readUpload(r)
	if ae != nil {
		return ae
	}
	if data == nil {
		return errInvalid(141, "Asset creation failed. Please upload a file.", map[string][]string{"asset[upload]": {"is a required field."}})
	}
	s.mu.Lock()
	if p := fields["parent_uid"]; p != "" {
		if f, ok := s.st.Assets[p]; !ok || !f.IsDir {
			s.mu.Unlock()
			return errInvalid(141, "Asset creation failed. Please enter valid data.", map[string][]string{"parent_uid": {"is not valid."}})
		}
	}
	a := s.storeUpload(name, ctype, data, fields["title"], fields["description"], fields["parent_uid"], splitTags(fields["tags"]), callerOf(r).user)
	v := s.assetView(a)
	ev := s.assetEvent("create", a)
	s.mu.Unlock()
	s.dispatch([]event{ev})
	if !qbool(r, "include_dimension") {
		delete(v, "dimension")
	}
	writeJSON(w, http.StatusCreated, map[string]any{"notice": "Asset created successfully.", "asset": v})
	return nil
}

func (s *Server) listAssets(w http.ResponseWriter, r *http.Request) *apiError {
	folder := r.URL.Query().Get("folder")
	withDirs := qbool(r, "include_folders") || strings.Contains(r.URL.Query().Get("query"), "is_dir")
	s.mu.Lock()
	var list []*asset
	for _, a := range s.st.Assets {
		if a.IsDir && !withDirs {
			continue
		}
		if folder != "" && a.ParentUID != folder {
			continue
		}
		list = append(list, a)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].CreatedAt+list[i].UID < list[j].CreatedAt+list[j].UID })
	views := make([]doc, len(list))
	for i, a := range list {
		views[i] = s.assetView(a)
	}
	s.mu.Unlock()
	page, total, ae := s.page(r, views, "assets", nil)
	if ae != nil {
		return ae
	}
	body := map[string]any{"assets": page}
	if qbool(r, "include_count") {
		body["count"] = total
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (s *Server) getAsset(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.Assets[r.PathValue("uid")]
	if !ok || a.IsDir {
		return errNotFound("asset")
	}
	writeJSON(w, http.StatusOK, map[string]any{"asset": s.assetView(a)})
	return nil
}

// assetSubresource serves GET /v3/assets/folders/{uid} and GET /v3/assets/{uid}/versions.
func (s *Server) assetSubresource(w http.ResponseWriter, r *http.Request) *apiError {
	a, b := r.PathValue("a"), r.PathValue("b")
	switch {
	case a == "folders":
		return s.getFolder(w, r, b)
	case b == "versions":
		return s.assetVersions(w, r, a)
	}
	return errNotFoundRoute()
}

func (s *Server) assetVersions(w http.ResponseWriter, r *http.Request, uid string) *apiError {
	s.mu.Lock()
	a, ok := s.st.Assets[uid]
	if !ok || a.IsDir {
		s.mu.Unlock()
		return errNotFound("asset")
	}
	var vs []doc
	for i := len(a.History) - 1; i >= 0; i-- {
		vs = append(vs, cloneDoc(a.History[i]))
	}
	s.mu.Unlock()
	page, total, ae := s.page(r, vs, "versions", nil)
	if ae != nil {
		return ae
	}
	body := map[string]any{"versions": page}
	if qbool(r, "include_count") {
		body["count"] = total
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// updateAsset accepts JSON ({"asset":{title,description,tags}}) or
// multipart (asset[upload] replaces the file; asset[title] etc.).
func (s *Server) updateAsset(w http.ResponseWriter, r *http.Request) *apiError {
	var name, ctype string
	var data []byte
	fields := map[string]string{}
	var tags []string
	haveTags := false
	if isMultipart(r) {
		var ae *apiError
		name, ctype, data, fields, ae = readUpload(r)
		if ae != nil {
			return ae
		}
		if t, ok := fields["tags"]; ok {
			tags, haveTags = splitTags(t), true
		}
	} else {
		body, ae := readBody(r)
		if ae != nil {
			return ae
		}
		ab, _ := body["asset"].(map[string]any)
		for _, k := range []string{"title", "description", "parent_uid"} {
			if v, ok := ab[k]; ok {
				fields[k] = str(v)
			}
		}
		if v, ok := ab["tags"]; ok {
			tags, haveTags = asStrings(v), true
		}
	}
	s.mu.Lock()
	a, ok := s.st.Assets[r.PathValue("uid")]
	if !ok || a.IsDir {
		s.mu.Unlock()
		return errNotFound("asset")
	}
	if v, ok := fields["title"]; ok && v != "" {
		a.Title = v
	}
	if v, ok := fields["description"]; ok {
		a.Description = v
	}
	if v, ok := fields["parent_uid"]; ok {
		a.ParentUID = v
	}
	if haveTags {
		a.Tags = tags
		if a.Tags == nil {
			a.Tags = []string{}
		}
	}
	if data != nil {
		a.Data, a.Filename = data, name
		if ctype != "" {
			a.ContentType = ctype
		}
		a.UploadUID = s.st.hex16("upload")[:12] + "0a1b2c3d4e5f"
		a.measure()
	}
	a.Version++
	a.UpdatedAt, a.UpdatedBy = s.now(), callerOf(r).user
	a.History = append(a.History, doc{"_version": a.Version, "updated_at": a.UpdatedAt, "updated_by": a.UpdatedBy})
	v := s.assetView(a)
	ev := s.assetEvent("update", a)
	s.mu.Unlock()
	s.dispatch([]event{ev})
	writeJSON(w, http.StatusOK, map[string]any{"notice": "Asset updated successfully.", "asset": v})
	return nil
}

func (s *Server) deleteAsset(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	a, ok := s.st.Assets[r.PathValue("uid")]
	if !ok || a.IsDir {
		s.mu.Unlock()
		return errNotFound("asset")
	}
	evs, _ := s.doDeleteAsset(a.UID)
	s.mu.Unlock()
	s.dispatch(evs)
	notice(w, http.StatusOK, "Asset deleted successfully.")
	return nil
}

// doDeleteAsset removes an asset (or a folder with its contents); the
// caller holds s.mu.
func (s *Server) doDeleteAsset(uid string) ([]event, bool) {
	a, ok := s.st.Assets[uid]
	if !ok {
		return nil, false
	}
	var evs []event
	if a.IsDir {
		for _, child := range s.st.Assets {
			if child.ParentUID == uid {
				ev, _ := s.doDeleteAsset(child.UID)
				evs = append(evs, ev...)
			}
		}
	} else {
		evs = append(evs, s.assetEvent("delete", a))
	}
	delete(s.st.Assets, uid)
	return evs, true
}

// downloadAsset serves the file behind an asset URL; like the real assets
// host it needs no credentials.
func (s *Server) downloadAsset(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a, ok := s.st.Assets[r.PathValue("uid")]
	valid := ok && !a.IsDir && r.PathValue("apikey") == s.opts.APIKey && r.PathValue("upload") == a.UploadUID
	var data []byte
	var ctype string
	if valid {
		data, ctype = a.Data, a.ContentType
	}
	s.mu.Unlock()
	if !valid {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

// ---- folders ----

func (s *Server) createFolder(w http.ResponseWriter, r *http.Request) *apiError {
	body, ae := readBody(r)
	if ae != nil {
		return ae
	}
	ab, _ := body["asset"].(map[string]any)
	name := str(ab["name"])
	if name == "" {
		return errInvalid(141, "Folder creation failed. Please enter valid data.", map[string][]string{"name": {"is a required field."}})
	}
	s.mu.Lock()
	parent := str(ab["parent_uid"])
	if parent != "" {
		if p, ok := s.st.Assets[parent]; !ok || !p.IsDir {
			s.mu.Unlock()
			return errInvalid(141, "Folder creation failed. Please enter valid data.", map[string][]string{"parent_uid": {"is not valid."}})
		}
	}
	now, user := s.now(), callerOf(r).user
	f := &asset{UID: s.st.bltUID("folder"), IsDir: true, Name: name, ParentUID: parent, Tags: []string{}, Version: 1,
		CreatedAt: now, UpdatedAt: now, CreatedBy: user, UpdatedBy: user}
	s.st.Assets[f.UID] = f
	v := s.assetView(f)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"notice": "Folder created successfully.", "asset": v})
	return nil
}

func (s *Server) getFolder(w http.ResponseWriter, r *http.Request, uid string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.st.Assets[uid]
	if !ok || !f.IsDir {
		return errNotFound("folder")
	}
	v := s.assetView(f)
	if qbool(r, "include_path") {
		var p []any
		for cur := f.ParentUID; cur != ""; {
			pf, ok := s.st.Assets[cur]
			if !ok {
				break
			}
			p = append([]any{doc{"uid": pf.UID, "name": pf.Name}}, p...)
			cur = pf.ParentUID
		}
		v["path"] = orEmpty(p)
	}
	writeJSON(w, http.StatusOK, map[string]any{"asset": v})
	return nil
}

func (s *Server) updateFolder(w http.ResponseWriter, r *http.Request) *apiError {
	body, ae := readBody(r)
	if ae != nil {
		return ae
	}
	ab, _ := body["asset"].(map[string]any)
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.st.Assets[r.PathValue("uid")]
	if !ok || !f.IsDir {
		return errNotFound("folder")
	}
	if n := str(ab["name"]); n != "" {
		f.Name = n
	}
	if p, ok := ab["parent_uid"]; ok {
		ps := str(p)
		if ps == f.UID {
			return errInvalid(141, "Folder update failed. A folder cannot be nested within itself.", map[string][]string{"parent_uid": {"is not valid."}})
		}
		f.ParentUID = ps
	}
	f.Version++
	f.UpdatedAt, f.UpdatedBy = s.now(), callerOf(r).user
	writeJSON(w, http.StatusOK, map[string]any{"notice": "Folder updated successfully.", "asset": s.assetView(f)})
	return nil
}

func (s *Server) deleteFolder(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	f, ok := s.st.Assets[r.PathValue("uid")]
	if !ok || !f.IsDir {
		s.mu.Unlock()
		return errNotFound("folder")
	}
	evs, _ := s.doDeleteAsset(f.UID)
	s.mu.Unlock()
	s.dispatch(evs)
	notice(w, http.StatusOK, "Folder deleted successfully.")
	return nil
}
