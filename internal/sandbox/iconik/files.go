package iconik

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

var fileStatuses = set("OPEN", "GROWING", "AWAITED", "CLOSED", "FAILED", "ARCHIVED", "MISSING", "REDISCOVERED", "DELETED")

// archiveDelay is how long a simulated archive or restore takes (before TimeScale).
const archiveDelay = 2 * time.Second

// Storage ids created by the base data.
const (
	StorageFilesID     = "7a1b2c3d-4e5f-4061-8a7b-8c9d0e1f2a01"
	StorageProxiesID   = "7a1b2c3d-4e5f-4061-8a7b-8c9d0e1f2a02"
	StorageKeyframesID = "7a1b2c3d-4e5f-4061-8a7b-8c9d0e1f2a03"
	StorageArchiveID   = "7a1b2c3d-4e5f-4061-8a7b-8c9d0e1f2a04"
)

// ---- media URLs the server serves itself ----

// mediaPrefix is where proxies, keyframes and original files are served.
const mediaPrefix = "/media/"

// mediaURL is a signed URL (expiring after SignedURLTTL) or, for public
// objects, a stable one.
func (c *call) mediaURL(kind, id, filename string, public bool) string {
	p := mediaPrefix + kind + "/" + id + "/" + url.PathEscape(filename)
	if public {
		return c.base + p
	}
	exp := strconv.FormatInt(c.s.now().Add(c.s.opts.SignedURLTTL).Unix(), 10)
	return c.base + p + "?Expires=" + exp + "&Signature=" + c.s.sign(kind+"/"+id+"|"+exp)
}

var (
	jpegOnce sync.Once
	jpegBody []byte
)

// placeholderJPEG is a small grey 16:9 frame used as every keyframe's bytes.
func placeholderJPEG() []byte {
	jpegOnce.Do(func() {
		img := image.NewRGBA(image.Rect(0, 0, 64, 36))
		for y := 0; y < 36; y++ {
			for x := 0; x < 64; x++ {
				img.Set(x, y, color.RGBA{R: uint8(60 + x), G: uint8(60 + y), B: 90, A: 255})
			}
		}
		var buf bytes.Buffer
		_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 60})
		jpegBody = buf.Bytes()
	})
	return jpegBody
}

// placeholderMP4 is the start of an MP4 file (an ftyp box), enough for content sniffing.
func placeholderMP4() []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, uint32(24))
	b.WriteString("ftypisom")
	_ = binary.Write(&b, binary.BigEndian, uint32(512))
	b.WriteString("isomiso2")
	b.WriteString("iconik sandbox placeholder media")
	return b.Bytes()
}

func (s *Server) serveMedia(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, mediaPrefix), "/")
	if len(parts) >= 3 && parts[0] == "upload" {
		s.serveUpload(w, r, parts[1], parts[2])
		return
	}
	if len(parts) < 2 || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	kind, id := parts[0], parts[1]
	s.mu.Lock()
	public, exists := false, false
	ctype, body := "application/octet-stream", []byte("iconik sandbox placeholder file\n")
	switch kind {
	case "proxies":
		if p := s.st.Proxies[id]; p != nil {
			exists, public, ctype, body = true, p.IsPublic, "video/mp4", placeholderMP4()
		}
	case "keyframes":
		if k := s.st.Keyframes[id]; k != nil {
			exists, public, ctype, body = true, k.IsPublic, "image/jpeg", placeholderJPEG()
		}
	case "files":
		exists = s.st.Files[id] != nil
	}
	s.mu.Unlock()
	if !exists {
		http.Error(w, "NoSuchKey", http.StatusNotFound)
		return
	}
	if !public {
		exp := r.URL.Query().Get("Expires")
		sig := r.URL.Query().Get("Signature")
		n, err := strconv.ParseInt(exp, 10, 64)
		if err != nil || !hmac.Equal([]byte(sig), []byte(s.sign(kind+"/"+id+"|"+exp))) {
			http.Error(w, "SignatureDoesNotMatch", http.StatusForbidden)
			return
		}
		if time.Unix(n, 0).Before(s.now()) {
			http.Error(w, "ExpiredToken: the signed URL has expired", http.StatusBadRequest)
			return
		}
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}

// serveUpload accepts the bytes of a file or proxy upload (discarded; the size is kept).
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request, kind, id string) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		http.Error(w, "use PUT", http.StatusMethodNotAllowed)
		return
	}
	if !hmac.Equal([]byte(r.URL.Query().Get("Signature")), []byte(s.sign("upload/"+kind+"/"+id))) {
		http.Error(w, "SignatureDoesNotMatch", http.StatusForbidden)
		return
	}
	n, _ := io.Copy(io.Discard, io.LimitReader(r.Body, 1<<30))
	s.mu.Lock()
	switch kind {
	case "files":
		if f := s.st.Files[id]; f != nil {
			f.Size = n
		}
	case "proxies":
		if p := s.st.Proxies[id]; p != nil {
			p.Size = &n
		}
	case "keyframes":
		if k := s.st.Keyframes[id]; k != nil {
			k.Size = &n
		}
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (c *call) uploadURL(kind, id string) string {
	return c.base + mediaPrefix + "upload/" + kind + "/" + id + "?Signature=" + c.s.sign("upload/"+kind+"/"+id)
}

// ---- cursor lists (files service: per_page + last_id) ----

func cursorList[T any](c *call, items []T, idOf func(T) string) (int, any) {
	perPage := 10
	if v := c.q("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return c.invalid("per_page", "Must be greater than or equal to 1 and less than or equal to 1000.")
		}
		perPage = n
	}
	start := 0
	if last := c.q("last_id"); last != "" {
		start = len(items)
		for i, it := range items {
			if idOf(it) == last {
				start = i + 1
				break
			}
		}
	}
	end := min(start+perPage, len(items))
	out := append([]T{}, items[start:end]...)
	env := map[string]any{"objects": out, "per_page": perPage, "total": len(items)}
	if end < len(items) && end > 0 {
		q := c.r.URL.Query()
		q.Set("last_id", idOf(items[end-1]))
		q.Set("per_page", strconv.Itoa(perPage))
		env["next_url"] = c.r.URL.Path + "?" + q.Encode()
	}
	return http.StatusOK, env
}

