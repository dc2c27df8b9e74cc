package contentstack

import (
	"context"
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/connector"
	sandbox "github.com/patchbay/patchbay/internal/sandbox/contentstack"
)

func TestSetupRegistersAndRepairsTheWebhook(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fastSandbox())
	c := e.open(map[string]any{"webhook_token": "tok-abcdef"})
	ctx := context.Background()
	hook := "https://patchbay.example.com/hooks/cms/"

	// Dry run: reports, changes nothing.
	rep, err := c.Setup(ctx, &connector.SetupRequest{HookURL: hook, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Changes) != 1 || !strings.Contains(rep.Changes[0], "would create") {
		t.Fatalf("dry run changes %v", rep.Changes)
	}
	hooks, _ := c.api.Webhooks(ctx)
	if len(hooks) != 0 {
		t.Fatalf("dry run created %d webhooks", len(hooks))
	}
	// Info lists what the mapping editor needs.
	for _, k := range []string{"content_types", "workflows", "stages", "environments", "locales"} {
		if rep.Info[k] == nil {
			t.Errorf("info has no %s: %v", k, rep.Info)
		}
	}
	if st := rep.Info["stages"].(map[string]any)["video"].([]any); len(st) != 4 || st[1] != sandbox.StageReadyForMedia {
		t.Errorf("stages %v", st)
	}

	rep, err = c.Setup(ctx, &connector.SetupRequest{HookURL: hook})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Changes) != 1 || !strings.Contains(rep.Changes[0], "created webhook") {
		t.Fatalf("changes %v", rep.Changes)
	}
	hooks, _ = c.api.Webhooks(ctx)
	if len(hooks) != 1 || hooks[0].Destinations[0].TargetURL != hook+"entry_events" || !bool(hooks[0].ConcisePayload) ||
		len(hooks[0].Channels) != len(webhookChannels) {
		t.Fatalf("webhook %+v", hooks)
	}
	// Idempotent.
	rep, err = c.Setup(ctx, &connector.SetupRequest{HookURL: hook})
	if err != nil || len(rep.Changes) != 0 {
		t.Fatalf("second setup: %v %v", rep.Changes, err)
	}
	for _, s := range append(rep.Checks, rep.Changes...) {
		if strings.Contains(s, "tok-abcdef") || strings.Contains(s, e.s.ManagementToken()) {
			t.Errorf("secret in report: %s", s)
		}
	}

	// Broken by an admin (disabled, a channel removed, the circuit breaker): repaired.
	def := map[string]any{"name": hooks[0].Name, "destinations": hooks[0].Raw["destinations"],
		"channels": []any{"content_types.entries.update", "assets.create"}, "disabled": true, "concise_payload": true,
		"notifiers": []any{"ops@example.com"}}
	if _, err := c.api.UpdateWebhook(ctx, hooks[0].UID, def); err != nil {
		t.Fatal(err)
	}
	rep, err = c.Setup(ctx, &connector.SetupRequest{HookURL: hook})
	if err != nil || len(rep.Changes) != 1 || !strings.Contains(rep.Changes[0], "re-enable") || !strings.Contains(rep.Changes[0], "add channel") {
		t.Fatalf("repair: %v %v", rep.Changes, err)
	}
	hooks, _ = c.api.Webhooks(ctx)
	w := hooks[0]
	if bool(w.Disabled) || !contains(w.Channels, "assets.create") || !contains(w.Channels, "content_types.entries.workflows") ||
		len(w.Raw["notifiers"].([]any)) != 1 {
		t.Errorf("after repair %+v", w)
	}
	// patchbay moved: the webhook found by its name follows.
	rep, err = c.Setup(ctx, &connector.SetupRequest{HookURL: "https://new.example.com/hooks/cms/"})
	if err != nil || len(rep.Changes) != 1 || !strings.Contains(rep.Changes[0], "instead of") {
		t.Fatalf("moved: %v %v", rep.Changes, err)
	}
	hooks, _ = c.api.Webhooks(ctx)
	if len(hooks) != 1 || len(hooks[0].Destinations) != 1 || hooks[0].Destinations[0].TargetURL != "https://new.example.com/hooks/cms/entry_events" {
		t.Errorf("moved webhook %+v", hooks)
	}
	// No hook URL: checks only.
	rep, err = c.Setup(ctx, &connector.SetupRequest{})
	if err != nil || len(rep.Changes) != 0 {
		t.Errorf("no hook url: %v %v", rep, err)
	}
}

func TestSetupFailsOnBadCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fastSandbox())
	c := e.open(map[string]any{"management_token": "wrong-token"})
	if _, err := c.Setup(context.Background(), &connector.SetupRequest{HookURL: "https://x/hooks/cms/"}); err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Fatalf("err = %v", err)
	}
}
