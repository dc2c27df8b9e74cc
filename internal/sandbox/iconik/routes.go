package iconik

import (
	"net/http"

	"github.com/patchbay/patchbay/internal/sandbox/kit"
)

// routes registers every implemented endpoint (the list docs/sandbox/iconik.md mirrors).
func (s *Server) routes() {
	const A = "/API/assets/v1"
	const M = "/API/metadata/v1"
	const F = "/API/files/v1"
	r := s.route

	// Assets.
	r("GET "+A+"/assets/", (*call).listAssets)
	r("POST "+A+"/assets/", (*call).createAsset)
	r("PATCH "+A+"/assets/", (*call).bulkUpdateAssets)
	r("PUT "+A+"/assets/", (*call).bulkUpdateAssets)
	r("GET "+A+"/assets/{asset_id}/", (*call).getAsset)
	r("PATCH "+A+"/assets/{asset_id}/", (*call).updateAsset)
	r("PUT "+A+"/assets/{asset_id}/", (*call).updateAsset)
	r("DELETE "+A+"/assets/{asset_id}/", (*call).deleteAsset)
	r("PUT "+A+"/assets/{asset_id}/restore/", (*call).restoreAsset)
	r("DELETE "+A+"/assets/{asset_id}/purge/", (*call).purgeAsset)
	r("GET "+A+"/assets/{asset_id}/history/", (*call).listHistory)
	r("POST "+A+"/assets/{asset_id}/history/", (*call).createHistory)
	r("GET "+A+"/assets/{asset_id}/history/{history_entity_id}/", (*call).getHistory)
	r("DELETE "+A+"/assets/{asset_id}/history/{history_entity_id}/", (*call).deleteHistory)
	r("POST "+A+"/assets/{asset_id}/versions/", (*call).createVersion)
	r("POST "+A+"/assets/{asset_id}/versions/from/assets/{source_asset_id}/", (*call).createVersionFromAsset)
	r("POST "+A+"/assets/{asset_id}/versions/from/versions/{source_version_id}/", (*call).createVersionFromVersion)
	r("DELETE "+A+"/assets/{asset_id}/versions/old/", (*call).deleteOldVersions)
	r("PATCH "+A+"/assets/{asset_id}/versions/{version_id}/", (*call).updateVersion)
	r("PUT "+A+"/assets/{asset_id}/versions/{version_id}/", (*call).updateVersion)
	r("DELETE "+A+"/assets/{asset_id}/versions/{version_id}/", (*call).deleteVersion)
	r("PUT "+A+"/assets/{asset_id}/versions/{version_id}/promote/", (*call).promoteVersion)
	r("GET "+A+"/assets/{asset_id}/segments/", func(c *call) (int, any) { return c.listSegments("") })
	r("POST "+A+"/assets/{asset_id}/segments/", (*call).createSegment)
	r("GET "+A+"/assets/{asset_id}/segments/{segment_id}/", (*call).getSegmentOrType)
	r("PATCH "+A+"/assets/{asset_id}/segments/{segment_id}/", (*call).updateSegment)
	r("PUT "+A+"/assets/{asset_id}/segments/{segment_id}/", (*call).updateSegment)
	r("DELETE "+A+"/assets/{asset_id}/segments/{segment_id}/", (*call).deleteSegment)

	// Collections.
	r("GET "+A+"/collections/", (*call).listCollections)
	r("POST "+A+"/collections/", (*call).createCollection)
	r("GET "+A+"/collections/{collection_id}/", (*call).getCollection)
	r("PATCH "+A+"/collections/{collection_id}/", (*call).updateCollection)
	r("PUT "+A+"/collections/{collection_id}/", (*call).updateCollection)
	r("DELETE "+A+"/collections/{collection_id}/", (*call).deleteCollection)
	r("PUT "+A+"/collections/{collection_id}/restore/", (*call).restoreCollectionHandler)
	r("DELETE "+A+"/collections/{collection_id}/purge/", (*call).purgeCollectionHandler)
	r("GET "+A+"/collections/{collection_id}/ancestors/", (*call).ancestors)
	r("GET "+A+"/collections/{collection_id}/full/path/", (*call).fullPath)
	r("GET "+A+"/collections/{collection_id}/contents/", (*call).listContents)
	r("POST "+A+"/collections/{collection_id}/contents/", (*call).postContent)
	r("PUT "+A+"/collections/{collection_id}/contents/{object_type}/{object_id}/", (*call).reorderContent)
	r("DELETE "+A+"/collections/{collection_id}/contents/{object_type}/{object_id}/", (*call).deleteContent)

	// Delete queue.
	r("GET "+A+"/delete_queue/assets/", (*call).deleteQueueAssets)
	r("POST "+A+"/delete_queue/assets/", func(c *call) (int, any) { return c.deleteQueueAction("delete") })
	r("DELETE "+A+"/delete_queue/assets/", func(c *call) (int, any) { return c.deleteQueueAction("restore") })
	r("POST "+A+"/delete_queue/assets/purge/", func(c *call) (int, any) { return c.deleteQueueAction("purge") })
	r("POST "+A+"/delete_queue/assets/purge/all/", func(c *call) (int, any) { return c.deleteQueueAction("purge_all") })
	r("POST "+A+"/delete_queue/assets/restore/all/", func(c *call) (int, any) { return c.deleteQueueAction("restore_all") })
	r("POST "+A+"/delete_queue/bulk/", (*call).bulkDelete)
	r("GET "+A+"/delete_queue/collections/", (*call).deleteQueueCollections)
	r("POST "+A+"/delete_queue/collections/", func(c *call) (int, any) { return c.deleteQueueCollectionAction("delete", http.StatusCreated) })
	r("DELETE "+A+"/delete_queue/collections/", func(c *call) (int, any) { return c.deleteQueueCollectionAction("restore", http.StatusCreated) })
	r("POST "+A+"/delete_queue/collections/purge/", func(c *call) (int, any) { return c.deleteQueueCollectionAction("purge", http.StatusCreated) })
	r("POST "+A+"/delete_queue/collections/purge/all/", func(c *call) (int, any) { return c.deleteQueueCollectionAction("purge_all", http.StatusNoContent) })
	r("POST "+A+"/delete_queue/collections/restore/all/", func(c *call) (int, any) { return c.deleteQueueCollectionAction("restore_all", http.StatusNoContent) })
	r("POST "+A+"/delete_queue/purge/all/", (*call).purgeAllDeleted)

	// Shares and approvals, for assets and collections.
	o := s.routeObject
	o("GET", "/shares/", (*call).listObjectShares)
	o("POST", "/shares/", func(c *call) (int, any) { return c.createShare(false) })
	o("POST", "/shares/url/", func(c *call) (int, any) { return c.createShare(true) })
	o("GET", "/shares/{share_id}/", (*call).getShare)
	o("PUT", "/shares/{share_id}/", (*call).updateShare)
	o("DELETE", "/shares/{share_id}/", (*call).deleteShare)
	r("GET "+A+"/shares/", (*call).listMyShares)
	r("GET "+A+"/shares/all/", (*call).listMyShares)
	o("GET", "/approvals/request/", (*call).getApprovalRequest)
	o("POST", "/approvals/request/", (*call).createApprovalRequest)
	o("PUT", "/approvals/request/", (*call).editApprovalRequest)
	o("PATCH", "/approvals/request/", (*call).editApprovalRequest)
	o("DELETE", "/approvals/request/", (*call).deleteApprovalRequest)
	o("GET", "/approvals/", (*call).listApprovals)
	o("PUT", "/approvals/", (*call).putApproval)
	o("DELETE", "/approvals/", func(c *call) (int, any) { return c.deleteApprovals(func(ApprovalBy) bool { return true }) })
	o("DELETE", "/approvals/user/{user_id}/", func(c *call) (int, any) {
		return c.deleteApprovals(func(d ApprovalBy) bool { return d.User == c.path("user_id") })
	})
	o("DELETE", "/approvals/external/{email}/", func(c *call) (int, any) {
		return c.deleteApprovals(func(d ApprovalBy) bool { return d.External == c.path("email") })
	})
	o("GET", "/versions/{version_id}/approvals/", (*call).listApprovals)
	o("GET", "/versions/{version_id}/approvals/request/", (*call).getApprovalRequest)
	r("POST "+A+"/approvals/bulk/", func(c *call) (int, any) { return c.bulkApproval(false) })
	r("POST "+A+"/approvals/bulk_remove/", func(c *call) (int, any) { return c.bulkApproval(true) })

	// Custom actions.
	r("GET "+A+"/custom_actions/", (*call).listActions)
	r("GET "+A+"/custom_actions/{context}/", (*call).listActions)
	r("POST "+A+"/custom_actions/{context}/", (*call).createAction)
	r("GET "+A+"/custom_actions/{context}/{action_id}/", (*call).getAction)
	r("PUT "+A+"/custom_actions/{context}/{action_id}/", (*call).updateAction)
	r("PATCH "+A+"/custom_actions/{context}/{action_id}/", (*call).updateAction)
	r("DELETE "+A+"/custom_actions/{context}/{action_id}/", (*call).deleteAction)
	r("POST "+A+"/custom_actions/{context}/{action_id}/callback/", (*call).callbackAction)

	// Metadata.
	r("GET "+M+"/fields/", (*call).listFields)
	r("POST "+M+"/fields/", (*call).createField)
	r("GET "+M+"/fields/{field_name}/", (*call).getField)
	r("PUT "+M+"/fields/{field_name}/", (*call).updateField)
	r("PATCH "+M+"/fields/{field_name}/", (*call).updateField)
	r("DELETE "+M+"/fields/{field_name}/", (*call).deleteField)
	r("GET "+M+"/views/", (*call).listViews)
	r("POST "+M+"/views/", (*call).createView)
	r("GET "+M+"/views/{view_id}/", (*call).getView)
	r("PUT "+M+"/views/{view_id}/", (*call).updateView)
	r("PATCH "+M+"/views/{view_id}/", (*call).updateView)
	r("DELETE "+M+"/views/{view_id}/", (*call).deleteView)
	r("GET "+M+"/{object_type}/{object_id}/", func(c *call) (int, any) {
		return c.getValues(c.path("object_type"), c.path("object_id"), "", "")
	})
	r("PUT "+M+"/{object_type}/{object_id}/", func(c *call) (int, any) {
		return c.putValues(c.path("object_type"), c.path("object_id"), "")
	})
	r("GET "+M+"/{object_type}/{object_id}/views/{view_id}/", func(c *call) (int, any) {
		return c.getValues(c.path("object_type"), c.path("object_id"), "", c.path("view_id"))
	})
	r("PUT "+M+"/{object_type}/{object_id}/views/{view_id}/", func(c *call) (int, any) {
		return c.putValues(c.path("object_type"), c.path("object_id"), c.path("view_id"))
	})
	r("GET "+M+"/assets/{asset_id}/versions/{version_id}/views/{view_id}/", func(c *call) (int, any) {
		return c.getValues("assets", c.path("asset_id"), c.path("version_id"), c.path("view_id"))
	})
	r("GET "+M+"/assets/{asset_id}/{object_type}/{object_id}/views/{view_id}/", func(c *call) (int, any) {
		return c.getValues(c.path("object_type"), c.path("object_id"), "", c.path("view_id"))
	})
	r("PUT "+M+"/assets/{asset_id}/{object_type}/{object_id}/views/{view_id}/", func(c *call) (int, any) {
		return c.putValues(c.path("object_type"), c.path("object_id"), c.path("view_id"))
	})
	r("PUT "+M+"/{object_type}/views/{view_id}/", (*call).bulkPutValues)
	r("POST "+M+"/{object_type}/views/{view_id}/", (*call).bulkPostValues)

	// Files.
	r("GET "+F+"/storages/", (*call).listStorages)
	r("GET "+F+"/storages/{storage_id}/", (*call).getStorage)
	r("GET "+F+"/assets/{asset_id}/formats/", (*call).listFormats)
	r("POST "+F+"/assets/{asset_id}/formats/", (*call).createFormat)
	r("GET "+F+"/assets/{asset_id}/formats/{format_id}/", (*call).getFormat)
	r("PATCH "+F+"/assets/{asset_id}/formats/{format_id}/", (*call).updateFormat)
	r("PUT "+F+"/assets/{asset_id}/formats/{format_id}/", (*call).updateFormat)
	r("DELETE "+F+"/assets/{asset_id}/formats/{format_id}/", (*call).deleteFormat)
	r("POST "+F+"/assets/{asset_id}/formats/{format_id}/archive/", func(c *call) (int, any) { return c.archiveFormat(false) })
	r("POST "+F+"/assets/{asset_id}/formats/{format_id}/restore/", func(c *call) (int, any) { return c.archiveFormat(true) })
	r("PUT "+F+"/assets/{asset_id}/formats/{format_id}/restore/", (*call).restoreFormatDeleted)
	r("POST "+F+"/formats/{format_name}/archive/bulk/", func(c *call) (int, any) { return c.bulkArchive(false) })
	r("POST "+F+"/formats/{format_name}/restore/bulk/", func(c *call) (int, any) { return c.bulkArchive(true) })
	r("GET "+F+"/assets/{asset_id}/file_sets/", (*call).listFileSets)
	r("POST "+F+"/assets/{asset_id}/file_sets/", (*call).createFileSet)
	r("GET "+F+"/assets/{asset_id}/file_sets/{file_set_id}/", (*call).getFileSet)
	r("DELETE "+F+"/assets/{asset_id}/file_sets/{file_set_id}/", (*call).deleteFileSet)
	r("GET "+F+"/assets/{asset_id}/file_sets/{file_set_id}/files/", (*call).listFileSetFiles)
	r("GET "+F+"/assets/{asset_id}/files/", (*call).listFiles)
	r("POST "+F+"/assets/{asset_id}/files/", (*call).createFile)
	r("GET "+F+"/assets/{asset_id}/files/{file_id}/", (*call).getFile)
	r("PATCH "+F+"/assets/{asset_id}/files/{file_id}/", (*call).updateFile)
	r("PUT "+F+"/assets/{asset_id}/files/{file_id}/", (*call).updateFile)
	r("DELETE "+F+"/assets/{asset_id}/files/{file_id}/", (*call).deleteFile)
	r("GET "+F+"/assets/{asset_id}/files/{file_id}/download_url/", (*call).fileDownloadURL)
	r("POST "+F+"/assets/{asset_id}/files/{file_id}/keyframes/", (*call).transcodeFile)
	r("GET "+F+"/assets/{asset_id}/proxies/", (*call).listProxies)
	r("POST "+F+"/assets/{asset_id}/proxies/", (*call).createProxy)
	r("GET "+F+"/assets/{asset_id}/proxies/{proxy_id}/", (*call).getProxy)
	r("PATCH "+F+"/assets/{asset_id}/proxies/{proxy_id}/", (*call).updateProxy)
	r("PUT "+F+"/assets/{asset_id}/proxies/{proxy_id}/", (*call).updateProxy)
	r("DELETE "+F+"/assets/{asset_id}/proxies/{proxy_id}/", (*call).deleteProxy)
	r("GET "+F+"/assets/{asset_id}/proxies/{proxy_id}/download_url/", (*call).proxyDownloadURL)
	r("POST "+F+"/assets/{asset_id}/proxies/{proxy_id}/public/", func(c *call) (int, any) { return c.proxyPublic(true) })
	r("DELETE "+F+"/assets/{asset_id}/proxies/{proxy_id}/public/", func(c *call) (int, any) { return c.proxyPublic(false) })
	r("GET "+F+"/assets/{asset_id}/keyframes/", (*call).listKeyframes)
	r("POST "+F+"/assets/{asset_id}/keyframes/", (*call).createKeyframe)
	r("GET "+F+"/assets/{asset_id}/keyframes/{keyframe_id}/", (*call).getKeyframe)
	r("PATCH "+F+"/assets/{asset_id}/keyframes/{keyframe_id}/", (*call).updateKeyframe)
	r("PUT "+F+"/assets/{asset_id}/keyframes/{keyframe_id}/", (*call).updateKeyframe)
	r("DELETE "+F+"/assets/{asset_id}/keyframes/{keyframe_id}/", (*call).deleteKeyframe)
	r("POST "+F+"/assets/{asset_id}/keyframes/{keyframe_id}/public/", func(c *call) (int, any) { return c.keyframePublic(true) })
	r("DELETE "+F+"/assets/{asset_id}/keyframes/{keyframe_id}/public/", func(c *call) (int, any) { return c.keyframePublic(false) })
	r("GET "+F+"/assets/{asset_id}/versions/{version_id}/formats/", (*call).listFormats)
	r("GET "+F+"/assets/{asset_id}/versions/{version_id}/files/", (*call).listFiles)
	r("GET "+F+"/assets/{asset_id}/versions/{version_id}/proxies/", (*call).listProxies)
	r("GET "+F+"/assets/{asset_id}/versions/{version_id}/keyframes/", (*call).listKeyframes)

	// Search, jobs, notifications.
	r("POST /API/search/v1/search/", (*call).search)
	r("GET /API/jobs/v1/jobs/", (*call).listJobs)
	r("POST /API/jobs/v1/jobs/", (*call).createJob)
	r("GET /API/jobs/v1/jobs/{job_id}/", (*call).getJob)
	r("PATCH /API/jobs/v1/jobs/{job_id}/", (*call).updateJob)
	r("PUT /API/jobs/v1/jobs/{job_id}/", (*call).updateJob)
	r("DELETE /API/jobs/v1/jobs/{job_id}/", (*call).deleteJob)
	r("GET /API/notifications/v1/webhooks/", (*call).listWebhooks)
	r("POST /API/notifications/v1/webhooks/", (*call).createWebhook)
	r("GET /API/notifications/v1/webhooks/{webhook_id}/", (*call).getWebhook)
	r("PUT /API/notifications/v1/webhooks/{webhook_id}/", (*call).putWebhook)
	r("DELETE /API/notifications/v1/webhooks/{webhook_id}/", (*call).deleteWebhook)

	// Identity: token check and who-am-I.
	r("GET /API/auth/v1/auth/token/", (*call).tokenInfo)
	r("GET /API/users/v1/users/current/", (*call).currentUser)

	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		kit.WriteJSON(w, http.StatusNotFound, errList("Not found"))
	})
}

func (c *call) tokenInfo() (int, any) {
	return http.StatusOK, map[string]any{"app_id": c.appID, "user_id": c.user, "system_domain_id": c.s.opts.SystemDomainID}
}

func (c *call) currentUser() (int, any) {
	u := c.s.st.Users[c.user]
	if u == nil {
		return c.fail(http.StatusNotFound, "User does not exist")
	}
	out := toMap(*u)
	out["system_domain_id"] = c.s.opts.SystemDomainID
	out["app_id"] = c.appID
	out["groups"] = []string{}
	return http.StatusOK, out
}
