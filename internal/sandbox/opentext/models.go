package opentext

import (
	"bytes"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/patchbay/patchbay/internal/sandbox/kit"
	"github.com/patchbay/patchbay/internal/sandbox/opentext/bpmn"
)

//go:embed models/*.otwf
var modelFiles embed.FS

// MediaReviewModel returns the .otwf file of the media_review process that
// patchbay's UC1 template deploys (see docs/sandbox/opentext.md for its
// variables). Deploy its "data" member as modelContent with modelType json.
func MediaReviewModel() []byte { return mustModel("media_review") }

// Model returns an embedded .otwf file by process key (media_review).
func Model(key string) ([]byte, bool) {
	b, err := modelFiles.ReadFile("models/" + key + ".otwf")
	return b, err == nil
}

// SampleModelsDir finds OpenText's sample models (../shared/apis/specs/opentext
// beside the repository) by walking up from the working directory; "" when absent.
func SampleModelsDir() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for range 8 {
		cand := filepath.Join(dir, "shared", "apis", "specs", "opentext")
		if _, err := os.Stat(filepath.Join(cand, "manager_approval.otwf")); err == nil {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return ""
}

// ModelKeys lists the embedded models.
func ModelKeys() []string {
	entries, _ := modelFiles.ReadDir("models")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".otwf"))
	}
	sort.Strings(out)
	return out
}

func mustModel(key string) []byte {
	b, ok := Model(key)
	if !ok {
		panic("opentext: embedded model " + key + " missing")
	}
	return b
}

// routes registers the /workflow/v1 API, the admin endpoints and the inbox.
func (s *Server) routes() {
	api := http.NewServeMux()
	api.HandleFunc("POST /tenants/{tenant}/oauth2/token", s.handleToken)
	const v = "/workflow/v1"
	api.HandleFunc("GET "+v+"/runtime/models", s.listModels)
	api.HandleFunc("POST "+v+"/runtime/models", s.deployModel)
	api.HandleFunc("GET "+v+"/runtime/models/{id}", s.getModel)
	api.HandleFunc("DELETE "+v+"/runtime/models/{id}", s.deleteModel)

	api.HandleFunc("POST "+v+"/process-instances", s.startInstance)
	api.HandleFunc("GET "+v+"/process-instances", s.listInstances)
	api.HandleFunc("GET "+v+"/process-instances/{id}", s.getInstance)
	api.HandleFunc("PUT "+v+"/process-instances/{id}", s.actOnInstance)
	api.HandleFunc("DELETE "+v+"/process-instances/{id}", s.deleteInstance)
	api.HandleFunc("GET "+v+"/process-instances/{id}/variables", s.getVariables)
	api.HandleFunc("POST "+v+"/process-instances/{id}/variables", s.setVariables)
	api.HandleFunc("PUT "+v+"/process-instances/{id}/variables", s.setVariables)
	api.HandleFunc("GET "+v+"/process-instances/{id}/variables/{name}", s.getVariable)
	api.HandleFunc("PUT "+v+"/process-instances/{id}/variables/{name}", s.putVariable)
	api.HandleFunc("DELETE "+v+"/process-instances/{id}/variables/{name}", s.deleteVariable)
	api.HandleFunc("GET "+v+"/process-instances/{id}/comments", s.listComments)
	api.HandleFunc("POST "+v+"/process-instances/{id}/comments", s.addComment)
	api.HandleFunc("GET "+v+"/process-instances/{id}/comments/{cid}", s.getComment)
	api.HandleFunc("DELETE "+v+"/process-instances/{id}/comments/{cid}", s.deleteComment)

	api.HandleFunc("GET "+v+"/tasks", s.listTasks)
	api.HandleFunc("GET "+v+"/tasks/{id}", s.getTask)
	api.HandleFunc("POST "+v+"/tasks/{id}", s.taskAction)
	api.HandleFunc("PUT "+v+"/tasks/{id}", s.updateTask)
	api.HandleFunc("GET "+v+"/tasks/{id}/assignments", s.taskAssignments)

	api.HandleFunc("GET "+v+"/historic-process-instances", s.listHistoricInstances)
	api.HandleFunc("GET "+v+"/historic-process-instances/{id}", s.getHistoricInstance)
	api.HandleFunc("DELETE "+v+"/historic-process-instances/{id}", s.deleteHistoricInstance)
	api.HandleFunc("GET "+v+"/historic-task-instances", s.listHistoricTasks)
	api.HandleFunc("GET "+v+"/historic-task-instances/{id}", s.getHistoricTask)
	s.api = api
	s.admin = s.adminRoutes()
	s.inbox = s.inboxRoutes()
}

