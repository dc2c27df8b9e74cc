package iconik

import (
	"context"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/iconik/iconikapi"
	"github.com/patchbay/patchbay/internal/fault"
)

var actGetMediaURLs = action{
	spec: connector.ActionSpec{
		Name: "get_media_urls", Title: "Get proxy, keyframe and download URLs", Idempotent: true,
		Doc: "Returns signed URLs of an asset version's proxies and keyframes and, when asked, a download URL of its " +
			"original file. Signed URLs are temporary (an hour, UNCONFIRMED): fetch them when delivering. A download " +
			"of an archived original fails (invalid) until it is restored.",
		Input: []connector.Field{
			{Name: "asset_id", Type: str, Required: true, Doc: "The asset's id."},
			{Name: "version_id", Type: str, Doc: "The version (default the current one)."},
			{Name: "include", Type: connector.List, Items: &connector.Field{Type: str, Enum: []any{"proxies", "keyframes", "download"}},
				Default: []any{"proxies", "keyframes"}, Doc: "proxies, keyframes, download."},
		},
		Output: []connector.Field{
			{Name: "proxy_url", Type: str, Doc: "The first proxy's URL."},
			{Name: "keyframe_url", Type: str, Doc: "The first KEYFRAME keyframe's URL."},
			{Name: "poster_url", Type: str, Doc: "The POSTER keyframe's URL."},
			{Name: "download_url", Type: str, Doc: "Download URL of the original file."},
			{Name: "proxies", Type: connector.List},
			{Name: "keyframes", Type: connector.List},
			{Name: "file", Type: connector.Object, Doc: "{id, name, size} of the file download_url points at."},
		},
		Examples: []connector.Example{{
			Title: "Preview and thumbnail for the CMS", Input: map[string]any{"asset_id": "9f0c…"},
			Output: map[string]any{"proxy_url": "https://…/proxy.mp4?…", "keyframe_url": "https://…/keyframe.jpg?…", "poster_url": "https://…/poster.jpg?…"},
		}, {
			Title: "Original for delivery", Input: map[string]any{"asset_id": "9f0c…", "include": []any{"download"}},
		}},
	},
	run: (*Conn).getMediaURLs,
}

func (c *Conn) getMediaURLs(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := req.Input
	id, vid := inStr(in, "asset_id"), inStr(in, "version_id")
	include := stringList(in["include"])
	if len(include) == 0 {
		include = []string{"proxies", "keyframes"}
	}
	out := map[string]any{"proxy_url": nil, "keyframe_url": nil, "poster_url": nil, "download_url": nil}
	if has(include, "proxies") {
		ps, err := c.api.Proxies(ctx, id, vid)
		if err != nil {
			return nil, err
		}
		addProxies(out, ps)
	}
	if has(include, "keyframes") {
		ks, err := c.api.Keyframes(ctx, id, vid)
		if err != nil {
			return nil, err
		}
		addKeyframes(out, ks)
	}
	if has(include, "download") {
		f, err := c.originalFile(ctx, id, vid)
		if err != nil {
			return nil, err
		}
		u, err := c.api.FileDownloadURL(ctx, id, f.ID)
		if err != nil {
			return nil, err
		}
		out["download_url"] = u
		out["file"] = map[string]any{"id": f.ID, "name": firstNonEmpty(f.OriginalName, f.Name), "size": f.Size}
	}
	return &connector.Result{Output: out}, nil
}

// originalFile picks the file of the ORIGINAL format (else the first file).
func (c *Conn) originalFile(ctx context.Context, assetID, vid string) (*iconikapi.File, error) {
	files, err := c.api.Files(ctx, assetID, vid)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fault.Errorf(fault.NotFound, "asset %s has no files", assetID)
	}
	formats, err := c.api.Formats(ctx, assetID, vid)
	if err != nil {
		return nil, err
	}
	for _, f := range formats {
		if f.Name != "ORIGINAL" {
			continue
		}
		for i := range files {
			if files[i].FormatID == f.ID {
				return &files[i], nil
			}
		}
	}
	return &files[0], nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
