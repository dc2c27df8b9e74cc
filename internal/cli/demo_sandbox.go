package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/connector/contentstack/contentstackapi"
	"github.com/patchbay/patchbay/internal/connector/iconik/iconikapi"
	"github.com/patchbay/patchbay/internal/connector/opentext/opentextapi"
	"github.com/patchbay/patchbay/internal/fault"
	"github.com/patchbay/patchbay/internal/httpclient"
	"github.com/patchbay/patchbay/internal/sandbox"
	"github.com/patchbay/patchbay/internal/template"
)

// The sandbox part of the demo: the three sandboxes beside patchbay, one
// connection to each (set up as `patchbay connection setup` would: webhooks
// registered, the media_review model deployed), and the UC1 and UC8
// templates installed with their defaults.

// demoTemplates are installed by up --demo, with their default parameters
// and connection names (iconik, opentext, contentstack).
var demoTemplates = []string{"uc01-media-review-approval", "uc08-approved-video-to-contentstack"}

// Fixed shared secrets of the demo connections: the sandboxes and patchbay
// talk over loopback only, and fixed values keep the sandboxes' stored
// webhook definitions valid across restarts.
const (
	demoIconikSecret   = "demo-iconik-webhook-secret"
	demoOpenTextSecret = "demo-opentext-callback-secret"
)

// startDemoSandboxes starts the sandboxes on the three ports after
// patchbay's (8081-8083 for the default 8080; free ones when patchbay's port
// is 0 or a port is taken), keeping their state beside patchbay's.
func startDemoSandboxes(g *globals, o *serveOpts) (*sandbox.Sandboxes, error) {
	ia, ca, oa, err := sandboxAddrsAfter(o.addr)
	if err != nil {
		return nil, usageError{fmt.Errorf("--addr: %w", err)}
	}
	opts := sandbox.Options{IconikAddr: ia, ContentstackAddr: ca, OpenTextAddr: oa, AnyPortIfBusy: true}
	if d := g.storeConfig().DataDir; d != "" {
		opts.SnapshotDir = filepath.Join(d, "sandboxes")
		if err := os.MkdirAll(opts.SnapshotDir, 0o700); err != nil {
			return nil, fmt.Errorf("creating the sandboxes' folder: %w", err)
		}
	}
	return sandbox.Start(opts)
}

// sandboxAddrsAfter gives the three addresses following patchbay's port,
// always on loopback: the sandboxes use fixed demo credentials and
// secrets, so even when patchbay listens on every interface they do not.
func sandboxAddrsAfter(addr string) (string, string, string, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", "", fmt.Errorf("address %q: %w", addr, err)
	}
	return sandboxAddrsFrom(net.JoinHostPort("127.0.0.1", port), 1)
}

// setupDemoSandboxes creates the connections to the sandboxes, sets them
// up, installs the templates and adds the sandboxes to info (demo.json).
func setupDemoSandboxes(ctx context.Context, a *app.App, sb *sandbox.Sandboxes, info map[string]any) error {
	in := sb.Info()
	conns := []struct {
		name   string
		values map[string]any
	}{
		{"iconik", map[string]any{"base_url": in.Iconik.URL, "app_id": in.Iconik.AppID, "auth_token": in.Iconik.AuthToken,
			"webhook_secret": demoIconikSecret, "metadata_view": in.Iconik.MetadataView, "system_domain_id": in.Iconik.SystemDomainID}},
		{"contentstack", map[string]any{"base_url": in.Contentstack.URL, "api_key": in.Contentstack.APIKey,
			"management_token": in.Contentstack.ManagementToken}},
		{"opentext", map[string]any{"base_url": in.OpenText.URL, "tenant_id": in.OpenText.TenantID, "client_id": in.OpenText.ClientID,
			"client_secret": in.OpenText.ClientSecret, "callback_secret": demoOpenTextSecret, "setup_models": []any{"media_review"}}},
	}
	for _, c := range conns {
		if err := a.PutConnection(ctx, c.name, c.name, c.values, "demo"); err != nil {
			return fmt.Errorf("creating connection %s: %w", c.name, err)
		}
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := a.SetupConnection(sctx, c.name, c.name, a.URL(), false)
		cancel()
		if err != nil {
			return fmt.Errorf("setting up connection %s: %w", c.name, err)
		}
	}
	for _, name := range demoTemplates {
		if _, err := template.Install(ctx, a, name, nil, nil, "demo"); err != nil {
			return fmt.Errorf("installing template %s: %w", name, err)
		}
	}
	info["iconik"], info["contentstack"], info["opentext"] = in.Iconik, in.Contentstack, in.OpenText
	return nil
}

