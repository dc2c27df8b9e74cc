package opentext_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/connectortest"
	"github.com/patchbay/patchbay/internal/connector/opentext"
	"github.com/patchbay/patchbay/internal/connector/opentext/opentextapi"
	"github.com/patchbay/patchbay/internal/httpclient"
	otsb "github.com/patchbay/patchbay/internal/sandbox/opentext"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	for _, grant := range []string{"client_credentials", "password"} {
		t.Run(grant, func(t *testing.T) {
			t.Parallel()
			s := newSandbox(t, otsb.Options{Seed: true})
			extra := map[string]any{}
			if grant == "password" {
				extra["username"], extra["password"] = "approver@example.com", "approver-password"
			}
			connectortest.Run(t, connectortest.Config{
				Connector: opentext.Connector{},
				Values:    s.values(extra),
				OK:        &connectortest.Call{Action: "list_tasks", Input: map[string]any{"definition_key": "media_review", "include_variables": true}},
				NotFound:  &connectortest.Call{Action: "get_process", Input: map[string]any{"id": "no-such-instance"}},
				// media_review needs reviewer_group: the service fails the start (500
				// "Unknown property used in expression"), which the client reads as invalid input.
				Invalid: &connectortest.Call{Action: "start_process", Input: map[string]any{"definition_key": "media_review", "if_running": "start"}},
				Write: &connectortest.Call{Action: "start_process", Input: map[string]any{"definition_key": "media_review",
					"variables": reviewVars("conformance"), "callback": false}},
				SawKey: func(key string) bool {
					// start_process stores the idempotency key in a process variable
					// (and, with no business key, uses it in the business key).
					return sandboxHasVar(t, s, opentext.DefaultIdemVariable, key)
				},
				Trigger: "callback",
				BadWebhook: &connector.WebhookRequest{Method: "POST", Header: http.Header{"X-Callback-Secret": {"wrong"}},
					Body: []byte(`{"processInstanceId":"x","outcome":"approved"}`)},
			})
		})
	}
}

// sandboxHasVar reports whether any process instance has variable name = value.
func sandboxHasVar(t *testing.T, s *sandbox, name, value string) bool {
	t.Helper()
	api, err := opentextapi.New(opentextapi.Config{BaseURL: s.URL, TenantID: s.Credentials()["tenant_id"],
		ClientID: s.Credentials()["client_id"], ClientSecret: s.Credentials()["client_secret"], HTTP: httpclient.New(httpclient.Options{Name: "t"})})
	if err != nil {
		t.Fatal(err)
	}
	page, err := api.ListHistoricInstances(context.Background(), opentextapi.HistoricInstanceQuery{BusinessKey: "patchbay:" + value,
		IncludeVariables: true, Paging: opentextapi.Paging{Count: 10}})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range page.Items {
		for _, v := range h.Variables {
			if v.Name == name && v.Value == value {
				return true
			}
		}
	}
	return false
}
