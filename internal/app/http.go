package app

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/pprof"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/fault"
	"github.com/patchbay/patchbay/internal/id"
	"github.com/patchbay/patchbay/internal/store"
)

// routes mounts /healthz, /hooks/ and /api/v1/. Each API endpoint decodes,
// calls one operation and encodes; errors map to statuses by their kind in
// one place (writeErr), and clients get a safe message plus an error id
// while the log gets the detail.
func (a *App) routes(mux *http.ServeMux, token string) {
	mux.HandleFunc("GET /healthz", a.healthz)
	if os.Getenv("PATCHBAY_PPROF") == "1" {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
	mux.Handle("/hooks/{name}/{trigger}", a.Ingest)

	api := func(pattern string, h func(w http.ResponseWriter, r *http.Request) (any, error)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if !authorized(r, token) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="patchbay"`)
				writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "missing or wrong API token (Authorization: Bearer …)"})
				return
			}
			v, err := h(w, r)
			if err != nil {
				a.writeErr(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, v)
		})
	}
	api("GET /api/v1/flows", func(w http.ResponseWriter, r *http.Request) (any, error) { return a.ListFlows(r.Context()) })
	api("POST /api/v1/flows", func(w http.ResponseWriter, r *http.Request) (any, error) {
		src, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			return nil, fault.E(fault.Invalid, "reading flow", err)
		}
		name := r.URL.Query().Get("file")
		if name == "" {
			name = "api"
		}
		return a.ApplyFlow(r.Context(), name, src, "api")
	})
	api("GET /api/v1/flows/{name}", func(w http.ResponseWriter, r *http.Request) (any, error) {
		v, _ := strconv.Atoi(r.URL.Query().Get("version"))
		fv, err := a.FlowSource(r.Context(), r.PathValue("name"), v)
		if err != nil {
			return nil, err
		}
		return map[string]any{"name": fv.Name, "version": fv.Version, "source": fv.Source, "hash": fv.Hash, "applied_at": fv.AppliedAt}, nil
	})
	api("POST /api/v1/flows/{name}/runs", func(w http.ResponseWriter, r *http.Request) (any, error) {
		var body struct {
			Input map[string]any `json:"input"`
		}
		if err := decode(w, r, &body); err != nil {
			return nil, err
		}
		runID, err := a.StartRun(r.Context(), r.PathValue("name"), body.Input)
		if err != nil {
			return nil, err
		}
		return map[string]any{"run_id": runID}, nil
	})
	api("GET /api/v1/runs", func(w http.ResponseWriter, r *http.Request) (any, error) {
		q := r.URL.Query()
		limit, _ := strconv.Atoi(q.Get("limit"))
		return a.ListRuns(r.Context(), store.RunFilter{Flow: q.Get("flow"), Status: q.Get("status"), Before: q.Get("before"), Limit: limit})
	})
	api("GET /api/v1/runs/{id}", func(w http.ResponseWriter, r *http.Request) (any, error) {
		return a.GetRun(r.Context(), r.PathValue("id"))
	})
	api("POST /api/v1/runs/{id}/retry", func(w http.ResponseWriter, r *http.Request) (any, error) {
		var body struct {
			FromStep string         `json:"from_step"`
			Input    map[string]any `json:"input"`
		}
		if err := decode(w, r, &body); err != nil {
			return nil, err
		}
		if err := a.RetryRun(r.Context(), r.PathValue("id"), body.FromStep, body.Input, "api"); err != nil {
			return nil, err
		}
		return a.GetRun(r.Context(), r.PathValue("id"))
	})
	api("POST /api/v1/runs/{id}/cancel", func(w http.ResponseWriter, r *http.Request) (any, error) {
		var body struct {
			Reason string `json:"reason"`
		}
		if err := decode(w, r, &body); err != nil {
			return nil, err
		}
		if err := a.CancelRun(r.Context(), r.PathValue("id"), body.Reason, "api"); err != nil {
			return nil, err
		}
		return a.GetRun(r.Context(), r.PathValue("id"))
	})
	api("GET /api/v1/events", func(w http.ResponseWriter, r *http.Request) (any, error) {
		q := r.URL.Query()
		limit, _ := strconv.Atoi(q.Get("limit"))
		return a.ListEvents(r.Context(), store.EventFilter{Source: q.Get("source"), Status: q.Get("status"), Object: q.Get("object"), Limit: limit}, q.Get("data") == "1")
	})
	api("GET /api/v1/connectors", func(w http.ResponseWriter, r *http.Request) (any, error) { return a.cfg.Registry.Specs(), nil })
	api("GET /api/v1/connections", func(w http.ResponseWriter, r *http.Request) (any, error) { return a.Conns.List(r.Context()) })
	a.auditRoutes(api)
}

func authorized(r *http.Request, token string) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fault.E(fault.Invalid, "decoding request body", err)
	}
	return nil
}

func (a *App) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	kind := fault.KindOf(err)
	status := kind.Status()
	errID := id.New()
	msg := err.Error()
	if status >= 500 {
		a.log.Error("api request failed", "error_id", errID, "method", r.Method, "path", r.URL.Path, "error", err)
		msg = "internal error; see the server log for error id " + errID
	}
	writeJSON(w, status, map[string]any{"error": msg, "kind": kind.String(), "error_id": errID})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// healthz answers 200 when the store answers and, for roles that run them,
// the workers run.
func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	status := map[string]any{"store": a.Store.Driver().Name(), "role": a.cfg.Role}
	if _, err := a.Store.Generation(ctx, a.Store.Reader(), "flows"); err != nil {
		status["status"] = "store unavailable"
		writeJSON(w, http.StatusServiceUnavailable, status)
		return
	}
	status["workers"] = a.cfg.Role == RoleAll || a.cfg.Role == RoleWorker
	status["status"] = "ok"
	writeJSON(w, http.StatusOK, status)
}