// printDemoGuide prints the guided path through UC1 and UC8.
func printDemoGuide(w io.Writer, data string, in sandbox.Info) {
	ih := fmt.Sprintf("-H 'App-ID: %s' -H 'Auth-Token: %s'", in.Iconik.AppID, in.Iconik.AuthToken)
	ch := fmt.Sprintf("-H 'api_key: %s' -H 'authorization: %s'", in.Contentstack.APIKey, in.Contentstack.ManagementToken)
	fmt.Fprintf(w, "Media review (UC1) and approved video to Contentstack (UC8), on local sandboxes:\n")
	fmt.Fprintf(w, "  iconik %s · Contentstack %s · OpenText %s\n", in.Iconik.URL, in.Contentstack.URL, in.OpenText.URL)
	fmt.Fprintf(w, "  1. ingest a video into iconik (prints its asset id):\n")
	fmt.Fprintf(w, "       patchbay %s demo ingest \"Spring teaser\"\n", data)
	fmt.Fprintf(w, "     or: curl -s -X POST %s/API/assets/v1/assets/ %s -H 'Content-Type: application/json' -d '{\"title\":\"Spring teaser\",\"type\":\"ASSET\"}'\n", in.Iconik.URL, ih)
	fmt.Fprintf(w, "  2. after the sandbox's transcode (~3 s) the review waits in the OpenText inbox: open\n")
	fmt.Fprintf(w, "       %s\n", in.OpenText.InboxURL)
	fmt.Fprintf(w, "     then Claim and Complete with outcome approved; or by script (claim + complete through the task API):\n")
	fmt.Fprintf(w, "       patchbay %s demo approve ASSET_ID\n", data)
	fmt.Fprintf(w, "  3. see iconik and Contentstack change (approval APPROVED, review_status Released, a published video entry):\n")
	fmt.Fprintf(w, "       patchbay %s demo show ASSET_ID\n", data)
	fmt.Fprintf(w, "     or: curl -s %s/API/assets/v1/assets/ASSET_ID/approvals/request/ %s\n", in.Iconik.URL, ih)
	fmt.Fprintf(w, "         curl -s %s/API/metadata/v1/assets/ASSET_ID/ %s\n", in.Iconik.URL, ih)
	fmt.Fprintf(w, "         curl -s -G %s/v3/content_types/video/entries --data-urlencode 'query={\"iconik_asset_id\":\"ASSET_ID\"}' %s\n", in.Contentstack.URL, ch)
	fmt.Fprintf(w, "  4. the run timelines:   patchbay %s run ls   then   patchbay %s run show RUN_ID\n", data, data)
	fmt.Fprintf(w, "  5. the audit trail:     patchbay %s audit ls --object iconik:asset/ASSET_ID\n", data)
}

// ---- patchbay demo ingest|approve|show: the guided path's steps as commands ----

func init() { extraCommands = append(extraCommands, demoCmd) }

// demoInfo reads <data dir>/demo.json written by up --demo.
func (g *globals) demoInfo() (sandbox.Info, error) {
	var in sandbox.Info
	dir := g.storeConfig().DataDir
	if dir == "" {
		return in, usageError{errors.New("the demo keeps demo.json in a data directory: pass --data DIR")}
	}
	b, err := os.ReadFile(filepath.Join(dir, "demo.json"))
	if err != nil {
		return in, fmt.Errorf("reading demo.json (is `patchbay up --demo` running with this --data?): %w", err)
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return in, fmt.Errorf("reading demo.json: %w", err)
	}
	if in.Iconik.URL == "" || in.OpenText.URL == "" || in.Contentstack.URL == "" {
		return in, errors.New("demo.json lists no sandboxes")
	}
	return in, nil
}

// demoClients are the typed clients of the three sandboxes, as the
// connectors use them; OpenText acts as user (password grant).
type demoClients struct {
	iconik       *iconikapi.Client
	opentext     *opentextapi.Client
	contentstack *contentstackapi.Client
}

