package opentext

import (
	"context"
	"fmt"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/opentext/opentextapi"
)

// Setup implements connector.Setupper. OpenText Workflow Service has no
// webhook subscription API: callbacks come from HTTP tasks inside the
// models, so Setup checks the credentials, lists the deployed process
// definitions for the mapping editor, reports the callback URL and header
// to put in models, and deploys the bundled models named in setup_models
// when missing or changed. Running it again changes nothing.
func (c *Conn) Setup(ctx context.Context, req *connector.SetupRequest) (*connector.SetupReport, error) {
	rep := &connector.SetupReport{Checks: []string{}, Changes: []string{}, Info: map[string]any{}}
	if _, err := c.api.Token(ctx); err != nil {
		return nil, err
	}
	who := "the client " + c.cfg.String("client_id")
	if u := c.cfg.String("username"); u != "" {
		who = u
	}
	rep.Checks = append(rep.Checks, fmt.Sprintf("token issued (%s grant, acting as %s)", c.api.Grant(), who))

	var defs []any
	for off := 0; off < 1000; {
		page, err := c.api.ListModels(ctx, opentextapi.ModelQuery{LatestVersion: true, Paging: opentextapi.Paging{Offset: off, Count: 100, Sort: "key"}})
		if err != nil {
			return nil, err
		}
		for _, m := range page.Items {
			defs = append(defs, map[string]any{"key": m.Key, "name": m.Name, "version": m.Version, "id": m.ID})
		}
		off += len(page.Items)
		if len(page.Items) < 100 || (page.Total >= 0 && off >= page.Total) {
			break
		}
	}
	rep.Info["definitions"] = defs
	rep.Checks = append(rep.Checks, fmt.Sprintf("%d process definitions deployed", len(defs)))

	hook := c.cfg.String("callback_url")
	if hook == "" && req.HookURL != "" {
		hook = req.HookURL + "callback"
	}
	if hook == "" {
		hook = c.CallbackURL()
	}
	header := c.cfg.String("callback_header")
	if header == "" {
		header = DefaultCallbackHeader
	}
	rep.Info["callback_url"] = hook
	rep.Info["callback_header"] = header
	if c.cfg.String("callback_secret") == "" {
		rep.Checks = append(rep.Checks, "no callback_secret: the callback trigger rejects every delivery until one is set")
	} else {
		rep.Checks = append(rep.Checks, "callbacks go to "+hook+" with the secret in "+header)
	}

	for _, key := range strList(c.cfg.Values["setup_models"]) {
		raw, ok := BundledModel(key)
		if !ok {
			rep.Checks = append(rep.Checks, fmt.Sprintf("setup_models: no bundled model %q", key))
			continue
		}
		src, err := modelerJSON(raw)
		if err != nil {
			return nil, err
		}
		out, changed, err := c.deploy(ctx, src, true, req.DryRun)
		if err != nil {
			return nil, err
		}
		switch {
		case !changed:
			rep.Checks = append(rep.Checks, fmt.Sprintf("model %s is deployed (version %v)", key, out["version"]))
		case req.DryRun:
			rep.Changes = append(rep.Changes, fmt.Sprintf("would deploy model %s (version %v)", key, out["version"]))
		default:
			rep.Changes = append(rep.Changes, fmt.Sprintf("deployed model %s (version %v)", key, out["version"]))
		}
	}
	return rep, nil
}
