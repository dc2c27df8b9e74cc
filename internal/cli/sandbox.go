package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/patchbay/patchbay/internal/sandbox"
)

func init() { extraCommands = append(extraCommands, sandboxCmd) }

// sandboxAddrs derives the three sandbox addresses from a first address:
// iconik on its port, Contentstack on the next, OpenText on the one after
// (port 0 gives three free ports).
func sandboxAddrs(first string) (iconik, contentstack, opentext string, err error) {
	return sandboxAddrsFrom(first, 0)
}

// sandboxAddrsFrom gives the three addresses at addr's port+skip, +1 and
// +2 (or free ports when addr's port is 0).
func sandboxAddrsFrom(addr string, skip int) (iconik, contentstack, opentext string, err error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", "", fmt.Errorf("address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port+skip > 65533 {
		return "", "", "", fmt.Errorf("address %q: bad port", addr)
	}
	at := func(i int) string {
		if port == 0 {
			return net.JoinHostPort(host, "0")
		}
		return net.JoinHostPort(host, strconv.Itoa(port+skip+i))
	}
	return at(0), at(1), at(2), nil
}

func sandboxCmd(g *globals) *cobra.Command {
	var addr, iconikAddr, csAddr, otAddr, snapshots string
	var assets int
	var noSeed bool
	var scale float64
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run the local iconik, Contentstack and OpenText sandboxes (for trying connectors) until Ctrl-C",
		Long: "Run the three sandboxes standalone and print their URLs and credentials. With --json the first line\n" +
			"of the output is one JSON object with keys iconik, contentstack and opentext, each holding url and the\n" +
			"credentials under the real APIs' names (app_id/auth_token; api_key/management_token;\n" +
			"tenant_id/client_id/client_secret). By default iconik listens on --addr's port, Contentstack on the\n" +
			"next and OpenText on the one after; --iconik, --contentstack and --opentext set one each.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ia, ca, oa, err := sandboxAddrs(addr)
			if err != nil {
				return usageError{err}
			}
			if iconikAddr != "" {
				ia = iconikAddr
			}
			if csAddr != "" {
				ca = csAddr
			}
			if otAddr != "" {
				oa = otAddr
			}
			if scale <= 0 {
				return usageError{fmt.Errorf("--time-scale must be above 0")}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			sb, err := sandbox.Start(sandbox.Options{IconikAddr: ia, ContentstackAddr: ca, OpenTextAddr: oa,
				NoSeed: noSeed, IconikAssets: assets, TimeScale: scale, SnapshotDir: snapshots})
			if err != nil {
				return err
			}
			defer sb.Close()
			if g.json {
				b, err := json.Marshal(sb.Info())
				if err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "%s\n", b)
			} else {
				printSandboxes(g.stdout, sb.Info())
				fmt.Fprintln(g.stdout, "\nPress Ctrl-C to stop.")
			}
			<-ctx.Done()
			fmt.Fprintln(g.stderr, "stopping…")
			return sb.Close()
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8081", "iconik's address; Contentstack and OpenText take the next two ports (port 0: free ports)")
	f.StringVar(&iconikAddr, "iconik", "", "iconik's listen address (overrides --addr)")
	f.StringVar(&csAddr, "contentstack", "", "Contentstack's listen address (default: --addr's port + 1)")
	f.StringVar(&otAddr, "opentext", "", "OpenText's listen address (default: --addr's port + 2)")
	f.IntVar(&assets, "assets", 24, "demo assets the iconik seed creates")
	f.BoolVar(&noSeed, "no-seed", false, "start without demo data")
	f.Float64Var(&scale, "time-scale", 1, "multiplies the sandboxes' delays (transcoding, publishing, timers, webhook retries)")
	f.StringVar(&snapshots, "snapshot-dir", "", "keep the sandboxes' state in this folder across restarts")
	return cmd
}

// printSandboxes prints the URLs and credentials for people.
func printSandboxes(w io.Writer, in sandbox.Info) {
	fmt.Fprintf(w, "iconik        %s\n", in.Iconik.URL)
	fmt.Fprintf(w, "  App-ID: %s\n  Auth-Token: %s\n  metadata view: %s\n", in.Iconik.AppID, in.Iconik.AuthToken, in.Iconik.MetadataView)
	fmt.Fprintf(w, "contentstack  %s  (CMA at /v3)\n", in.Contentstack.URL)
	fmt.Fprintf(w, "  api_key: %s\n  authorization (management token): %s\n  webhook public key: %s\n",
		in.Contentstack.APIKey, in.Contentstack.ManagementToken, in.Contentstack.PublicKeyURL)
	fmt.Fprintf(w, "opentext      %s  (workflow at /workflow/v1)\n", in.OpenText.URL)
	fmt.Fprintf(w, "  tenant_id: %s\n  client_id: %s\n  client_secret: %s\n  reviewer: %s / %s\n  token URL: %s\n  inbox: %s\n",
		in.OpenText.TenantID, in.OpenText.ClientID, in.OpenText.ClientSecret, in.OpenText.Username, in.OpenText.Password,
		in.OpenText.TokenURL, in.OpenText.InboxURL)
}