func newDemoClients(in sandbox.Info, user, password string) (*demoClients, error) {
	ic, err := iconikapi.New(iconikapi.Options{BaseURL: in.Iconik.URL, AppID: in.Iconik.AppID, AuthToken: in.Iconik.AuthToken})
	if err != nil {
		return nil, fmt.Errorf("iconik sandbox: %w", err)
	}
	ot, err := opentextapi.New(opentextapi.Config{BaseURL: in.OpenText.URL, TenantID: in.OpenText.TenantID, TokenURL: in.OpenText.TokenURL,
		ClientID: in.OpenText.ClientID, ClientSecret: in.OpenText.ClientSecret, Username: user, Password: password,
		HTTP: httpclient.New(httpclient.Options{Name: "opentext", DecodeError: opentextapi.DecodeError,
			Secrets: []string{in.OpenText.ClientSecret, password}})})
	if err != nil {
		return nil, fmt.Errorf("opentext sandbox: %w", err)
	}
	cs, err := contentstackapi.New(contentstackapi.Options{BaseURL: in.Contentstack.URL, APIKey: in.Contentstack.APIKey,
		ManagementToken: in.Contentstack.ManagementToken})
	if err != nil {
		return nil, fmt.Errorf("contentstack sandbox: %w", err)
	}
	return &demoClients{iconik: ic, opentext: ot, contentstack: cs}, nil
}

func demoCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "demo", Short: "Steps of the demo's guided path against the sandboxes started by up --demo"}

	var assetType, campaign, region string
	ingest := &cobra.Command{
		Use:   "ingest [TITLE]",
		Short: "Create a video asset in the iconik sandbox (as an upload would) and print its id",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := g.demoInfo()
			if err != nil {
				return err
			}
			title := "Demo video " + time.Now().Format("15:04:05")
			if len(args) == 1 {
				title = args[0]
			}
			ctx := cmd.Context()
			cl, err := newDemoClients(in, "", "")
			if err != nil {
				return err
			}
			asset, err := cl.iconik.CreateAsset(ctx, map[string]any{"title": title, "type": "ASSET"}, false)
			if err != nil {
				return fmt.Errorf("creating the asset: %w", err)
			}
			vals := map[string]iconikapi.FieldValues{}
			for k, v := range map[string]string{"asset_type": assetType, "campaign": campaign, "region": region} {
				if v != "" {
					vals[k] = iconikapi.FieldValues{FieldValues: []iconikapi.FieldValue{{Value: v}}}
				}
			}
			if len(vals) > 0 {
				if in.Iconik.MetadataViewID == "" {
					return errors.New("demo.json names no metadata view id: restart patchbay up --demo")
				}
				if _, err := cl.iconik.PutValues(ctx, "assets", asset.ID, in.Iconik.MetadataViewID, &iconikapi.MetadataValues{MetadataValues: vals}); err != nil {
					return fmt.Errorf("setting metadata: %w", err)
				}
			}
			if g.json {
				return g.print(map[string]any{"asset_id": asset.ID, "title": title}, nil)
			}
			fmt.Fprintln(g.stdout, asset.ID)
			return nil
		},
	}
	ingest.Flags().StringVar(&assetType, "type", "", "asset_type metadata (Trailer, Promo, Interview…; routes the review)")
	ingest.Flags().StringVar(&campaign, "campaign", "", "campaign metadata")
	ingest.Flags().StringVar(&region, "region", "", "region metadata (EMEA, NA, APAC, LATAM; APAC goes to risk_managers)")
	cmd.AddCommand(ingest)

	var outcome, comment, user, password string
	var wait time.Duration
	approve := &cobra.Command{
		Use:   "approve ASSET_ID",
		Short: "Decide the asset's open review task through the OpenText task API (claim, then complete with an outcome)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := g.demoInfo()
			if err != nil {
				return err
			}
			if user == "" {
				user = in.OpenText.Username
			}
			if password == "" {
				password = in.OpenText.Password
				if user != in.OpenText.Username {
					password = strings.SplitN(user, "@", 2)[0] + "-password" // the sandbox's demo users
				}
			}
			ctx := cmd.Context()
			cl, err := newDemoClients(in, user, password)
			if err != nil {
				return err
			}
			task, err := demoFindTask(ctx, cl.opentext, args[0], wait)
			if err != nil {
				return err
			}
			if err := cl.opentext.ClaimTask(ctx, task, user); err != nil {
				return fmt.Errorf("claiming task %s: %w", task, err)
			}
			req := opentextapi.CompleteRequest{Outcome: outcome}
			if comment != "" {
				req.Variables = []opentextapi.Variable{{Name: "comment", Value: comment}}
			}
			if err := cl.opentext.CompleteTask(ctx, task, req); err != nil {
				return fmt.Errorf("completing task %s: %w", task, err)
			}
			if g.json {
				return g.print(map[string]any{"task_id": task, "outcome": outcome, "user": user}, nil)
			}
			fmt.Fprintf(g.stdout, "task %s claimed and completed by %s with outcome %s\n", task, user, outcome)
			return nil
		},
	}
	approve.Flags().StringVar(&outcome, "outcome", "approved", "approved or rejected")
	approve.Flags().StringVar(&comment, "comment", "", "the reviewer's comment")
	approve.Flags().StringVar(&user, "as", "", "the reviewer (default the sandbox's first user, reviewer@example.com)")
	approve.Flags().StringVar(&password, "password", "", "the reviewer's password (default: the sandbox's demo password)")
	approve.Flags().DurationVar(&wait, "wait", 60*time.Second, "how long to wait for the review task to appear")
	cmd.AddCommand(approve)

	cmd.AddCommand(&cobra.Command{
		Use:   "show ASSET_ID",
		Short: "Show the asset's approval and review_status in iconik and its video entry in Contentstack",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := g.demoInfo()
			if err != nil {
				return err
			}
			cl, err := newDemoClients(in, "", "")
			if err != nil {
				return err
			}
			st, err := demoState(cmd.Context(), cl, in, args[0])
			if err != nil {
				return err
			}
			if g.json {
				return g.print(st, nil)
			}
			fmt.Fprintf(g.stdout, "iconik asset %s\n  approval: %s\n  review_status: %s\n", args[0], st.Approval, st.ReviewStatus)
			if st.Entry == nil {
				fmt.Fprintln(g.stdout, "contentstack: no video entry for this asset (yet)")
				return nil
			}
			b, _ := json.Marshal(st.Entry["publish_details"])
			fmt.Fprintf(g.stdout, "contentstack video entry %v (version %v)\n  title: %v\n  published: %s\n", st.Entry["uid"], st.Entry["_version"], st.Entry["title"], b)
			return nil
		},
	})
	return cmd
}

