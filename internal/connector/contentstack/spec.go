package contentstack

import (
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/contentstack/contentstackapi"
)

// Event types entry_events and poll emit.
const (
	EventCreated         = "entry.created"
	EventUpdated         = "entry.updated"
	EventDeleted         = "entry.deleted"
	EventPublished       = "entry.published"
	EventUnpublished     = "entry.unpublished"
	EventStageChanged    = "entry.workflow_stage_changed"
	EventPublishFailed   = "entry.publish_failed"
	EventUnpublishFailed = "entry.unpublish_failed"
)

func regionEnum() []any {
	var out []any
	for _, id := range contentstackapi.RegionIDs() {
		out = append(out, id)
	}
	return out
}

var (
	fContentType = connector.Field{Name: "content_type", Type: connector.String, Example: "video",
		Doc: "Content type uid. May be left out when entry is a reference (contentstack:entry/<content_type>/<uid>)."}
	fEntry = connector.Field{Name: "entry", Type: connector.String, Required: true, Example: "blt8c1e2d3f4a5b6c7d",
		Doc: "The entry: its uid, or its reference contentstack:entry/<content_type>/<uid> (the object of events and writes)."}
	fLocale = connector.Field{Name: "locale", Type: connector.String, Example: "en-us",
		Doc: "Locale code of the entry copy; empty means the master locale."}
	fFields = connector.Field{Name: "fields", Type: connector.Object, Open: true, Required: true,
		Example: map[string]any{"title": "Spring Launch Teaser", "rights.rights_status": "Cleared"},
		Doc: "Field values by field uid or field path (rights.rights_status, page_sections.hero.headline, iconik_assets.0.id). " +
			"Fields not named keep their stored value; an object given for a group is merged into it; a JSON (custom) field takes any JSON."}
	fWait = connector.Field{Name: "wait", Type: connector.Duration, Example: "20s",
		Doc: "How long to follow the asynchronous publish until it is live (default: the connection's publish_wait). 0s returns at once with status queued."}
	entryOutput = []connector.Field{
		{Name: "uid", Type: connector.String},
		{Name: "object", Type: connector.String, Doc: "contentstack:entry/<content_type>/<uid>"},
		{Name: "content_type", Type: connector.String},
		{Name: "locale", Type: connector.String},
		{Name: "version", Type: connector.Int, Doc: "_version after the action"},
		{Name: "title", Type: connector.String},
		{Name: "entry", Type: connector.Object, Open: true, Doc: "The entry as the CMA returns it (fields and system keys)."},
	}
	publishInput = []connector.Field{
		fContentType, fEntry,
		{Name: "environments", Type: connector.List, Required: true, Items: &connector.Field{Type: connector.String}, Example: []any{"production"},
			Doc: "Environment names (or uids)."},
		{Name: "locales", Type: connector.List, Items: &connector.Field{Type: connector.String}, Example: []any{"en-us"},
			Doc: "Locales to publish into; default: the locale of the copy published."},
		fLocale,
		{Name: "version", Type: connector.Int, Doc: "Version to publish; default the latest."},
		{Name: "scheduled_at", Type: connector.String, Example: "2026-01-01T10:00:00.000Z", Doc: "Publish at this time (RFC 3339) instead of now; the action then returns status scheduled."},
		fWait,
	}
	publishOutput = append([]connector.Field{
		{Name: "status", Type: connector.String, Enum: []any{"published", "unpublished", "queued", "scheduled"},
			Doc: "published/unpublished once publish_details confirm every environment and locale; queued when the wait ran out first."},
		{Name: "environments", Type: connector.List},
		{Name: "locales", Type: connector.List},
		{Name: "pending", Type: connector.List, Doc: "environment/locale pairs not yet confirmed (status queued)."},
	}, entryOutput[:5]...)
	eventData = []connector.Field{
		{Name: "content_type", Type: connector.String},
		{Name: "uid", Type: connector.String},
		{Name: "locale", Type: connector.String, Doc: "The locale the event concerns (for publish events the locale published into)."},
		{Name: "version", Type: connector.Int},
		{Name: "title", Type: connector.String},
		{Name: "event", Type: connector.String, Doc: "Contentstack's event name (create, update, publish, workflow_stage_change…)."},
		{Name: "entry", Type: connector.Object, Open: true, Doc: "The entry (re-fetched when the payload was concise)."},
		{Name: "environment", Type: connector.Object, Doc: "{uid, name} for publish and unpublish events."},
		{Name: "stage", Type: connector.Object, Doc: "{uid, name} of the workflow stage entered (stage events) or current (when known)."},
		{Name: "previous_stage", Type: connector.Object, Doc: "{uid, name} for stage events when Contentstack sends it."},
		{Name: "workflow", Type: connector.Object, Doc: "{uid, name} for stage events."},
		{Name: "triggered_at", Type: connector.String},
		{Name: "branch", Type: connector.String},
		{Name: "release", Type: connector.Object, Doc: "The release ({type, uid, title}) when the change came from a release deployment."},
		{Name: "source_locale", Type: connector.String, Doc: "The locale of the entry copy (differs from locale when the master copy was published into another locale)."},
		{Name: "content_hash", Type: connector.String, Doc: "Content hash of the entry (as for created/updated events' hash)."},
		{Name: "concise", Type: connector.Bool, Doc: "The payload was concise."},
		{Name: "refetched", Type: connector.Bool, Doc: "The entry was re-read from the CMA."},
	}
	filterConfig = []connector.Field{
		{Name: "content_types", Type: connector.List, Items: &connector.Field{Type: connector.String}, Example: []any{"video"},
			Doc: "Only entries of these content types."},
		{Name: "environments", Type: connector.List, Items: &connector.Field{Type: connector.String}, Example: []any{"production"},
			Doc: "Only publish/unpublish events to these environments (names or uids); other events carry no environment and do not match."},
		{Name: "locales", Type: connector.List, Items: &connector.Field{Type: connector.String}, Doc: "Only these locales."},
		{Name: "stages", Type: connector.List, Items: &connector.Field{Type: connector.String}, Example: []any{"Ready for media"},
			Doc: "Only entries in (for stage events: entering) these workflow stages, by name or uid."},
		{Name: "events", Type: connector.List, Items: &connector.Field{Type: connector.String}, Example: []any{EventStageChanged},
			Doc: "Only these event types."},
	}
)