// versionScope picks which version's objects a files-service list shows.
func (c *call) versionScope(a *Asset) (string, bool) {
	if v := c.path("version_id"); v != "" {
		return v, false
	}
	return latestVersionID(a), c.qBool("include_all_versions", false)
}

// ---- storages ----

func (c *call) listStorages() (int, any) {
	pg, st, b, ok := c.paging(10, 100)
	if !ok {
		return st, b
	}
	var items []Storage
	for _, id := range sortedKeys(c.s.st.Storages) {
		sto := c.s.st.Storages[id]
		if v := c.q("purpose"); v != "" && sto.Purpose != v {
			continue
		}
		items = append(items, *sto)
	}
	env, ok := pageOf(c, items, pg)
	if !ok {
		return c.fail(http.StatusNotFound, "Requested page does not exist")
	}
	return http.StatusOK, env
}

func (c *call) getStorage() (int, any) {
	sto := c.s.st.Storages[c.path("storage_id")]
	if sto == nil {
		return c.fail(http.StatusNotFound, "Storage does not exist")
	}
	return http.StatusOK, *sto
}

// ---- formats ----

func (s *Server) insertFormat(a *Asset, versionID, name, user string) *Format {
	now := s.stamp()
	f := &Format{ID: s.newID(), AssetID: a.ID, VersionID: versionID, Name: name, Status: "ACTIVE",
		ArchiveStatus: "NOT_ARCHIVED", IsOnline: true, UserID: user, StorageMethods: []string{"GCS"},
		Metadata: []map[string]string{}, DateCreated: now, DateModified: now}
	s.st.Formats[f.ID] = f
	af := s.st.filesOf(a.ID)
	af.formats = append(af.formats, f.ID)
	return f
}

func (s *Server) formatsOf(assetID, versionID string, all bool) []*Format {
	var out []*Format
	if af := s.st.fileIndex[assetID]; af != nil {
		for _, id := range af.formats {
			if f := s.st.Formats[id]; f != nil && (all || f.VersionID == versionID) {
				out = append(out, f)
			}
		}
	}
	return out
}

func (c *call) listFormats() (int, any) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return st, b
	}
	ver, all := c.versionScope(a)
	var items []Format
	for _, f := range c.s.formatsOf(a.ID, ver, all) {
		if f.Status != "DELETED" {
			items = append(items, *f)
		}
	}
	return cursorList(c, items, func(f Format) string { return f.ID })
}

func (c *call) createFormat() (int, any) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return st, b
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	var name, ver, user string
	if !p.has("name") {
		fe.add("name", "Missing data for required field.")
	}
	p.str("name", &name, fe)
	p.uuid("version_id", &ver, fe)
	p.uuid("user_id", &user, fe)
	if ver != "" && findVersion(a, ver) == nil {
		fe.add("version_id", "Version does not exist")
	}
	var meta []map[string]string
	if p.has("metadata") {
		if err := json.Unmarshal(p["metadata"], &meta); err != nil {
			fe.add("metadata", "Not a valid list.")
		}
	}
	var methods []string
	if p.has("storage_methods") {
		if err := json.Unmarshal(p["storage_methods"], &methods); err != nil {
			fe.add("storage_methods", "Not a valid list.")
		}
	}
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	f := c.s.insertFormat(a, firstNonEmpty(ver, latestVersionID(a)), name, firstNonEmpty(user, c.user))
	if meta != nil {
		f.Metadata = meta
	}
	if methods != nil {
		f.StorageMethods = methods
	}
	c.emit(EventAssets, RealmFormats, OpCreate, f.ID, *f)
	c.addHistory(a.ID, f.VersionID, "ADD_FORMAT", name, "")
	return http.StatusCreated, *f
}

// format finds a format by id or (for GET) by name on the current version.
func (c *call) format() (*Asset, *Format, int, any, bool) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return nil, nil, st, b, false
	}
	key := c.path("format_id")
	if f := c.s.st.Formats[key]; f != nil && f.AssetID == a.ID {
		return a, f, 0, nil, true
	}
	if !isUUID(key) {
		ver := latestVersionID(a)
		for _, f := range c.s.formatsOf(a.ID, ver, false) {
			if f.Name == key && f.Status != "DELETED" {
				return a, f, 0, nil, true
			}
		}
	}
	st, b = c.fail(http.StatusNotFound, "Format does not exist")
	return nil, nil, st, b, false
}

func (c *call) getFormat() (int, any) {
	_, f, st, b, ok := c.format()
	if !ok {
		return st, b
	}
	return http.StatusOK, *f
}