// demoFindTask waits for the open task of the asset's review.
func demoFindTask(ctx context.Context, ot *opentextapi.Client, assetID string, wait time.Duration) (string, error) {
	q := opentextapi.TaskQuery{ProcessInstanceBusinessKeyLike: "iconik:" + assetID + ":%"}
	deadline := time.Now().Add(wait)
	for {
		page, err := ot.ListTasks(ctx, q)
		if err != nil {
			return "", err
		}
		if len(page.Items) > 0 {
			return page.Items[0].ID, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no open review task for asset %s after %s (see patchbay run ls)", assetID, wait)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// demoAssetState is what demo show reports.
type demoAssetState struct {
	Approval     string         `json:"approval"`
	ReviewStatus string         `json:"review_status"`
	Entry        map[string]any `json:"contentstack_entry"`
}

func demoState(ctx context.Context, cl *demoClients, in sandbox.Info, assetID string) (*demoAssetState, error) {
	st := &demoAssetState{Approval: "N/A"}
	if ap, err := cl.iconik.GetApprovalRequest(ctx, "assets", assetID, ""); err == nil {
		st.Approval = ap.Status
	}
	md, err := cl.iconik.GetValues(ctx, "assets", assetID, "", "")
	if err != nil && !fault.Is(err, fault.NotFound) { // not found: no values yet
		return nil, fmt.Errorf("reading iconik metadata: %w", err)
	}
	if fv := md.MetadataValues["review_status"].FieldValues; len(fv) > 0 {
		st.ReviewStatus = fmt.Sprint(fv[0].Value)
	}
	page, err := cl.contentstack.Entries(ctx, "video", contentstackapi.ListOptions{
		Query: contentstackapi.Eq("iconik_asset_id", assetID), IncludePublishDetails: true})
	if err != nil {
		return nil, fmt.Errorf("reading contentstack entries: %w", err)
	}
	if len(page.Entries) > 0 {
		st.Entry = page.Entries[0]
	}
	return st, nil
}