// serveAPI authenticates /workflow/v1 calls and routes them, answering
// unknown paths with the Flowable-style 404/405 bodies.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/workflow/") {
		var ok bool
		if r, ok = s.authenticate(w, r); !ok {
			return
		}
	}
	if _, pattern := s.api.Handler(r); pattern == "" {
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
			if m == r.Method {
				continue
			}
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, p := s.api.Handler(probe); p != "" {
				writeError(w, http.StatusMethodNotAllowed, "Request method '"+r.Method+"' not supported")
				return
			}
		}
		writeError(w, http.StatusNotFound, "No handler found for "+r.Method+" "+r.URL.Path)
		return
	}
	s.api.ServeHTTP(w, r)
}

// ---- runtime models ----

type modelDTO struct {
	ID           string          `json:"id"`
	Key          string          `json:"key"`
	Name         string          `json:"name"`
	Version      int             `json:"version"`
	Category     *string         `json:"category"`
	Description  *string         `json:"description"`
	DeploymentID string          `json:"deploymentId"`
	DeployTime   string          `json:"deploymentTime"`
	TenantID     string          `json:"tenantId"`
	Suspended    bool            `json:"suspended"`
	ModelID      *string         `json:"modelId,omitempty"`
	ModelType    string          `json:"modelType,omitempty"`
	ModelContent any             `json:"modelContent,omitempty"`
	Links        map[string]link `json:"_links"`
}

func (s *Server) renderModel(r *http.Request, m *bpmn.Model, withContent string) modelDTO {
	d := modelDTO{
		ID: m.ID, Key: m.Key, Name: m.Name, Version: m.Version, Category: strPtr(m.Category), Description: strPtr(m.Description),
		DeploymentID: m.DeploymentID, DeployTime: fmtTime(m.DeployTime), TenantID: s.opts.TenantID, Suspended: m.Suspended,
		ModelID: strPtr(m.ClientID), Links: s.selfLinks(r, "/workflow/v1/runtime/models/"+m.ID),
	}
	if withContent != "" {
		d.ModelType = m.ModelType
		if m.ModelType == "json" {
			if data, err := bpmn.ModelerJSON([]byte(m.Content)); err == nil {
				d.ModelContent = json.RawMessage(data)
			}
		} else {
			d.ModelContent = m.Content
		}
	}
	return d
}

func (s *Server) listModels(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r)
	latest := q.flag("latestVersion")
	var items []*bpmn.Model
	s.engine.View(func(v *bpmn.View) {
		for _, m := range v.Models() {
			switch {
			case q.has("key") && m.Key != q.str("key"):
			case q.has("keyLike") && !like(q.str("keyLike"), m.Key):
			case q.has("name") && m.Name != q.str("name"):
			case q.has("nameLike") && !like(q.str("nameLike"), m.Name):
			case q.has("category") && m.Category != q.str("category"):
			case q.has("processDefinitionId") && m.ID != q.str("processDefinitionId") && m.DefinitionID != q.str("processDefinitionId"):
			case q.has("id") && m.ID != q.str("id"):
			case q.has("deploymentId") && m.DeploymentID != q.str("deploymentId"):
			case latest && v.Latest(m.Key) != m:
			default:
				cp := *m
				items = append(items, &cp)
			}
		}
	})
	sorts := sorter[*bpmn.Model]{
		"key":            func(a, b *bpmn.Model) int { return cmpStr(a.Key, b.Key) },
		"name":           func(a, b *bpmn.Model) int { return cmpStr(a.Name, b.Name) },
		"id":             func(a, b *bpmn.Model) int { return cmpStr(a.ID, b.ID) },
		"version":        func(a, b *bpmn.Model) int { return cmpInt(int64(a.Version), int64(b.Version)) },
		"deploymentTime": func(a, b *bpmn.Model) int { return cmpTime(a.DeployTime, b.DeployTime) },
		"deployTime":     func(a, b *bpmn.Model) int { return cmpTime(a.DeployTime, b.DeployTime) },
	}
	pg, total, offset, count, err := page(q, items, sorts, "deploymentTime", func(m *bpmn.Model) string { return m.ID }, s.opts.MaxPageSize)
	if err == nil {
		err = q.err
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	out := make([]modelDTO, len(pg))
	for i, m := range pg {
		out[i] = s.renderModel(r, m, q.str("modelType"))
	}
	kit.WriteJSON(w, http.StatusOK, s.halList(r, "models", out, len(out), total, offset, count))
}