func (c *call) updateFormat() (int, any) {
	_, f, st, b, ok := c.format()
	if !ok {
		return st, b
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	next := *f
	p.str("name", &next.Name, fe)
	p.enum("status", &next.Status, set("ACTIVE", "DELETED"), fe)
	p.enum("archive_status", &next.ArchiveStatus, archiveStatuses, fe)
	p.boolean("is_online", &next.IsOnline, fe)
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	next.DateModified = c.s.stamp()
	*f = next
	c.emit(EventAssets, RealmFormats, OpUpdate, f.ID, *f)
	return http.StatusOK, *f
}

func (c *call) deleteFormat() (int, any) {
	a, f, st, b, ok := c.format()
	if !ok {
		return st, b
	}
	now := c.s.stamp()
	f.Status, f.DateDeleted, f.DateModified = "DELETED", now, now
	c.emit(EventAssets, RealmFormats, OpDelete, f.ID, *f)
	c.addHistory(a.ID, f.VersionID, "DELETE_FORMAT", f.Name, "")
	return http.StatusNoContent, nil
}

func (c *call) restoreFormatDeleted() (int, any) {
	a, f, st, b, ok := c.format()
	if !ok {
		return st, b
	}
	f.Status, f.DateDeleted, f.DateModified = "ACTIVE", "", c.s.stamp()
	c.emit(EventAssets, RealmFormats, OpRestore, f.ID, *f)
	c.addHistory(a.ID, f.VersionID, "RESTORE_FORMAT", f.Name, "")
	return http.StatusOK, nil
}

// ---- archive / restore ----

// archive moves a format to archive storage after archiveDelay (a job tracks it).
func (c *call) archive(a *Asset, f *Format, restore bool) {
	jobType, title := "ARCHIVE", "Archive "+a.Title
	if restore {
		jobType, title = "RESTORE", "Restore "+a.Title+" from archive"
	}
	job := c.newJob(jobType, title, "assets", a.ID)
	if restore {
		f.ArchiveStatus = "ARCHIVED"
	} else {
		f.ArchiveStatus, a.ArchiveStatus = "ARCHIVING", "ARCHIVING"
	}
	assetID, formatID, jobID, user := a.ID, f.ID, job.ID, c.user
	c.s.after(c.s.scaled(archiveDelay), func() {
		c.s.background(user, func(c *call) { c.finishArchive(assetID, formatID, jobID, restore) })
	})
}

func (c *call) finishArchive(assetID, formatID, jobID string, restore bool) {
	a, f := c.s.st.Assets[assetID], c.s.st.Formats[formatID]
	if a == nil || f == nil {
		c.setJobStatus(jobID, "FAILED", "Asset or format no longer exists")
		return
	}
	now := c.s.stamp()
	status, op := "ARCHIVED", "ARCHIVE"
	if restore {
		status, op = "NOT_ARCHIVED", "RESTORE_ARCHIVE"
		a.LastArchiveRestoreDate = now
	}
	f.ArchiveStatus, f.DateModified = status, now
	a.ArchiveStatus, a.DateModified = status, now
	if v := findVersion(a, f.VersionID); v != nil {
		v.ArchiveStatus = status
	}
	for _, id := range c.s.st.filesOf(a.ID).fileSets {
		if fs := c.s.st.FileSets[id]; fs != nil && fs.FormatID == f.ID {
			if restore {
				fs.Status = "ACTIVE"
			} else {
				fs.Status = "ARCHIVED"
			}
		}
	}
	c.addHistory(a.ID, f.VersionID, op, f.Name, jobID)
	c.emit(EventAssets, RealmFormats, OpUpdate, f.ID, *f)
	c.emit(EventAssets, RealmEntity, OpUpdate, a.ID, c.assetView(a, false))
	c.setJobStatus(jobID, "FINISHED", "")
}

func (c *call) archiveFormat(restore bool) (int, any) {
	a, f, st, b, ok := c.format()
	if !ok {
		return st, b
	}
	var in struct {
		DestinationStorageID string `json:"destination_storage_id"`
		StorageID            string `json:"storage_id"`
	}
	if st, b, ok := c.decode(&in); !ok {
		return st, b
	}
	if id := firstNonEmpty(in.DestinationStorageID, in.StorageID); id != "" && c.s.st.Storages[id] == nil {
		return c.invalid("destination_storage_id", "Storage does not exist")
	}
	switch {
	case !restore && (f.ArchiveStatus == "ARCHIVED" || f.ArchiveStatus == "ARCHIVING"):
		return c.fail(http.StatusBadRequest, "Format is already archived")
	case restore && f.ArchiveStatus != "ARCHIVED":
		return c.fail(http.StatusBadRequest, "Format is not archived")
	}
	c.archive(a, f, restore)
	return http.StatusAccepted, nil
}

func (c *call) bulkArchive(restore bool) (int, any) {
	var in struct {
		ObjectType string   `json:"object_type"`
		ObjectIDs  []string `json:"object_ids"`
	}
	if st, b, ok := c.decode(&in); !ok {
		return st, b
	}
	if in.ObjectIDs == nil {
		return c.invalid("object_ids", "Missing data for required field.")
	}
	var assets []*Asset
	switch in.ObjectType {
	case "assets":
		for _, id := range in.ObjectIDs {
			if a := c.s.st.Assets[id]; a != nil {
				assets = append(assets, a)
			}
		}
	case "collections":
		for _, id := range in.ObjectIDs {
			for _, ref := range c.s.st.Contents[id] {
				if a := c.s.st.Assets[ref.ObjectID]; ref.ObjectType == "assets" && a != nil {
					assets = append(assets, a)
				}
			}
		}
	default:
		return c.invalid("object_type", "Must be one of: assets, collections, saved_searches.")
	}
	name := c.path("format_name")
	for _, a := range assets {
		for _, f := range c.s.formatsOf(a.ID, latestVersionID(a), false) {
			if f.Name != name || f.Status == "DELETED" {
				continue
			}
			if (!restore && f.ArchiveStatus == "NOT_ARCHIVED") || (restore && f.ArchiveStatus == "ARCHIVED") {
				c.archive(a, f, restore)
			}
		}
	}
	return http.StatusAccepted, nil
}

// ---- file sets ----

func (c *call) insertFileSet(a *Asset, f *Format, storageID, name string) *FileSet {
	now := c.s.stamp()
	fs := &FileSet{ID: c.s.newID(), AssetID: a.ID, VersionID: f.VersionID, FormatID: f.ID, StorageID: storageID,
		OriginalStorageID: storageID, Name: name, BaseDir: "/" + a.ID, ComponentIDs: []string{}, Status: "ACTIVE",
		DateCreated: now, DateModified: now}
	c.s.st.FileSets[fs.ID] = fs
	af := c.s.st.filesOf(a.ID)
	af.fileSets = append(af.fileSets, fs.ID)
	return fs
}

func (c *call) listFileSets() (int, any) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return st, b
	}
	var items []FileSet
	for _, id := range c.s.st.filesOf(a.ID).fileSets {
		if fs := c.s.st.FileSets[id]; fs != nil && fs.Status != "DELETED" {
			cp := *fs
			cp.FileCount = c.s.fileCount(fs.ID)
			items = append(items, cp)
		}
	}
	return cursorList(c, items, func(f FileSet) string { return f.ID })
}

