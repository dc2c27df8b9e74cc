package iconik

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/iconik/iconikapi"
	"github.com/patchbay/patchbay/internal/fault"
)

// Setup implements connector.Setupper: it checks the credentials, lists the
// metadata views and fields for the mapping editor (Info), and registers or
// repairs the webhook definitions asset_events needs and the configured
// custom actions, all pointing at req.HookURL with the secret header. It is
// idempotent: a second run changes nothing. With DryRun it only reports.
func (c *Conn) Setup(ctx context.Context, req *connector.SetupRequest) (*connector.SetupReport, error) {
	rep := &connector.SetupReport{Checks: []string{}, Changes: []string{}, Info: map[string]any{}}
	u, err := c.api.CurrentUser(ctx)
	if err != nil {
		return nil, fmt.Errorf("checking the iconik credentials: %w", err)
	}
	rep.Checks = append(rep.Checks, fmt.Sprintf("credentials valid: user %s (%s)", u.Email, u.ID))
	c.mu.Lock()
	c.selfID = u.ID
	c.mu.Unlock()
	rep.Info["user_id"] = u.ID
	if u.SystemDomainID != "" {
		rep.Info["system_domain_id"] = u.SystemDomainID
		if c.set.systemDomainID != "" && c.set.systemDomainID != u.SystemDomainID {
			return nil, fault.Errorf(fault.Invalid, "the token belongs to tenant %s but the connection's system_domain_id is %s", u.SystemDomainID, c.set.systemDomainID)
		}
	}

	views, err := c.viewList(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("listing metadata views: %w", err)
	}
	fields, err := c.api.Fields(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing metadata fields: %w", err)
	}
	rep.Info["metadata_views"] = viewsInfo(views)
	rep.Info["metadata_fields"] = fieldsInfo(fields)
	rep.Checks = append(rep.Checks, fmt.Sprintf("metadata: %d views, %d fields", len(views), len(fields)))
	if c.set.metadataView != "" {
		v, err := c.resolveView(ctx, c.set.metadataView)
		if err != nil {
			return nil, fmt.Errorf("the connection's metadata_view: %w", err)
		}
		rep.Checks = append(rep.Checks, fmt.Sprintf("metadata view %q found (%s, %d fields)", v.Name, v.ID, len(v.ViewFields)))
	}

	if req.HookURL == "" {
		return nil, fault.Errorf(fault.Invalid, "setting up iconik webhooks needs patchbay's public URL")
	}
	if c.set.webhookSecret == "" {
		return nil, fault.Errorf(fault.Invalid, "set the connection's webhook_secret before setup: iconik must send it with every webhook")
	}
	base := req.HookURL
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	if err := c.setupWebhooks(ctx, base+"asset_events", req.DryRun, rep); err != nil {
		return nil, err
	}
	if err := c.setupCustomActions(ctx, base+"custom_action", req.DryRun, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

type wantHook struct {
	name, eventType, realm string
}

func (c *Conn) setupWebhooks(ctx context.Context, url string, dry bool, rep *connector.SetupReport) error {
	prefix := "patchbay " + c.name + " "
	var want []wantHook
	for _, et := range c.set.webhookEvents {
		if len(c.set.webhookRealms) == 0 {
			want = append(want, wantHook{name: prefix + et, eventType: et})
			continue
		}
		for _, r := range c.set.webhookRealms {
			want = append(want, wantHook{name: prefix + et + " " + r, eventType: et, realm: r})
		}
	}
	existing, err := c.api.Webhooks(ctx)
	if err != nil {
		return fmt.Errorf("listing iconik webhooks: %w", err)
	}
	used := map[string]bool{}
	var infos []any
	for _, w := range want {
		desired := &iconikapi.Webhook{Name: w.name, Description: "patchbay connection " + c.name + ": asset_events trigger",
			URL: url, EventType: w.eventType, Status: "ENABLED", Query: c.set.webhookQuery,
			Headers: map[string]string{c.set.webhookHeader: c.set.webhookSecret}}
		if w.realm != "" {
			r := w.realm
			desired.Realm = &r
		}
		cur := findHook(existing, used, w, url)
		switch {
		case cur == nil:
			rep.Changes = append(rep.Changes, maybe(dry, fmt.Sprintf("create webhook %q (%s%s → %s)", w.name, w.eventType, realmSuffix(w.realm), url)))
			if !dry {
				made, err := c.api.CreateWebhook(ctx, desired)
				if err != nil {
					return fmt.Errorf("creating iconik webhook %q: %w", w.name, err)
				}
				cur = made
			}
		default:
			used[cur.ID] = true
			if why := hookDiff(cur, desired, c.set.webhookHeader); why != "" {
				rep.Changes = append(rep.Changes, maybe(dry, fmt.Sprintf("repair webhook %q (%s): %s", w.name, cur.ID, why)))
				if !dry {
					desired.ID = cur.ID
					made, err := c.api.UpdateWebhook(ctx, desired)
					if err != nil {
						return fmt.Errorf("repairing iconik webhook %q: %w", w.name, err)
					}
					cur = made
				}
			} else {
				rep.Checks = append(rep.Checks, fmt.Sprintf("webhook %q ok (%s)", w.name, cur.ID))
			}
		}
		if cur != nil {
			infos = append(infos, map[string]any{"id": cur.ID, "name": w.name, "event_type": w.eventType, "realm": nilIfEmpty(w.realm), "status": cur.Status})
		}
	}
	for i := range existing {
		h := &existing[i]
		if used[h.ID] || !strings.HasPrefix(h.Name, prefix) {
			continue
		}
		rep.Changes = append(rep.Changes, maybe(dry, fmt.Sprintf("delete webhook %q (%s) no longer needed", h.Name, h.ID)))
		if !dry {
			if err := c.api.DeleteWebhook(ctx, h.ID); err != nil && !fault.Is(err, fault.NotFound) {
				return fmt.Errorf("deleting iconik webhook %q: %w", h.Name, err)
			}
		}
	}
	rep.Info["webhook_url"] = url
	rep.Info["webhooks"] = infos
	return nil
}

func realmSuffix(r string) string {
	if r == "" {
		return ", every realm"
	}
	return "/" + r
}

// findHook finds the definition for w: by name, else one with the same
// URL, event type and realm (made by hand, say).
func findHook(hooks []iconikapi.Webhook, used map[string]bool, w wantHook, url string) *iconikapi.Webhook {
	for i := range hooks {
		if !used[hooks[i].ID] && hooks[i].Name == w.name {
			return &hooks[i]
		}
	}
	for i := range hooks {
		h := &hooks[i]
		if !used[h.ID] && h.URL == url && h.EventType == w.eventType && deref(h.Realm) == w.realm {
			return h
		}
	}
	return nil
}

// hookDiff says how an existing definition differs from the desired one
// ("" when it does not). The secret itself is never named.
func hookDiff(cur, want *iconikapi.Webhook, header string) string {
	var why []string
	if cur.URL != want.URL {
		why = append(why, "url was "+cur.URL)
	}
	if cur.Status != "ENABLED" {
		why = append(why, "status was "+cur.Status)
	}
	if cur.EventType != want.EventType {
		why = append(why, "event type was "+cur.EventType)
	}
	if deref(cur.Realm) != deref(want.Realm) {
		why = append(why, "realm was "+firstNonEmpty(deref(cur.Realm), "(all)"))
	}
	if op := deref(cur.Operation); op != "" && !strings.EqualFold(op, "all") {
		why = append(why, "operation filter was "+op)
	}
	if cur.Query != want.Query {
		why = append(why, "query filter was "+strconv.Quote(cur.Query))
	}
	if cur.Name != want.Name {
		why = append(why, "name was "+cur.Name)
	}
	if !hasHeader(cur.Headers, header, want.Headers[header]) {
		why = append(why, "secret header missing or different")
	}
	return strings.Join(why, "; ")
}

func hasHeader(h map[string]string, name, value string) bool {
	for k, v := range h {
		if strings.EqualFold(k, name) && v == value {
			return true
		}
	}
	return false
}

func (c *Conn) setupCustomActions(ctx context.Context, url string, dry bool, rep *connector.SetupReport) error {
	if len(c.set.customActions) == 0 {
		return nil
	}
	rep.Info["custom_action_url"] = url
	byContext := map[string][]iconikapi.CustomAction{}
	var infos []any
	for _, ca := range c.set.customActions {
		list, ok := byContext[ca.Context]
		if !ok {
			var err error
			if list, err = c.api.ListCustomActions(ctx, ca.Context); err != nil {
				return fmt.Errorf("listing iconik custom actions: %w", err)
			}
			byContext[ca.Context] = list
		}
		appID := c.set.appID
		desired := &iconikapi.CustomAction{Title: ca.Title, URL: url, Context: ca.Context, Type: "POST", AppID: &appID,
			Headers: map[string]string{c.set.webhookHeader: c.set.webhookSecret}}
		var cur *iconikapi.CustomAction
		for i := range list {
			if list[i].Title == ca.Title {
				cur = &list[i]
				break
			}
		}
		label := fmt.Sprintf("custom action %q (%s)", ca.Title, ca.Context)
		switch {
		case cur == nil:
			rep.Changes = append(rep.Changes, maybe(dry, "create "+label+" → "+url))
			if !dry {
				made, err := c.api.CreateCustomAction(ctx, desired)
				if err != nil {
					return fmt.Errorf("creating iconik %s: %w", label, err)
				}
				cur = made
			}
		default:
			var why []string
			if cur.URL != url {
				why = append(why, "url was "+cur.URL)
			}
			if cur.Type != "POST" {
				why = append(why, "type was "+cur.Type)
			}
			if cur.Disabled {
				why = append(why, "was disabled")
			}
			if !hasHeader(cur.Headers, c.set.webhookHeader, c.set.webhookSecret) {
				why = append(why, "secret header missing or different")
			}
			if deref(cur.AppID) != appID {
				why = append(why, "app id differs")
			}
			if len(why) == 0 {
				rep.Checks = append(rep.Checks, label+" ok ("+cur.ID+")")
				break
			}
			rep.Changes = append(rep.Changes, maybe(dry, "repair "+label+": "+strings.Join(why, "; ")))
			if !dry {
				desired.ID = cur.ID
				made, err := c.api.UpdateCustomAction(ctx, desired)
				if err != nil {
					return fmt.Errorf("repairing iconik %s: %w", label, err)
				}
				cur = made
			}
		}
		if cur != nil {
			infos = append(infos, map[string]any{"id": cur.ID, "title": ca.Title, "context": ca.Context})
		}
	}
	rep.Info["custom_actions"] = infos
	return nil
}

func maybe(dry bool, s string) string {
	if dry {
		return "would " + s
	}
	return s
}

func viewsInfo(views []iconikapi.View) []any {
	out := make([]any, 0, len(views))
	for _, v := range views {
		names := make([]any, 0, len(v.ViewFields))
		for _, f := range v.ViewFields {
			names = append(names, f.Name)
		}
		out = append(out, map[string]any{"id": v.ID, "name": v.Name, "fields": names})
	}
	return out
}

func fieldsInfo(fields []iconikapi.Field) []any {
	sort.Slice(fields, func(i, j int) bool { return fields[i].Name < fields[j].Name })
	out := make([]any, 0, len(fields))
	for _, f := range fields {
		m := map[string]any{"name": f.Name, "label": f.Label, "type": f.FieldType, "multi": f.Multi}
		if len(f.Options) > 0 {
			opts := make([]any, 0, len(f.Options))
			for _, o := range f.Options {
				opts = append(opts, o.Value)
			}
			m["options"] = opts
		}
		out = append(out, m)
	}
	return out
}
