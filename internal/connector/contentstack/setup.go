package contentstack

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/contentstack/contentstackapi"
)

// webhookChannels are the channels entry_events needs (the API notes'
// suggested set: entry changes, any workflow stage change, per-environment
// publish and unpublish successes).
var webhookChannels = []string{
	"content_types.entries.create",
	"content_types.entries.update",
	"content_types.entries.delete",
	"content_types.entries.workflows",
	"content_types.entries.environments.publish.success",
	"content_types.entries.environments.unpublish.success",
}

// Setup implements connector.Setupper: it checks the credentials, lists
// content types (with field paths), workflows and stages, environments and
// locales for the mapping editor, checks the webhook signing key can be
// fetched, and registers (or repairs: re-enables, adds channels, sets the
// token header) the webhook posting to HookURL + "entry_events". Running it
// again changes nothing.
func (c *Conn) Setup(ctx context.Context, req *connector.SetupRequest) (*connector.SetupReport, error) {
	rep := &connector.SetupReport{Checks: []string{}, Changes: []string{}, Info: map[string]any{}}
	cts, err := c.api.ContentTypes(ctx)
	if err != nil {
		return nil, fmt.Errorf("contentstack: checking credentials against %s: %w", c.api.BaseURL(), err)
	}
	branch := c.set.branch
	if branch == "" {
		branch = "main"
	}
	rep.Checks = append(rep.Checks, fmt.Sprintf("credentials: stack %s on %s (branch %s) answers; %d content types", c.api.APIKey(), c.api.BaseURL(), branch, len(cts)))
	ctInfo := []any{}
	for _, t := range cts {
		fields := []any{}
		for _, f := range schemaPaths("", t.Schema) {
			fields = append(fields, f)
		}
		ctInfo = append(ctInfo, map[string]any{"uid": t.UID, "title": t.Title, "fields": fields})
	}
	rep.Info["content_types"] = ctInfo

	wfs, err := c.workflows(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("contentstack: listing workflows: %w", err)
	}
	wfInfo := []any{}
	stages := map[string]any{}
	for _, w := range wfs {
		wfInfo = append(wfInfo, workflowView(w))
		if !w.Enabled {
			continue
		}
		for _, t := range cts {
			if w.Applies(t.UID, branch) {
				var names []any
				for _, s := range w.Stages {
					names = append(names, s.Name)
				}
				stages[t.UID] = names
			}
		}
	}
	rep.Info["workflows"] = wfInfo
	rep.Info["stages"] = stages
	rep.Checks = append(rep.Checks, fmt.Sprintf("workflows: %d (%d content types have stages)", len(wfs), len(stages)))

	envs, err := c.environments(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("contentstack: listing environments: %w", err)
	}
	envInfo := []any{}
	for _, e := range envs {
		envInfo = append(envInfo, map[string]any{"uid": e.UID, "name": e.Name})
	}
	rep.Info["environments"] = envInfo
	locs, err := c.locales(ctx)
	if err != nil {
		return nil, fmt.Errorf("contentstack: listing locales: %w", err)
	}
	locInfo := []any{}
	for _, l := range locs {
		locInfo = append(locInfo, map[string]any{"code": l.Code, "name": l.Name})
	}
	rep.Info["locales"] = locInfo
	rep.Checks = append(rep.Checks, fmt.Sprintf("environments: %d, locales: %d", len(envs), len(locs)))

	switch c.set.verify {
	case "signature":
		if _, _, err := c.publicKey(ctx, true); err != nil {
			return nil, fmt.Errorf("contentstack: webhook deliveries could not be verified: %w", err)
		}
		rep.Checks = append(rep.Checks, "webhook signing key fetched from "+c.api.AppURL()+contentstackapi.PublicKeyPath)
	case "hmac":
		rep.Checks = append(rep.Checks, "webhooks are verified with the organization's HMAC secret (enable HMAC signing for the webhook in Contentstack)")
	default:
		if c.set.token == "" {
			rep.Checks = append(rep.Checks, "WARNING: webhook_verify is none and no webhook_token is set: anyone can post events")
		}
	}

	if req == nil || req.HookURL == "" {
		rep.Checks = append(rep.Checks, "no hook URL given: webhook not registered")
		return rep, nil
	}
	if err := c.setupWebhook(ctx, req, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

func (c *Conn) setupWebhook(ctx context.Context, req *connector.SetupRequest, rep *connector.SetupReport) error {
	targetURL := strings.TrimRight(req.HookURL, "/") + "/entry_events"
	hooks, err := c.api.Webhooks(ctx)
	if err != nil {
		return fmt.Errorf("contentstack: listing webhooks: %w", err)
	}
	var found *contentstackapi.Webhook
	for i := range hooks {
		for _, d := range hooks[i].Destinations {
			if d.TargetURL == targetURL {
				found = &hooks[i]
			}
		}
	}
	if found == nil {
		for i := range hooks {
			if hooks[i].Name == c.set.webhookName {
				found = &hooks[i]
			}
		}
	}
	branch := c.set.branch
	if branch == "" {
		branch = "main"
	}
	if found == nil {
		def := map[string]any{
			"name":            c.set.webhookName,
			"destinations":    []any{c.destination(targetURL, nil)},
			"channels":        toAny(webhookChannels),
			"branches":        []any{branch},
			"retry_policy":    "automatic",
			"disabled":        false,
			"concise_payload": c.set.concise,
		}
		if req.DryRun {
			rep.Changes = append(rep.Changes, fmt.Sprintf("would create webhook %q posting to %s", c.set.webhookName, targetURL))
			return nil
		}
		w, err := c.api.CreateWebhook(ctx, def)
		if err != nil {
			return fmt.Errorf("contentstack: creating webhook: %w", err)
		}
		rep.Changes = append(rep.Changes, fmt.Sprintf("created webhook %q (%s) posting to %s", w.Name, w.UID, targetURL))
		rep.Info["webhook"] = webhookInfo(w)
		return nil
	}

	// Repair what differs, keep what the stack's admins added.
	var fixes []string
	channels := append([]string(nil), found.Channels...)
	for _, ch := range webhookChannels {
		if !contains(channels, ch) {
			channels = append(channels, ch)
			fixes = append(fixes, "add channel "+ch)
		}
	}
	if found.Disabled {
		fixes = append(fixes, "re-enable it")
	}
	if found.IsUnhealthy() {
		fixes = append(fixes, "clear the unhealthy mark")
	}
	if bool(found.ConcisePayload) != c.set.concise {
		fixes = append(fixes, fmt.Sprintf("set concise_payload %v", c.set.concise))
	}
	if len(found.Branches) > 0 && !contains(found.Branches, branch) {
		fixes = append(fixes, "add branch "+branch)
	}
	dests, destFix := c.repairDestinations(found, targetURL)
	fixes = append(fixes, destFix...)
	rep.Info["webhook"] = webhookInfo(*found)
	if len(fixes) == 0 {
		rep.Checks = append(rep.Checks, fmt.Sprintf("webhook %q (%s) posts to %s with the channels entry_events needs", found.Name, found.UID, targetURL))
		return nil
	}
	if req.DryRun {
		rep.Changes = append(rep.Changes, fmt.Sprintf("would repair webhook %q (%s): %s", found.Name, found.UID, strings.Join(fixes, ", ")))
		return nil
	}
	def := map[string]any{}
	for _, k := range []string{"name", "notifiers", "retry_policy", "branches"} {
		if v, ok := found.Raw[k]; ok {
			def[k] = v
		}
	}
	branches := found.Branches
	if len(branches) > 0 && !contains(branches, branch) {
		branches = append(append([]string(nil), branches...), branch)
	}
	if len(branches) > 0 {
		def["branches"] = toAny(branches)
	}
	def["destinations"] = dests
	def["channels"] = toAny(channels)
	def["disabled"] = false
	def["concise_payload"] = c.set.concise
	w, err := c.api.UpdateWebhook(ctx, found.UID, def)
	if err != nil {
		return fmt.Errorf("contentstack: repairing webhook %s: %w", found.UID, err)
	}
	rep.Changes = append(rep.Changes, fmt.Sprintf("repaired webhook %q (%s): %s", w.Name, w.UID, strings.Join(fixes, ", ")))
	rep.Info["webhook"] = webhookInfo(w)
	return nil
}

// destination is patchbay's webhook destination; the token header is
// added when the connection has a webhook_token.
func (c *Conn) destination(targetURL string, keep map[string]any) map[string]any {
	d := map[string]any{}
	for k, v := range keep {
		d[k] = v
	}
	d["target_url"] = targetURL
	var headers []any
	if old, ok := keep["custom_header"].([]any); ok {
		for _, h := range old {
			if m, ok := h.(map[string]any); ok && !strings.EqualFold(str(m["header_name"]), TokenHeader) {
				headers = append(headers, m)
			}
		}
	}
	if c.set.token != "" {
		headers = append(headers, map[string]any{"header_name": TokenHeader, "value": c.set.token})
	}
	if headers == nil {
		headers = []any{}
	}
	d["custom_header"] = headers
	if _, ok := d["http_basic_auth"]; !ok {
		d["http_basic_auth"] = ""
		d["http_basic_password"] = ""
	}
	return d
}

// repairDestinations points the webhook's destinations at targetURL (when
// found by name) and sets the token header, reporting what changed.
func (c *Conn) repairDestinations(w *contentstackapi.Webhook, targetURL string) ([]any, []string) {
	raw, _ := w.Raw["destinations"].([]any)
	var out []any
	var fixes []string
	hasTarget := false
	for i, x := range raw {
		m, _ := x.(map[string]any)
		if m == nil || i >= len(w.Destinations) {
			continue
		}
		d := w.Destinations[i]
		if d.TargetURL != targetURL {
			out = append(out, m)
			continue
		}
		hasTarget = true
		tokenOK := c.set.token == ""
		for _, h := range d.CustomHeader {
			if strings.EqualFold(h.HeaderName, TokenHeader) {
				tokenOK = c.set.token != "" && h.Value == c.set.token
				if c.set.token == "" {
					fixes = append(fixes, "remove the old token header")
				}
			}
		}
		if !tokenOK && c.set.token != "" {
			fixes = append(fixes, "set the "+TokenHeader+" header")
		}
		out = append(out, c.destination(targetURL, m))
	}
	if !hasTarget {
		// Found by its name: patchbay's webhook for an older public URL.
		var old []string
		for _, d := range w.Destinations {
			old = append(old, d.TargetURL)
		}
		fixes = append(fixes, fmt.Sprintf("post to %s instead of %s", targetURL, strings.Join(old, ", ")))
		out = []any{c.destination(targetURL, nil)}
	}
	return out, fixes
}

func webhookInfo(w contentstackapi.Webhook) map[string]any {
	var targets []any
	for _, d := range w.Destinations {
		targets = append(targets, d.TargetURL)
	}
	chs := append([]string(nil), w.Channels...)
	sort.Strings(chs)
	return map[string]any{"uid": w.UID, "name": w.Name, "targets": targets, "channels": toAny(chs),
		"disabled": bool(w.Disabled), "concise_payload": bool(w.ConcisePayload)}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