func (s *Server) fileCount(fileSetID string) int {
	n := 0
	for _, f := range s.st.Files {
		if f.FileSetID == fileSetID {
			n++
		}
	}
	return n
}

func (c *call) createFileSet() (int, any) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return st, b
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	for _, k := range []string{"base_dir", "component_ids", "format_id", "name"} {
		if !p.has(k) {
			fe.add(k, "Missing data for required field.")
		}
	}
	var formatID, storageID, name, baseDir string
	p.uuid("format_id", &formatID, fe)
	p.uuid("storage_id", &storageID, fe)
	p.str("name", &name, fe)
	p.str("base_dir", &baseDir, fe)
	f := c.s.st.Formats[formatID]
	if formatID != "" && (f == nil || f.AssetID != a.ID) {
		fe.add("format_id", "Format does not exist")
	}
	if storageID != "" && c.s.st.Storages[storageID] == nil {
		fe.add("storage_id", "Storage does not exist")
	}
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	fs := c.insertFileSet(a, f, firstNonEmpty(storageID, StorageFilesID), name)
	fs.BaseDir = baseDir
	if p.has("component_ids") {
		_ = json.Unmarshal(p["component_ids"], &fs.ComponentIDs)
		if fs.ComponentIDs == nil {
			fs.ComponentIDs = []string{}
		}
	}
	return http.StatusCreated, *fs
}

func (c *call) fileSet() (*FileSet, int, any, bool) {
	fs := c.s.st.FileSets[c.path("file_set_id")]
	if fs == nil || fs.AssetID != c.path("asset_id") {
		st, b := c.fail(http.StatusNotFound, "File set does not exist")
		return nil, st, b, false
	}
	return fs, 0, nil, true
}

func (c *call) getFileSet() (int, any) {
	fs, st, b, ok := c.fileSet()
	if !ok {
		return st, b
	}
	cp := *fs
	cp.FileCount = c.s.fileCount(fs.ID)
	return http.StatusOK, cp
}

func (c *call) deleteFileSet() (int, any) {
	fs, st, b, ok := c.fileSet()
	if !ok {
		return st, b
	}
	now := c.s.stamp()
	fs.Status, fs.DateDeleted, fs.DateModified = "DELETED", now, now
	c.addHistory(fs.AssetID, fs.VersionID, "DELETE_FILESET", fs.Name, "")
	return http.StatusNoContent, nil
}

func (c *call) listFileSetFiles() (int, any) {
	fs, st, b, ok := c.fileSet()
	if !ok {
		return st, b
	}
	var items []File
	for _, id := range c.s.st.filesOf(fs.AssetID).files {
		if f := c.s.st.Files[id]; f != nil && f.FileSetID == fs.ID {
			items = append(items, c.fileView(f, c.qBool("generate_signed_url", false)))
		}
	}
	return cursorList(c, items, func(f File) string { return f.ID })
}

// ---- files ----

func (c *call) fileView(f *File, signed bool) File {
	out := *f
	if signed {
		out.URL = c.mediaURL("files", f.ID, f.Name, false)
	}
	return out
}

func (c *call) listFiles() (int, any) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return st, b
	}
	ver, all := c.versionScope(a)
	var items []File
	for _, id := range c.s.st.filesOf(a.ID).files {
		if f := c.s.st.Files[id]; f != nil && f.Status != "DELETED" && (all || f.VersionID == ver) {
			items = append(items, c.fileView(f, c.qBool("generate_signed_url", false)))
		}
	}
	return cursorList(c, items, func(f File) string { return f.ID })
}

