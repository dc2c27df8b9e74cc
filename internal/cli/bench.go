package cli

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/patchbay/patchbay/bench"
)

func benchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Run benchmarks and print their figures"}
	var events, workers int
	var conc, stores, pgURL string
	var audit string
	flowCmd := &cobra.Command{
		Use:   "flow",
		Short: "Webhook → set → HTTP POST throughput and latency, on SQLite and PostgreSQL",
		Long: "Starts patchbay as a child process and a local HTTP sink, fires --events iconik-like asset webhooks at each\n" +
			"--concurrency through the flow webhook → set (5 fields) → http POST, and prints one line per configuration:\n" +
			"accepted events/s, end-to-end runs/s, p50/p99 webhook-ack and end-to-end latency, peak RSS of patchbay.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			concs, err := intList(conc)
			if err != nil {
				return usageError{fmt.Errorf("--concurrency: %w", err)}
			}
			var audits []bool
			for _, a := range strings.Split(audit, ",") {
				switch strings.TrimSpace(a) {
				case "on":
					audits = append(audits, true)
				case "off":
					audits = append(audits, false)
				default:
					return usageError{fmt.Errorf("--audit %q: want on, off or on,off", audit)}
				}
			}
			// Audit on and off run back to back per concurrency, so the
			// ratio compares runs made under the same machine load.
			for _, st := range strings.Split(stores, ",") {
				for _, c := range concs {
					byAudit := map[bool]*bench.FlowResult{}
					for _, au := range audits {
						res, err := bench.Flow(cmd.Context(), bench.FlowOptions{Events: events, Concurrency: c, Store: strings.TrimSpace(st),
							PostgresURL: pgURL, Workers: workers, Progress: g.stderr, Audit: au})
						if err != nil {
							return err
						}
						byAudit[au] = res
						if g.json {
							b, _ := json.Marshal(res)
							fmt.Fprintln(g.stdout, string(b))
							continue
						}
						fmt.Fprintf(g.stdout, "store=%-8s audit=%-5v c=%-3d events=%d accepted/s=%.0f runs/s=%.0f ack p50/p99=%.1f/%.1fms e2e p50/p99=%.1f/%.1fms peak RSS=%.0fMB failed=%d delivered=%d %s\n",
							res.Store, res.Audit, res.Concurrency, res.Events, res.AcceptedPerS, res.RunsPerS, res.AckP50MS, res.AckP99MS,
							res.E2EP50MS, res.E2EP99MS, res.PeakRSSMB, res.Failed, res.Delivered, res.PatchbayError)
					}
					on, off := byAudit[true], byAudit[false]
					if on == nil || off == nil || off.RunsPerS == 0 || off.AckP99MS == 0 {
						continue
					}
					cmp := map[string]any{"compare": "audit on/off", "store": on.Store, "concurrency": c,
						"runs_per_s_ratio": on.RunsPerS / off.RunsPerS, "ack_p99_ratio": on.AckP99MS / off.AckP99MS}
					if g.json {
						b, _ := json.Marshal(cmp)
						fmt.Fprintln(g.stdout, string(b))
						continue
					}
					fmt.Fprintf(g.stdout, "store=%-8s c=%-3d audit on/off: runs/s ×%.2f (%+.1f%%), ack p99 ×%.2f\n",
						on.Store, c, cmp["runs_per_s_ratio"], (on.RunsPerS/off.RunsPerS-1)*100, cmp["ack_p99_ratio"])
				}
			}
			return nil
		},
	}
	flowCmd.Flags().IntVar(&events, "events", 5000, "events per configuration")
	flowCmd.Flags().StringVar(&conc, "concurrency", "1,8,32", "concurrent senders, comma-separated")
	flowCmd.Flags().StringVar(&stores, "store", "sqlite,postgres", "sqlite, postgres or both, comma-separated")
	flowCmd.Flags().StringVar(&pgURL, "postgres-url", "", "PostgreSQL server to use (default: start a throwaway one)")
	flowCmd.Flags().IntVar(&workers, "workers", 64, "patchbay's run workers")
	flowCmd.Flags().StringVar(&audit, "audit", "on", "audit trail on, off, or on,off to compare")
	cmd.AddCommand(flowCmd)
	return cmd
}

func intList(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive number", p)
		}
		out = append(out, n)
	}
	return out, nil
}