type deployBody struct {
	ModelID      json.RawMessage `json:"modelId"`
	ModelType    string          `json:"modelType"`
	ModelContent json.RawMessage `json:"modelContent"`
}

func (s *Server) deployModel(w http.ResponseWriter, r *http.Request) {
	var b deployBody
	if !decodeJSON(w, r, &b) {
		return
	}
	content, err := modelContent(b.ModelType, b.ModelContent)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	clientID := strings.Trim(string(b.ModelID), `"`)
	if clientID == "null" {
		clientID = ""
	}
	m, err := s.engine.Deploy(b.ModelType, content, clientID)
	if err != nil {
		writeEngineError(w, err)
		return
	}
	w.Header().Set("Location", s.url(r)+"/workflow/v1/runtime/models/"+m.ID)
	kit.WriteJSON(w, http.StatusCreated, s.renderModel(r, m, ""))
}

// modelContent turns the modelContent member into model bytes. For json it
// is the modeler JSON object (or that JSON as a string); for xml it is the
// "encoded" BPMN XML, which the sandbox accepts as plain XML text,
// base64 or URL-encoded (ASSUMPTION: the encoding is not documented).
func modelContent(modelType string, raw json.RawMessage) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errf("modelContent is required")
	}
	switch strings.ToLower(modelType) {
	case "json":
		if raw[0] == '"' {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, errf("modelContent: %v", err)
			}
			return []byte(s), nil
		}
		return raw, nil
	case "xml":
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, errf("modelContent must be a string holding BPMN 2.0 XML for modelType xml")
		}
		return decodeXMLContent(s)
	case "":
		return nil, errf("modelType is required (json or xml)")
	}
	return nil, errf("modelType must be json or xml, got '%s'", modelType)
}

func decodeXMLContent(s string) ([]byte, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "<") {
		return []byte(t), nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(t); err == nil && bytes.HasPrefix(bytes.TrimSpace(b), []byte("<")) {
			return bytes.TrimSpace(b), nil
		}
	}
	if u, err := url.QueryUnescape(t); err == nil && strings.HasPrefix(strings.TrimSpace(u), "<") {
		return []byte(strings.TrimSpace(u)), nil
	}
	return nil, errf("modelContent is neither BPMN XML nor base64- or URL-encoded BPMN XML")
}

type plainError string

func (e plainError) Error() string { return string(e) }

func errf(format string, args ...any) error {
	if len(args) == 0 {
		return plainError(format)
	}
	return plainError(fmt.Sprintf(format, args...))
}

func (s *Server) getModel(w http.ResponseWriter, r *http.Request) {
	var dto *modelDTO
	s.engine.View(func(v *bpmn.View) {
		if m := v.Model(r.PathValue("id")); m != nil {
			d := s.renderModel(r, m, r.URL.Query().Get("modelType"))
			dto = &d
		}
	})
	if dto == nil {
		writeError(w, http.StatusNotFound, "Could not find a model with id '"+r.PathValue("id")+"'.")
		return
	}
	kit.WriteJSON(w, http.StatusOK, dto)
}

func (s *Server) deleteModel(w http.ResponseWriter, r *http.Request) {
	cascade, _ := newQuery(r).boolean("cascade")
	if err := s.engine.DeleteModel(r.PathValue("id"), cascade); err != nil {
		writeEngineError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