func (c *call) insertFile(a *Asset, fs *FileSet, name string, size int64, status string) *File {
	now := c.s.stamp()
	user := c.user
	f := &File{ID: c.s.newID(), AssetID: a.ID, VersionID: fs.VersionID, FormatID: fs.FormatID, FileSetID: fs.ID,
		StorageID: fs.StorageID, StorageMethod: "GCS", SystemDomainID: c.s.opts.SystemDomainID, OriginalName: name,
		Name: name, DirectoryPath: "", Size: size, Type: "FILE", Status: status, UserID: &user,
		FileDateCreated: now, FileDateModified: now, DateCreated: now, DateModified: now}
	c.s.st.Files[f.ID] = f
	af := c.s.st.filesOf(a.ID)
	af.files = append(af.files, f.ID)
	return f
}

func (c *call) createFile() (int, any) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return st, b
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	for _, k := range []string{"directory_path", "original_name", "type"} {
		if !p.has(k) {
			fe.add(k, "Missing data for required field.")
		}
	}
	var name, dir, typ, fsID, status, fname string
	status = "OPEN"
	p.str("original_name", &name, fe)
	p.str("name", &fname, fe)
	p.str("directory_path", &dir, fe)
	p.enum("type", &typ, set("FILE", "DIRECTORY", "SYMLINK"), fe)
	p.uuid("file_set_id", &fsID, fe)
	p.enum("status", &status, fileStatuses, fe)
	var size int64
	if p.has("size") {
		if err := json.Unmarshal(p["size"], &size); err != nil {
			fe.add("size", "Not a valid integer.")
		}
	}
	fs := c.s.st.FileSets[fsID]
	if fs == nil || fs.AssetID != a.ID {
		fe.add("file_set_id", "File set does not exist")
	}
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	f := c.insertFile(a, fs, name, size, status)
	f.DirectoryPath, f.Type, f.Name = dir, typ, firstNonEmpty(fname, name)
	out := *f
	out.UploadURL, out.UploadMethod = c.uploadURL("files", f.ID), "PUT"
	c.emit(EventAssets, RealmFiles, OpCreate, f.ID, *f)
	if f.Status == "CLOSED" {
		c.fileClosed(a, f)
	}
	return http.StatusCreated, out
}

func (c *call) file() (*Asset, *File, int, any, bool) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return nil, nil, st, b, false
	}
	f := c.s.st.Files[c.path("file_id")]
	if f == nil || f.AssetID != a.ID {
		st, b := c.fail(http.StatusNotFound, "File does not exist")
		return nil, nil, st, b, false
	}
	return a, f, 0, nil, true
}

func (c *call) getFile() (int, any) {
	_, f, st, b, ok := c.file()
	if !ok {
		return st, b
	}
	return http.StatusOK, c.fileView(f, true)
}

func (c *call) updateFile() (int, any) {
	a, f, st, b, ok := c.file()
	if !ok {
		return st, b
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	next := *f
	p.enum("status", &next.Status, fileStatuses, fe)
	p.str("name", &next.Name, fe)
	p.str("original_name", &next.OriginalName, fe)
	p.str("directory_path", &next.DirectoryPath, fe)
	p.nstr("checksum", &next.Checksum, fe)
	if p.has("size") {
		if err := json.Unmarshal(p["size"], &next.Size); err != nil {
			fe.add("size", "Not a valid integer.")
		}
	}
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	wasClosed := f.Status == "CLOSED"
	next.DateModified = c.s.stamp()
	*f = next
	c.emit(EventAssets, RealmFiles, OpUpdate, f.ID, *f)
	if !wasClosed && f.Status == "CLOSED" {
		c.fileClosed(a, f)
	}
	return http.StatusOK, c.fileView(f, false)
}

// fileClosed starts the transcoder when an ORIGINAL file finishes uploading.
func (c *call) fileClosed(a *Asset, f *File) {
	if ff := c.s.st.Formats[f.FormatID]; ff != nil && ff.Name == "ORIGINAL" && !c.s.hasProxy(a.ID, f.VersionID) {
		c.scheduleTranscode(a.ID, f.VersionID)
	}
}

func (c *call) deleteFile() (int, any) {
	a, f, st, b, ok := c.file()
	if !ok {
		return st, b
	}
	f.Status, f.DateModified = "DELETED", c.s.stamp()
	c.emit(EventAssets, RealmFiles, OpDelete, f.ID, *f)
	c.addHistory(a.ID, f.VersionID, "DELETE_FILE", f.Name, "")
	return http.StatusNoContent, nil
}

func (c *call) fileDownloadURL() (int, any) {
	a, f, st, b, ok := c.file()
	if !ok {
		return st, b
	}
	if a.ArchiveStatus == "ARCHIVED" || f.Status == "ARCHIVED" {
		return c.fail(http.StatusBadRequest, "File is archived; restore it first")
	}
	return http.StatusOK, map[string]string{"url": c.mediaURL("files", f.ID, f.Name, false)}
}

func (c *call) transcodeFile() (int, any) {
	a, f, st, b, ok := c.file()
	if !ok {
		return st, b
	}
	job := c.scheduleTranscode(a.ID, f.VersionID)
	if job == nil {
		return http.StatusNoContent, nil
	}
	return http.StatusOK, map[string]string{"job_id": job.ID}
}

// ---- proxies ----

func (c *call) proxyView(p *Proxy, signed bool) Proxy {
	out := *p
	if signed || p.IsPublic {
		out.URL = c.mediaURL("proxies", p.ID, p.Filename, p.IsPublic)
	}
	return out
}

func (s *Server) hasProxy(assetID, versionID string) bool {
	if af := s.st.fileIndex[assetID]; af != nil {
		for _, id := range af.proxies {
			if p := s.st.Proxies[id]; p != nil && derefStr(p.VersionID) == versionID {
				return true
			}
		}
	}
	return false
}

func (c *call) listProxies() (int, any) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return st, b
	}
	ver, all := c.versionScope(a)
	signed := c.qBool("generate_signed_url", true)
	var items []Proxy
	for _, id := range c.s.st.filesOf(a.ID).proxies {
		if p := c.s.st.Proxies[id]; p != nil && (all || derefStr(p.VersionID) == ver) {
			items = append(items, c.proxyView(p, signed))
		}
	}
	return cursorList(c, items, func(p Proxy) string { return p.ID })
}

