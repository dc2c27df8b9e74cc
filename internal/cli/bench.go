package cli

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/patchbay/patchbay/bench"
)

func benchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Run benchmarks and print their figures"}
	var events, warmup, workers, rounds int
	var conc, stores, pgURL string
	var audit string
	flowCmd := &cobra.Command{
		Use:   "flow",
		Short: "Webhook → set → HTTP POST throughput and latency, on SQLite and PostgreSQL",
		Long: "Starts patchbay as a child process and a local HTTP sink, fires --events iconik-like asset webhooks at each\n" +
			"--concurrency through the flow webhook → set (5 fields) → http POST, and prints one line per configuration:\n" +
			"accepted events/s, end-to-end runs/s, p50/p99 webhook-ack and end-to-end latency, peak RSS of patchbay.\n" +
			"With --warmup N, N events are sent and their runs awaited first, and only the --events after them are measured.",
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
			if warmup < 0 {
				return usageError{fmt.Errorf("--warmup %d: want 0 or more", warmup)}
			}
			if rounds < 1 {
				return usageError{fmt.Errorf("--rounds %d: want 1 or more", rounds)}
			}
			// Audit on and off run back to back per concurrency, so the
			// ratio compares runs made under the same machine load; with
			// --rounds they alternate (on off, off on, …) and the ratio
			// printed is the median of the rounds'.
			for _, st := range strings.Split(stores, ",") {
				for _, c := range concs {
					var ratios, ackRatios, cpuRatios []float64
					var store string
					for r := range rounds {
						order := slices.Clone(audits)
						if r%2 == 1 {
							slices.Reverse(order)
						}
						byAudit := map[bool]*bench.FlowResult{}
						for _, au := range order {
							res, err := bench.Flow(cmd.Context(), bench.FlowOptions{Events: events, Warmup: warmup, Concurrency: c, Store: strings.TrimSpace(st),
								PostgresURL: pgURL, Workers: workers, Progress: g.stderr, Audit: au})
							if err != nil {
								return err
							}
							byAudit[au], store = res, res.Store
							if g.json {
								b, _ := json.Marshal(res)
								fmt.Fprintln(g.stdout, string(b))
								continue
							}
							warm := ""
							if res.Warmup > 0 {
								warm = fmt.Sprintf(" (after %d warm-up)", res.Warmup)
							}
							fmt.Fprintf(g.stdout, "store=%-8s audit=%-5v c=%-3d events=%d%s accepted/s=%.0f runs/s=%.0f ack p50/p99=%.1f/%.1fms e2e p50/p99=%.1f/%.1fms peak RSS=%.0fMB cpu/run=%.2fms failed=%d delivered=%d %s\n",
								res.Store, res.Audit, res.Concurrency, res.Events, warm, res.AcceptedPerS, res.RunsPerS, res.AckP50MS, res.AckP99MS,
								res.E2EP50MS, res.E2EP99MS, res.PeakRSSMB, res.CPUMSPerRun, res.Failed, res.Delivered, res.PatchbayError)
						}
						on, off := byAudit[true], byAudit[false]
						if on != nil && off != nil && off.RunsPerS > 0 && off.AckP99MS > 0 {
							ratios = append(ratios, on.RunsPerS/off.RunsPerS)
							ackRatios = append(ackRatios, on.AckP99MS/off.AckP99MS)
							if off.CPUMSPerRun > 0 {
								cpuRatios = append(cpuRatios, on.CPUMSPerRun/off.CPUMSPerRun)
							}
						}
					}
					if len(ratios) == 0 {
						continue
					}
					runs, ack := median(ratios), median(ackRatios)
					cmp := map[string]any{"compare": "audit on/off", "store": store, "concurrency": c, "rounds": len(ratios),
						"runs_per_s_ratio": runs, "ack_p99_ratio": ack, "runs_per_s_ratios": ratios}
					cpu := ""
					if len(cpuRatios) > 0 {
						cmp["cpu_per_run_ratio"] = median(cpuRatios)
						cpu = fmt.Sprintf(", patchbay CPU per run ×%.2f", median(cpuRatios))
					}
					if g.json {
						b, _ := json.Marshal(cmp)
						fmt.Fprintln(g.stdout, string(b))
						continue
					}
					spread := ""
					if len(ratios) > 1 {
						spread = fmt.Sprintf(" (median of %d rounds, %.2f–%.2f)", len(ratios), slices.Min(ratios), slices.Max(ratios))
					}
					fmt.Fprintf(g.stdout, "store=%-8s c=%-3d audit on/off: runs/s ×%.2f (%+.1f%%)%s, ack p99 ×%.2f%s\n",
						store, c, runs, (runs-1)*100, spread, ack, cpu)
				}
			}
			return nil
		},
	}
	flowCmd.Flags().IntVar(&events, "events", 5000, "events per configuration")
	flowCmd.Flags().IntVar(&warmup, "warmup", 0, "events sent before the measured ones, not measured (figures of a running patchbay, not a just-started one)")
	flowCmd.Flags().StringVar(&conc, "concurrency", "1,8,32", "concurrent senders, comma-separated")
	flowCmd.Flags().StringVar(&stores, "store", "sqlite,postgres", "sqlite, postgres or both, comma-separated")
	flowCmd.Flags().StringVar(&pgURL, "postgres-url", "", "PostgreSQL server to use (default: start a throwaway one)")
	flowCmd.Flags().IntVar(&workers, "workers", 64, "patchbay's run workers")
	flowCmd.Flags().StringVar(&audit, "audit", "on", "audit trail on, off, or on,off to compare")
	flowCmd.Flags().IntVar(&rounds, "rounds", 1, "times to run each configuration, alternating the --audit order (on off, off on, …)")
	cmd.AddCommand(flowCmd)
	return cmd
}

// median of xs (not empty); the mean of the middle two for an even count.
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
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
