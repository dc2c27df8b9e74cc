package iconik

import (
	"encoding/json"
	"strings"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/iconik/iconikapi"
	"github.com/patchbay/patchbay/internal/fault"
)

var customActionTrigger = connector.TriggerSpec{
	Name: "custom_action", Title: "iconik custom action", Kind: connector.Webhook,
	Doc: "A user runs a custom action in iconik (a menu entry on assets or collections); iconik posts its payload " +
		"to /hooks/<connection>/custom_action with the webhook secret header (setup registers the actions listed in " +
		"the connection's custom_actions). The event's object is the first asset (or collection) chosen; the others " +
		"are in objects. The short-lived user token in the payload is dropped.",
	EventTypes: []string{"custom_action.invoked"},
	Data: []connector.Field{
		{Name: "action_id", Type: str, Doc: "The custom action's id."},
		{Name: "context", Type: str, Doc: "ASSET, COLLECTION, BULK…"},
		{Name: "user_id", Type: str, Doc: "Who ran it."},
		{Name: "asset_ids", Type: connector.List},
		{Name: "collection_ids", Type: connector.List},
		{Name: "saved_search_ids", Type: connector.List},
		{Name: "metadata_view_id", Type: str, Doc: "The form shown before running it, if any."},
		{Name: "fields", Type: connector.Object, Open: true, Doc: "The values entered in that form (flattened)."},
		{Name: "values", Type: connector.Object, Open: true, Doc: "The same as lists."},
		{Name: "date_created", Type: str},
	},
	Examples: []connector.Example{{
		Title: "Send to CMS",
		Output: map[string]any{"type": "custom_action.invoked", "object": "iconik:asset/9f0c…",
			"data": map[string]any{"action_id": "ac71…", "context": "ASSET", "asset_ids": []any{"9f0c…"}, "user_id": "1c2d…"}},
	}},
}

func (c *Conn) receiveCustomAction(body []byte) (*connector.WebhookResponse, error) {
	var p iconikapi.CustomActionPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fault.E(fault.Invalid, "decoding iconik custom action payload", err)
	}
	if p.ActionID == "" {
		return nil, fault.Errorf(fault.Invalid, "iconik custom action payload without action_id")
	}
	if c.set.systemDomainID != "" && p.SystemDomainID != c.set.systemDomainID {
		return nil, fault.Errorf(fault.Unauthorized, "custom action from another iconik tenant (system_domain_id %s)", p.SystemDomainID)
	}
	var objects []string
	for _, id := range p.AssetIDs {
		objects = append(objects, assetRef(id))
	}
	for _, id := range p.CollectionIDs {
		objects = append(objects, collectionRef(id))
	}
	ev := connector.Event{Type: "custom_action.invoked", Object: customActionRef(p.ActionID), Time: parseTime(p.DateCreated)}
	if len(objects) > 0 {
		ev.Object, ev.Objects = objects[0], append(objects[1:], customActionRef(p.ActionID))
	}
	vals := map[string][]any{}
	if len(p.MetadataValues) > 0 && string(p.MetadataValues) != "null" {
		var mv iconikapi.MetadataValues
		if json.Unmarshal(p.MetadataValues, &mv) == nil && mv.MetadataValues != nil {
			vals = mv.Lists()
		} else {
			var bare map[string]iconikapi.FieldValues
			if json.Unmarshal(p.MetadataValues, &bare) == nil {
				vals = (&iconikapi.MetadataValues{MetadataValues: bare}).Lists()
			}
		}
	}
	ev.Data = map[string]any{"action_id": p.ActionID, "context": p.Context, "user_id": p.UserID,
		"asset_ids": stringsAny(p.AssetIDs), "collection_ids": stringsAny(p.CollectionIDs), "saved_search_ids": stringsAny(p.SavedSearchIDs),
		"metadata_view_id": nilIfEmpty(deref(p.MetadataViewID)), "fields": flatten(vals), "values": listsOut(vals),
		"date_created": p.DateCreated}
	// One run per click: the action, the user, the moment and the selection identify it.
	if p.DateCreated != "" {
		sel := sortedStrings(append(append([]string{}, p.AssetIDs...), p.CollectionIDs...))
		ev.ID = "iconik:custom_action:" + strings.TrimPrefix(contentHash([]any{p.ActionID, p.UserID, p.DateCreated, sel}), "sha256:")[:32]
	}
	return &connector.WebhookResponse{Events: []connector.Event{ev}}, nil
}