func (c *call) insertProxy(a *Asset, versionID, name string) *Proxy {
	now := c.s.stamp()
	size := int64(len(placeholderMP4()))
	rate := "25"
	p := &Proxy{ID: c.s.newID(), AssetID: a.ID, VersionID: strPtr(versionID), Name: name, Filename: name,
		Format: "MP4", Codec: "h264", Resolution: Resolution{Width: 1280, Height: 720}, BitRate: 2_000_000,
		AudioBitrate: 128_000, FrameRate: &rate, Size: &size, Status: "CLOSED", StorageID: StorageProxiesID,
		StorageMethod: "GCS", DateCreated: now, DateModified: now}
	c.s.st.Proxies[p.ID] = p
	af := c.s.st.filesOf(a.ID)
	af.proxies = append(af.proxies, p.ID)
	return p
}

func (c *call) createProxy() (int, any) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return st, b
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	var name, ver, status string
	status = "OPEN"
	p.str("name", &name, fe)
	p.uuid("version_id", &ver, fe)
	p.enum("status", &status, fileStatuses, fe)
	if ver != "" && findVersion(a, ver) == nil {
		fe.add("version_id", "Version does not exist")
	}
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	px := c.insertProxy(a, firstNonEmpty(ver, latestVersionID(a)), firstNonEmpty(name, slug(a.Title)+".mp4"))
	px.Status = status
	c.applyProxy(px, p, fe)
	out := *px
	out.URL = ""
	c.emit(EventAssets, RealmProxies, OpCreate, px.ID, out)
	resp := toMap(out)
	resp["upload_url"], resp["upload_method"] = c.uploadURL("proxies", px.ID), "PUT"
	return http.StatusCreated, resp
}

func (c *call) applyProxy(px *Proxy, p patch, fe fieldErrors) {
	p.str("name", &px.Name, fe)
	p.str("filename", &px.Filename, fe)
	p.str("format", &px.Format, fe)
	p.str("codec", &px.Codec, fe)
	p.enum("status", &px.Status, fileStatuses, fe)
	p.nstr("frame_rate", &px.FrameRate, fe)
	if p.has("resolution") {
		if err := json.Unmarshal(p["resolution"], &px.Resolution); err != nil {
			fe.add("resolution", "Not a valid object.")
		}
	}
	for k, dst := range map[string]*int{"bit_rate": &px.BitRate, "audio_bitrate": &px.AudioBitrate} {
		if p.has(k) {
			if err := json.Unmarshal(p[k], dst); err != nil {
				fe.add(k, "Not a valid integer.")
			}
		}
	}
}

func (c *call) proxy() (*Asset, *Proxy, int, any, bool) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return nil, nil, st, b, false
	}
	p := c.s.st.Proxies[c.path("proxy_id")]
	if p == nil || p.AssetID != a.ID {
		st, b := c.fail(http.StatusNotFound, "Proxy does not exist")
		return nil, nil, st, b, false
	}
	return a, p, 0, nil, true
}

func (c *call) getProxy() (int, any) {
	_, p, st, b, ok := c.proxy()
	if !ok {
		return st, b
	}
	return http.StatusOK, c.proxyView(p, true)
}

func (c *call) updateProxy() (int, any) {
	_, px, st, b, ok := c.proxy()
	if !ok {
		return st, b
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	next := *px
	c.applyProxy(&next, p, fe)
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	next.DateModified = c.s.stamp()
	*px = next
	c.emit(EventAssets, RealmProxies, OpUpdate, px.ID, *px)
	return http.StatusOK, c.proxyView(px, false)
}

func (c *call) deleteProxy() (int, any) {
	a, px, st, b, ok := c.proxy()
	if !ok {
		return st, b
	}
	view := *px
	delete(c.s.st.Proxies, px.ID)
	af := c.s.st.filesOf(a.ID)
	af.proxies = slices.DeleteFunc(af.proxies, func(id string) bool { return id == px.ID })
	view.Status = "DELETED"
	c.emit(EventAssets, RealmProxies, OpDelete, view.ID, view)
	return http.StatusNoContent, nil
}

func (c *call) proxyDownloadURL() (int, any) {
	_, p, st, b, ok := c.proxy()
	if !ok {
		return st, b
	}
	return http.StatusOK, map[string]string{"url": c.mediaURL("proxies", p.ID, p.Filename, p.IsPublic)}
}

func (c *call) proxyPublic(public bool) (int, any) {
	_, p, st, b, ok := c.proxy()
	if !ok {
		return st, b
	}
	p.IsPublic, p.DateModified = public, c.s.stamp()
	return http.StatusCreated, c.proxyView(p, true)
}

// ---- keyframes ----

func (c *call) keyframeView(k *Keyframe, signed bool) Keyframe {
	out := *k
	if signed || k.IsPublic {
		out.URL = c.mediaURL("keyframes", k.ID, k.Filename, k.IsPublic)
	}
	return out
}

func (c *call) listKeyframes() (int, any) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return st, b
	}
	ver, all := c.versionScope(a)
	signed := c.qBool("generate_signed_url", true)
	var items []Keyframe
	for _, id := range c.s.st.filesOf(a.ID).keyframes {
		if k := c.s.st.Keyframes[id]; k != nil && (all || derefStr(k.VersionID) == ver) {
			items = append(items, c.keyframeView(k, signed))
		}
	}
	return cursorList(c, items, func(k Keyframe) string { return k.ID })
}

