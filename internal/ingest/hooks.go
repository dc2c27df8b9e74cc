package ingest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/httpx"
	"github.com/patchbay/patchbay/internal/fault"
	"github.com/patchbay/patchbay/internal/flow"
)

// ServeHTTP receives POST /hooks/{name}/{trigger}. name is a connection
// (its connector's trigger verifies and normalizes the delivery) or a flow
// whose trigger is the built-in webhook. The answer is 202 with what became
// of the events, only after they are durable.
func (in *Ingest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, trigger := r.PathValue("name"), r.PathValue("trigger")
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		w.Header().Set("Allow", "POST, PUT")
		writeError(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, in.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			in.reject(w, r, name, trigger, http.StatusRequestEntityTooLarge, "body over the limit of "+itoa(in.cfg.MaxBody)+" bytes")
			return
		}
		writeError(w, http.StatusBadRequest, "reading body: "+err.Error())
		return
	}
	req := &connector.WebhookRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body}
	ctx := r.Context()

	var resp *connector.WebhookResponse
	source, flowName := name, ""
	conn, spec, connErr := in.conns.Get(ctx, name)
	switch {
	case connErr == nil:
		ts, ok := spec.Trigger(trigger)
		if !ok || ts.Kind != connector.Webhook {
			writeError(w, http.StatusNotFound, "connection "+name+" ("+spec.Name+") has no webhook trigger "+trigger)
			return
		}
		recv, ok := conn.(connector.WebhookReceiver)
		if !ok {
			writeError(w, http.StatusNotFound, "connector "+spec.Name+" receives no webhooks")
			return
		}
		resp, err = recv.Receive(ctx, trigger, req)
	case fault.Is(connErr, fault.NotFound):
		fl, ferr := in.flows.Active(ctx, name)
		if ferr != nil || fl.Trigger.Kind != flow.TriggerWebhook || trigger != "webhook" {
			writeError(w, http.StatusNotFound, "no connection or webhook flow named "+name)
			return
		}
		source, flowName = "flow:"+name, name
		resp, err = flowWebhook(fl, req)
	default:
		in.log.Error("opening connection for webhook", "connection", name, "error", connErr)
		writeError(w, http.StatusServiceUnavailable, "connection "+name+" is not available")
		return
	}
	if err != nil {
		status := fault.KindOf(err).Status()
		if status >= 500 {
			in.log.Warn("webhook receiver failed", "source", source, "trigger", trigger, "error", err)
			writeError(w, status, "receiving webhook failed; try again")
			return
		}
		in.reject(w, r, source, trigger, status, err.Error())
		return
	}
	var outs []Outcome
	if len(resp.Events) > 0 {
		outs, err = in.Accept(ctx, &Batch{Source: source, Trigger: trigger, Flow: flowName, Events: resp.Events})
		if err != nil {
			in.log.Error("storing webhook events", "source", source, "trigger", trigger, "error", err)
			writeError(w, http.StatusServiceUnavailable, "storing the event failed; nothing was accepted, try again")
			return
		}
	}
	if resp.Status != 0 {
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.Status)
		_, _ = w.Write(resp.Body)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"events": outcomes(outs)})
}

func outcomes(o []Outcome) []Outcome {
	if o == nil {
		return []Outcome{}
	}
	return o
}

// reject records a refused delivery and answers with the status.
func (in *Ingest) reject(w http.ResponseWriter, r *http.Request, source, trigger string, status int, reason string) {
	evID, err := in.Reject(r.Context(), source, trigger, reason)
	if err != nil {
		in.log.Error("recording rejected webhook", "source", source, "error", err)
	}
	in.log.Info("webhook rejected", "source", source, "trigger", trigger, "status", status, "reason", reason, "event_id", evID)
	writeJSON(w, status, map[string]any{"error": reason, "event_id": evID})
}

// flowWebhook verifies and decodes a delivery to a flow-level webhook.
func flowWebhook(fl *flow.Flow, req *connector.WebhookRequest) (*connector.WebhookResponse, error) {
	cfg := fl.Trigger.Config
	verify, _ := cfg["verify"].(string)
	if verify == "" {
		verify = "token"
	}
	if verify != "none" {
		envName, _ := cfg["secret_env"].(string)
		secret := os.Getenv(envName)
		if secret == "" {
			return nil, fault.Errorf(fault.Permanent, "flow %s: webhook secret variable %s is empty on this node", fl.Name, envName)
		}
		header, _ := cfg["header"].(string)
		if err := httpx.Verify(verify, header, secret, req.Header, req.Body); err != nil {
			return nil, err
		}
	}
	ev, err := httpx.Decode(req, "", "", "")
	if err != nil {
		return nil, err
	}
	return &connector.WebhookResponse{Events: []connector.Event{ev}}, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": msg})
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