var spec = &connector.Spec{
	Name:  Name,
	Title: "Contentstack",
	Doc: "Reacts to and acts on one Contentstack stack through the Content Management API: entry webhooks " +
		"(signature-verified), a poll fallback, entry reads, queries, partial updates, upserts by field or link, " +
		"publishing, workflow stages and schemas.",
	Connection: []connector.Field{
		{Name: "region", Type: connector.String, Default: "na", Enum: regionEnum(),
			Doc: "The stack's region: na, eu, au, azure-na, azure-eu, gcp-na, gcp-eu (sets the CMA and app hosts)."},
		{Name: "base_url", Type: connector.String, Example: "https://api.contentstack.io",
			Doc: "Overrides the region's CMA host (a proxy, the sandbox). Also used as the app host unless app_url is set."},
		{Name: "app_url", Type: connector.String, Example: "https://app.contentstack.com",
			Doc: "Overrides the app host the webhook signing key is fetched from (/.well-known/public-keys.json)."},
		{Name: "api_key", Type: connector.String, Required: true, Example: "blt5a1d0c3e9f7b2a64", Doc: "The stack API key."},
		{Name: "management_token", Type: connector.String, Required: true, Secret: true,
			Doc: "A stack management token with read and write rights."},
		{Name: "branch", Type: connector.String, Doc: "Branch uid or alias; empty means the stack default (main)."},
		{Name: "read_rate", Type: connector.Number, Default: contentstackapi.DefaultReadRate,
			Doc: "GET requests per second (Contentstack documents 10/s per organization; default 8)."},
		{Name: "write_rate", Type: connector.Number, Default: contentstackapi.DefaultWriteRate,
			Doc: "POST/PUT/DELETE requests per second (documented 10/s, newer guides 20/s; default 8)."},
		{Name: "bulk_rate", Type: connector.Number, Default: contentstackapi.DefaultBulkRate,
			Doc: "Bulk publish/unpublish calls per second (documented 1/s)."},
		{Name: "rate_limit_backoff", Type: connector.Duration, Default: "1s",
			Doc: "First wait after a 429 that names no delay; doubles on each consecutive 429 up to 8 times this."},
		{Name: "rate_limit_wait", Type: connector.Duration, Default: "10s",
			Doc: "How long one call waits out rate limits before the step is handed back to the engine to be delayed."},
		{Name: "timeout", Type: connector.Duration, Default: "30s", Doc: "Timeout of one request."},
		{Name: "webhook_verify", Type: connector.String, Default: "signature", Enum: []any{"signature", "hmac", "none"},
			Doc: "How entry_events deliveries are verified: the RSA-PSS X-Contentstack-Request-Signature (key fetched from the app host and cached), " +
				"the organization's HMAC signature (x-contentstack-hmac-signature), or not at all (then set webhook_token)."},
		{Name: "hmac_secrets", Type: connector.String, Secret: true,
			Doc: "The organization's HMAC signing secret(s), comma-separated while a key rotates (webhook_verify hmac)."},
		{Name: "webhook_token", Type: connector.String, Secret: true,
			Doc: "Optional shared secret: setup adds it to the webhook as the X-Patchbay-Webhook-Token header and deliveries without it are rejected."},
		{Name: "webhook_max_age", Type: connector.Duration,
			Doc: "Reject deliveries whose triggered_at (or HMAC t=) is older than this (replay protection). Contentstack retries for about 13 minutes; off by default."},
		{Name: "concise_payload", Type: connector.Bool, Default: true,
			Doc: "Register the webhook with concise payloads (recommended; entry_events re-fetches the entry)."},
		{Name: "refetch", Type: connector.String, Default: "auto", Enum: []any{"auto", "always", "never"},
			Doc: "When entry_events re-reads the entry: auto (concise payloads and stage events without a stage), always, never."},
		{Name: "publish_wait", Type: connector.Duration, Default: "20s",
			Doc: "Default time publish actions follow the asynchronous publish before returning status queued."},
		{Name: "webhook_name", Type: connector.String, Doc: "Name of the webhook setup registers (default: patchbay <connection>)."},
	},
	Triggers: []connector.TriggerSpec{
		{
			Name: "entry_events", Title: "Entry events", Kind: connector.Webhook,
			Doc: "Entry created, updated, deleted, published, unpublished and workflow stage changed, posted by a stack webhook to " +
				"/hooks/<connection>/entry_events (setup registers it). Deliveries are verified (signature, HMAC and/or token); concise " +
				"payloads are completed by re-reading the entry version they name. event.object is contentstack:entry/<content_type>/<uid>, " +
				"event.hash (and for created/updated event.version, the entry _version) equals what patchbay's own write of the same change reports, so its echoes are recognised.",
			Config:     filterConfig,
			EventTypes: []string{EventCreated, EventUpdated, EventDeleted, EventPublished, EventUnpublished, EventStageChanged, EventPublishFailed, EventUnpublishFailed},
			Data:       eventData,
			Examples: []connector.Example{{
				Title: "Entries of type video entering the stage Ready for media",
				Input: map[string]any{"content_types": []any{"video"}, "stages": []any{"Ready for media"}, "events": []any{EventStageChanged}},
				Output: map[string]any{"type": EventStageChanged, "object": "contentstack:entry/video/blt8c1e2d3f4a5b6c7d",
					"data": map[string]any{"content_type": "video", "uid": "blt8c1e2d3f4a5b6c7d", "locale": "en-us", "version": 3,
						"stage": map[string]any{"uid": "blt2f4e6a8c0d1b3e57", "name": "Ready for media"}}},
			}},
		},
		{
			Name: "poll", Title: "Entry changes (poll)", Kind: connector.Poll, Interval: time.Minute,
			Doc: "For stacks without webhooks: asks for entries whose updated_at moved since the last poll (sorted by updated_at, " +
				"paged 100 at a time) and emits entry.created (version 1) or entry.updated. Starts from the newest entry at the first poll; " +
				"cannot see deletions, publishes or stage changes.",
			Config:     []connector.Field{filterConfig[0], filterConfig[2], filterConfig[3]},
			EventTypes: []string{EventCreated, EventUpdated},
			Data:       eventData,
			Examples: []connector.Example{{
				Title: "Video entries changed in any locale",
				Input: map[string]any{"content_types": []any{"video"}},
			}},
		},
	},
	Actions: []connector.ActionSpec{
		{
			Name: "get_entry", Title: "Get an entry", Idempotent: true,
			Doc: "Reads an entry with its workflow stage and publish details; fields picks values by path (groups, blocks, JSON fields).",
			Input: []connector.Field{fContentType, fEntry, fLocale,
				{Name: "version", Type: connector.Int, Doc: "Read this version instead of the latest."},
				{Name: "fields", Type: connector.List, Items: &connector.Field{Type: connector.String}, Example: []any{"rights.rights_status", "iconik_assets"},
					Doc: "Field paths whose values to return in values."},
			},
			Output: append(append([]connector.Field{}, entryOutput...),
				connector.Field{Name: "values", Type: connector.Object, Open: true, Doc: "path → value for the fields asked."},
				connector.Field{Name: "stage", Type: connector.Object, Doc: "{uid, name} of the workflow stage, when in one."},
				connector.Field{Name: "published", Type: connector.List, Doc: "[{environment, environment_name, locale, version}]"}),
			Examples: []connector.Example{{
				Title: "Read the iconik picker field of a video entry",
				Input: map[string]any{"content_type": "video", "entry": "blt8c1e2d3f4a5b6c7d", "fields": []any{"iconik_assets", "rights.rights_status"}},
			}},
		},
		{
			Name: "query_entries", Title: "Query entries", Idempotent: true,
			Doc: "Lists entries matching a query in Contentstack's JSON query language, paging 100 at a time (include_count) up to limit.",
			Input: []connector.Field{
				{Name: "content_type", Type: connector.String, Required: true, Example: "video", Doc: "Content type uid."},
				{Name: "query", Type: connector.Object, Open: true, Example: map[string]any{"rights.rights_status": map[string]any{"$in": []any{"Cleared"}}},
					Doc: "A query: {\"field\": value}, operators $eq $ne $in $nin $lt $lte $gt $gte $exists $regex $and $or, dotted paths, _workflow.uid."},
				{Name: "where", Type: connector.Object, Open: true, Example: map[string]any{"iconik_asset_id": "0e1f2a3b"},
					Doc: "Shorthand: field path → value, all equal (combined with query by $and)."},
				fLocale,
				{Name: "limit", Type: connector.Int, Default: 100, Doc: "Most entries to return (pages of 100 are fetched as needed; at most 10000)."},
				{Name: "skip", Type: connector.Int, Doc: "Entries to skip first."},
				{Name: "asc", Type: connector.String, Doc: "Sort ascending by this field (updated_at is safest while paging)."},
				{Name: "desc", Type: connector.String, Doc: "Sort descending by this field."},
				{Name: "only", Type: connector.List, Items: &connector.Field{Type: connector.String}, Doc: "Return only these top-level fields (uid always)."},
				{Name: "include_workflow", Type: connector.Bool, Doc: "Include _workflow (the stage) in each entry."},
			},
			Output: []connector.Field{
				{Name: "entries", Type: connector.List},
				{Name: "count", Type: connector.Int, Doc: "All matches (include_count), beyond limit too."},
				{Name: "returned", Type: connector.Int},
				{Name: "pages", Type: connector.Int},
				{Name: "more", Type: connector.Bool, Doc: "More entries match than limit allowed."},
			},
			Examples: []connector.Example{{
				Title: "Videos in the stage Ready for media",
				Input: map[string]any{"content_type": "video", "query": map[string]any{"_workflow.uid": "blt2f4e6a8c0d1b3e57"}, "limit": 500},
			}},
		},
		{
			Name: "create_entry", Title: "Create an entry", Writes: true,
			Doc: "Creates an entry. Not idempotent by itself (Contentstack takes no idempotency key): a re-executed step in the same " +
				"process finds the entry it created; prefer upsert_entry in flows.",
			Input: []connector.Field{
				{Name: "content_type", Type: connector.String, Required: true, Example: "video", Doc: "Content type uid."},
				fFields, fLocale,
			},
			Output: append(append([]connector.Field{}, entryOutput...), connector.Field{Name: "created", Type: connector.Bool}),
			Examples: []connector.Example{{
				Title: "Create a video entry",
				Input: map[string]any{"content_type": "video", "fields": map[string]any{"title": "Trailer", "iconik_asset_id": "0e1f2a3b"}},
			}},
		},
		{
			Name: "update_entry", Title: "Update an entry", Writes: true, Idempotent: true,
			Doc: "Changes the fields named and keeps every other field, including inside groups (read, merge, write the touched top-level fields). " +
				"With version, fails with kind conflict when the entry moved on since. Nothing is written when nothing changes.",
			Input: []connector.Field{fContentType, fEntry, fFields, fLocale,
				{Name: "version", Type: connector.Int, Doc: "Expected current _version; a different one is a conflict."},
			},
			Output: append(append([]connector.Field{}, entryOutput...),
				connector.Field{Name: "changed", Type: connector.Bool, Doc: "false when every value was already stored (no write)."},
				connector.Field{Name: "fields_written", Type: connector.List}),
			Examples: []connector.Example{{
				Title: "Mark rights cleared and refresh the preview",
				Input: map[string]any{"content_type": "video", "entry": "blt8c1e2d3f4a5b6c7d",
					"fields": map[string]any{"rights.rights_status": "Cleared", "preview_url": "https://cdn.example.com/p.mp4"}},
			}},
		},
		{
			Name: "upsert_entry", Title: "Create or update an entry", Writes: true, Idempotent: true,
			Doc: "Updates the entry the step's link points to (link: in the flow), else the entry whose match fields equal the values given, " +
				"else creates one. Updating keeps the fields not named (as update_entry). Running it twice creates nothing twice.",
			Input: []connector.Field{
				{Name: "content_type", Type: connector.String, Required: true, Example: "video", Doc: "Content type uid."},
				fFields, fLocale,
				{Name: "match", Type: connector.Any, Example: "iconik_asset_id",
					Doc: "How to find an existing entry without a link: a field path (its value taken from fields), a list of paths, or an object path → value."},
			},
			Output: append(append([]connector.Field{}, entryOutput...),
				connector.Field{Name: "created", Type: connector.Bool},
				connector.Field{Name: "changed", Type: connector.Bool},
				connector.Field{Name: "matched_by", Type: connector.String, Enum: []any{"link", "match", "idempotency_key", "none"}}),
			Examples: []connector.Example{{
				Title: "Upsert the video entry of an iconik asset",
				Input: map[string]any{"content_type": "video", "match": "iconik_asset_id",
					"fields": map[string]any{"title": "Trailer", "iconik_asset_id": "0e1f2a3b", "preview_url": "https://cdn.example.com/p.mp4"}},
			}},
		},
		{
			Name: "delete_entry", Title: "Delete an entry", Writes: true, Idempotent: true,
			Doc:   "Deletes the master copy (or one locale's copy, or every copy). An entry already gone is not an error (deleted is false).",
			Input: []connector.Field{fContentType, fEntry, fLocale, {Name: "all_locales", Type: connector.Bool, Doc: "Delete every localized copy too."}},
			Output: []connector.Field{{Name: "uid", Type: connector.String}, {Name: "object", Type: connector.String},
				{Name: "deleted", Type: connector.Bool}},
			Examples: []connector.Example{{Input: map[string]any{"entry": "contentstack:entry/video/blt8c1e2d3f4a5b6c7d"}}},
		},
		{
			Name: "publish_entry", Title: "Publish an entry", Writes: true, Idempotent: true,
			Doc: "Publishes the entry to environments and locales, then follows the asynchronous publish (publish_details) until it is live " +
				"or wait runs out (status queued).",
			Input:  publishInput,
			Output: publishOutput,
			Examples: []connector.Example{{
				Title: "Publish to production",
				Input: map[string]any{"content_type": "video", "entry": "blt8c1e2d3f4a5b6c7d", "environments": []any{"production"}, "locales": []any{"en-us"}},
			}},
		},
		{
			Name: "unpublish_entry", Title: "Unpublish an entry", Writes: true, Idempotent: true,
			Doc:    "Removes the entry from environments and locales and follows the unpublish like publish_entry.",
			Input:  publishInput,
			Output: publishOutput,
			Examples: []connector.Example{{
				Input: map[string]any{"entry": "contentstack:entry/video/blt8c1e2d3f4a5b6c7d", "environments": []any{"production"}},
			}},
		},
		{
			Name: "bulk_publish", Title: "Publish many entries", Writes: true, Idempotent: true,
			Doc: "Publishes (or unpublishes) many entries with the bulk API, split into calls of at most 10 entries × 10 locales × 10 " +
				"environments at the bulk rate (1/s), then follows the jobs until done or wait runs out.",
			Input: []connector.Field{
				{Name: "entries", Type: connector.List, Required: true, Example: []any{"contentstack:entry/video/blt8c1e2d3f4a5b6c7d"},
					Doc: "Entry references, or objects {content_type, entry, locale, version}."},
				{Name: "environments", Type: connector.List, Required: true, Items: &connector.Field{Type: connector.String}, Doc: "Environment names."},
				{Name: "locales", Type: connector.List, Items: &connector.Field{Type: connector.String}, Doc: "Locales (default: each entry's own)."},
				{Name: "action", Type: connector.String, Default: "publish", Enum: []any{"publish", "unpublish"}, Doc: "publish or unpublish."},
				{Name: "publish_with_reference", Type: connector.Bool, Doc: "Also publish referenced entries (api_version 3.2)."},
				{Name: "skip_workflow_stage_check", Type: connector.Bool, Doc: "Publish entries a publish rule would hold for their stage."},
				fWait,
			},
			Output: []connector.Field{
				{Name: "status", Type: connector.String, Enum: []any{"done", "queued"}},
				{Name: "jobs", Type: connector.List, Doc: "[{job_id, status, success, failed}]"},
				{Name: "failed", Type: connector.List, Doc: "Items the jobs reported as failed, with the reason."},
				{Name: "calls", Type: connector.Int},
			},
			Examples: []connector.Example{{
				Input: map[string]any{"entries": []any{"contentstack:entry/video/blt8c1e2d3f4a5b6c7d", "contentstack:entry/video/blt9d2f3e4a5b6c7d8e"},
					"environments": []any{"production"}},
			}},
		},
		{
			Name: "set_workflow_stage", Title: "Set the workflow stage", Writes: true, Idempotent: true,
			Doc: "Moves the entry to a stage of the workflow that applies to its content type, by stage name or uid. With a management token " +
				"Contentstack allows this only when the current stage's transition rule is open to all users (else kind forbidden).",
			Input: []connector.Field{fContentType, fEntry,
				{Name: "stage", Type: connector.String, Required: true, Example: "In review", Doc: "Stage name (case-insensitive) or uid."},
				fLocale,
				{Name: "comment", Type: connector.String, Doc: "Comment shown in the entry's workflow history."},
				{Name: "due_date", Type: connector.String, Doc: "Due date of the stage."},
				{Name: "notify", Type: connector.Bool, Doc: "Let Contentstack notify the assignees."},
			},
			Output: []connector.Field{{Name: "uid", Type: connector.String}, {Name: "object", Type: connector.String},
				{Name: "stage", Type: connector.Object, Doc: "{uid, name}"}, {Name: "workflow", Type: connector.Object, Doc: "{uid, name}"}},
			Examples: []connector.Example{{Input: map[string]any{"content_type": "video", "entry": "blt8c1e2d3f4a5b6c7d", "stage": "In review"}}},
		},
		{
			Name: "get_content_type", Title: "Get a content type schema", Idempotent: true,
			Doc:   "Returns a content type's schema and every field path in it (groups, blocks and JSON fields included) for mapping.",
			Input: []connector.Field{{Name: "content_type", Type: connector.String, Required: true, Example: "video", Doc: "Content type uid."}},
			Output: []connector.Field{{Name: "uid", Type: connector.String}, {Name: "title", Type: connector.String},
				{Name: "fields", Type: connector.List, Doc: "[{path, uid, display_name, data_type, multiple, mandatory, unique, extension_uid, reference_to, choices}]"},
				{Name: "schema", Type: connector.List}, {Name: "options", Type: connector.Object}},
			Examples: []connector.Example{{Input: map[string]any{"content_type": "video"}}},
		},
		{
			Name: "list_content_types", Title: "List content types", Idempotent: true,
			Doc:    "Lists the stack's content types.",
			Output: []connector.Field{{Name: "content_types", Type: connector.List, Doc: "[{uid, title}]"}},
		},
		{
			Name: "list_workflows", Title: "List workflows and stages", Idempotent: true,
			Doc:   "Lists workflows with their stages (uid and name), optionally only those applying to a content type.",
			Input: []connector.Field{{Name: "content_type", Type: connector.String, Doc: "Only workflows applying to this content type."}},
			Output: []connector.Field{{Name: "workflows", Type: connector.List,
				Doc: "[{uid, name, enabled, content_types, stages: [{uid, name, color}]}]"}},
		},
		{
			Name: "list_environments", Title: "List environments", Idempotent: true,
			Doc:    "Lists the publishing environments.",
			Output: []connector.Field{{Name: "environments", Type: connector.List, Doc: "[{uid, name, urls}]"}},
		},
		{
			Name: "list_locales", Title: "List locales", Idempotent: true,
			Doc:    "Lists the stack's locales.",
			Output: []connector.Field{{Name: "locales", Type: connector.List, Doc: "[{code, name, fallback_locale}]"}},
		},
	},
}