func (c *call) insertKeyframe(a *Asset, versionID, typ, name string, res Resolution) *Keyframe {
	now := c.s.stamp()
	size := int64(len(placeholderJPEG()))
	format := "JPEG"
	aid := a.ID
	k := &Keyframe{ID: c.s.newID(), AssetID: &aid, VersionID: strPtr(versionID), Type: typ, Name: name, Filename: name,
		Format: &format, Resolution: res, Size: &size, Status: "CLOSED", StorageID: StorageKeyframesID,
		StorageMethod: "GCS", TimeCode: &TimeCode{TimeBase: TimeBase{Numerator: 1, Denominator: 25}},
		DateCreated: now, DateModified: now}
	c.s.st.Keyframes[k.ID] = k
	af := c.s.st.filesOf(a.ID)
	af.keyframes = append(af.keyframes, k.ID)
	return k
}

func (c *call) createKeyframe() (int, any) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return st, b
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	var typ, ver, name string
	if !p.has("type") {
		fe.add("type", "Missing data for required field.")
	}
	p.enum("type", &typ, set("KEYFRAME_MAP", "KEYFRAME", "POSTER"), fe)
	p.uuid("version_id", &ver, fe)
	p.str("name", &name, fe)
	var res Resolution
	if p.has("resolution") {
		if err := json.Unmarshal(p["resolution"], &res); err != nil {
			fe.add("resolution", "Not a valid object.")
		}
	}
	if ver != "" && findVersion(a, ver) == nil {
		fe.add("version_id", "Version does not exist")
	}
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	k := c.insertKeyframe(a, firstNonEmpty(ver, latestVersionID(a)), typ, firstNonEmpty(name, slug(a.Title)+".jpg"), res)
	p.boolean("is_custom_keyframe", &k.IsCustomKeyframe, fe)
	c.emit(EventAssets, RealmKeyframes, OpCreate, k.ID, *k)
	resp := toMap(*k)
	resp["upload_url"], resp["upload_method"] = c.uploadURL("keyframes", k.ID), "PUT"
	return http.StatusCreated, resp
}

func (c *call) keyframe() (*Asset, *Keyframe, int, any, bool) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return nil, nil, st, b, false
	}
	k := c.s.st.Keyframes[c.path("keyframe_id")]
	if k == nil || derefStr(k.AssetID) != a.ID {
		st, b := c.fail(http.StatusNotFound, "Keyframe does not exist")
		return nil, nil, st, b, false
	}
	return a, k, 0, nil, true
}

func (c *call) getKeyframe() (int, any) {
	_, k, st, b, ok := c.keyframe()
	if !ok {
		return st, b
	}
	return http.StatusOK, c.keyframeView(k, true)
}

func (c *call) updateKeyframe() (int, any) {
	_, k, st, b, ok := c.keyframe()
	if !ok {
		return st, b
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	next := *k
	p.enum("type", &next.Type, set("KEYFRAME_MAP", "KEYFRAME", "POSTER"), fe)
	p.str("name", &next.Name, fe)
	p.str("filename", &next.Filename, fe)
	p.enum("status", &next.Status, fileStatuses, fe)
	p.boolean("is_custom_keyframe", &next.IsCustomKeyframe, fe)
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	next.DateModified = c.s.stamp()
	*k = next
	c.emit(EventAssets, RealmKeyframes, OpUpdate, k.ID, *k)
	return http.StatusOK, c.keyframeView(k, false)
}

func (c *call) deleteKeyframe() (int, any) {
	a, k, st, b, ok := c.keyframe()
	if !ok {
		return st, b
	}
	view := *k
	delete(c.s.st.Keyframes, k.ID)
	af := c.s.st.filesOf(a.ID)
	af.keyframes = slices.DeleteFunc(af.keyframes, func(id string) bool { return id == k.ID })
	view.Status = "DELETED"
	c.emit(EventAssets, RealmKeyframes, OpDelete, view.ID, view)
	return http.StatusNoContent, nil
}

func (c *call) keyframePublic(public bool) (int, any) {
	_, k, st, b, ok := c.keyframe()
	if !ok {
		return st, b
	}
	k.IsPublic, k.DateModified = public, c.s.stamp()
	return http.StatusCreated, c.keyframeView(k, true)
}

// ---- the simulated transcoder ----

var slugRE = regexp.MustCompile(`[^a-z0-9]+`)

func slug(title string) string {
	s := strings.Trim(slugRE.ReplaceAllString(strings.ToLower(title), "_"), "_")
	if s == "" {
		s = "asset"
	}
	return s
}

// scheduleTranscode creates a TRANSCODE job for the version and, after
// TranscodeDelay (scaled), produces its ORIGINAL format (if none), a proxy
// and keyframes. It returns nil when the transcoder is off.
func (c *call) scheduleTranscode(assetID, versionID string) *Job {
	if c.s.opts.DisableTranscode {
		return nil
	}
	a := c.s.st.Assets[assetID]
	if a == nil {
		return nil
	}
	job := c.newJob("TRANSCODE", "Transcode "+a.Title, "assets", assetID)
	job.Status, job.StartedAt = "STARTED", job.DateCreated
	jobID, user := job.ID, c.user
	c.s.after(c.s.scaled(c.s.opts.TranscodeDelay), func() {
		c.s.background(user, func(c *call) { c.finishTranscode(assetID, versionID, jobID) })
	})
	return job
}

func (c *call) finishTranscode(assetID, versionID, jobID string) {
	a := c.s.st.Assets[assetID]
	if a == nil || findVersion(a, versionID) == nil {
		c.setJobStatus(jobID, "FAILED", "Asset or version no longer exists")
		return
	}
	c.s.produceMedia(c, a, versionID, true)
	c.addHistory(a.ID, versionID, "TRANSCODE", "Proxy and keyframes created", jobID)
	c.emit(EventAssets, RealmEntity, OpUpdate, a.ID, c.assetView(a, false))
	c.setJobStatus(jobID, "FINISHED", "")
}

// produceMedia gives a version an ORIGINAL format, file set and file, a
// proxy and KEYFRAME + POSTER keyframes, each only if missing. With events
// set it sends the matching formats/files/proxies/keyframes events.
func (s *Server) produceMedia(c *call, a *Asset, versionID string, events bool) {
	st := s.st
	name := slug(a.Title)
	emit := func(realm, id string, data any) {
		if events {
			c.emit(EventAssets, realm, OpCreate, id, data)
		}
	}
	var original *Format
	for _, f := range s.formatsOf(a.ID, versionID, false) {
		if f.Name == "ORIGINAL" {
			original = f
		}
	}
	if original == nil {
		original = s.insertFormat(a, versionID, "ORIGINAL", c.user)
		emit(RealmFormats, original.ID, *original)
		fs := c.insertFileSet(a, original, StorageFilesID, name+".mov")
		h := sha256.Sum256([]byte(a.ID + versionID))
		f := c.insertFile(a, fs, name+".mov", 50_000_000+int64(binary.BigEndian.Uint32(h[:4])%900_000_000), "CLOSED")
		emit(RealmFiles, f.ID, *f)
	}
	if _, ok := st.Media[a.ID]; !ok {
		h := sha256.Sum256([]byte(a.ID))
		st.Media[a.ID] = mediaInfo{MediaType: "video", DurationMS: 10_000 + int64(binary.BigEndian.Uint32(h[:4])%170_000)}
	}
	if !s.hasProxy(a.ID, versionID) {
		p := c.insertProxy(a, versionID, name+".mp4")
		emit(RealmProxies, p.ID, *p)
	}
	hasKF := false
	for _, id := range st.filesOf(a.ID).keyframes {
		if k := st.Keyframes[id]; k != nil && derefStr(k.VersionID) == versionID {
			hasKF = true
		}
	}
	if !hasKF {
		k := c.insertKeyframe(a, versionID, "KEYFRAME", name+"_keyframe.jpg", Resolution{Width: 1280, Height: 720})
		emit(RealmKeyframes, k.ID, *k)
		poster := c.insertKeyframe(a, versionID, "POSTER", name+"_poster.jpg", Resolution{Width: 640, Height: 360})
		emit(RealmKeyframes, poster.ID, *poster)
	}
	if v := findVersion(a, versionID); v != nil {
		v.IsOnline = true
	}
	a.IsOnline = true
	a.DateModified = s.stamp()
}

// moveMedia reassigns the file-service objects of one version to another asset's version.
func (s *Server) moveMedia(fromAsset, fromVersion, toAsset, toVersion string) {
	src := s.st.filesOf(fromAsset)
	dst := s.st.filesOf(toAsset)
	move := func(ids *[]string, into *[]string, versionOf func(string) string, set func(string)) {
		kept := (*ids)[:0]
		for _, id := range *ids {
			if versionOf(id) == fromVersion {
				set(id)
				*into = append(*into, id)
				continue
			}
			kept = append(kept, id)
		}
		*ids = kept
	}
	move(&src.formats, &dst.formats, func(id string) string { return s.st.Formats[id].VersionID }, func(id string) {
		s.st.Formats[id].AssetID, s.st.Formats[id].VersionID = toAsset, toVersion
	})
	move(&src.fileSets, &dst.fileSets, func(id string) string { return s.st.FileSets[id].VersionID }, func(id string) {
		s.st.FileSets[id].AssetID, s.st.FileSets[id].VersionID = toAsset, toVersion
	})
	move(&src.files, &dst.files, func(id string) string { return s.st.Files[id].VersionID }, func(id string) {
		s.st.Files[id].AssetID, s.st.Files[id].VersionID = toAsset, toVersion
	})
	move(&src.proxies, &dst.proxies, func(id string) string { return derefStr(s.st.Proxies[id].VersionID) }, func(id string) {
		s.st.Proxies[id].AssetID, s.st.Proxies[id].VersionID = toAsset, strPtr(toVersion)
	})
	move(&src.keyframes, &dst.keyframes, func(id string) string { return derefStr(s.st.Keyframes[id].VersionID) }, func(id string) {
		s.st.Keyframes[id].AssetID, s.st.Keyframes[id].VersionID = strPtr(toAsset), strPtr(toVersion)
	})
}
