package cli

import (
	"bufio"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/audit"
	"github.com/patchbay/patchbay/internal/connector"
)

func init() { extraCommands = append(extraCommands, auditCmd, linkCmd) }

func auditCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Query, export, verify and prune the audit trail"}
	var object, since string
	var limit int
	ls := &cobra.Command{
		Use:   "ls --object REF [--since T]",
		Short: "List what happened to an object, across systems, oldest first",
		Long: "List the audit entries touching an object reference (iconik:asset/ID, contentstack:entry/CT/UID,\n" +
			"opentext:process/ID, run/ID, flow/NAME, connection/NAME) in time order, with the objects each touched.\n" +
			"--since takes an RFC 3339 time, a date or an age such as 24h or 7d.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := app.ParseSince(since)
			if err != nil {
				return usageError{err}
			}
			return g.withApp(cmd.Context(), func(a *app.App) error {
				es, err := a.AuditList(cmd.Context(), object, t, limit)
				if err != nil {
					return err
				}
				if es == nil {
					es = []*audit.Entry{}
				}
				return g.print(es, func(w *tabwriter.Writer) {
					fmt.Fprintln(w, "TIME\tKIND\tACTOR\tSUMMARY\tOBJECTS")
					for _, e := range es {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", e.At.Local().Format("2006-01-02 15:04:05.000"), e.Kind, e.Actor,
							truncate(e.Summary, 90), strings.Join(e.Objects, " "))
					}
				})
			})
		},
	}
	ls.Flags().StringVar(&object, "object", "", "object reference (required)")
	ls.Flags().StringVar(&since, "since", "", "only entries since this time or age")
	ls.Flags().IntVar(&limit, "limit", 1000, "how many entries")
	_ = ls.MarkFlagRequired("object")

	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the hash chains; exit 1 and name the first broken link when one is broken",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withApp(cmd.Context(), func(a *app.App) error {
				rep, err := a.AuditVerify(cmd.Context())
				if err != nil {
					return err
				}
				if g.json {
					if err := g.print(rep, nil); err != nil {
						return err
					}
				} else if rep.OK {
					fmt.Fprintf(g.stdout, "audit trail intact: %d entries in %d chains, %d checkpoints\n", rep.Entries, rep.Chains, rep.Checkpoints)
					if rep.Unindexed > 0 {
						fmt.Fprintf(g.stdout, "%d of them not in the object index yet (a running patchbay adds them; 'audit ls' reads them directly)\n", rep.Unindexed)
					}
				} else {
					fmt.Fprintf(g.stdout, "audit trail BROKEN: %s\n", rep.Broken)
					for _, p := range rep.Problems[1:] {
						fmt.Fprintf(g.stdout, "  also: %s\n", &p)
					}
				}
				if !rep.OK {
					return exitError{ExitFailure}
				}
				return nil
			})
		},
	}

	var exportObject, exportSince string
	export := &cobra.Command{
		Use:   "export [--since T] [--object REF]",
		Short: "Write audit entries as JSON lines (with their chain hashes), oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := app.ParseSince(exportSince)
			if err != nil {
				return usageError{err}
			}
			return g.withApp(cmd.Context(), func(a *app.App) error {
				w := bufio.NewWriterSize(g.stdout, 64<<10)
				if _, err := a.AuditExport(cmd.Context(), w, t, exportObject); err != nil {
					return err
				}
				return w.Flush()
			})
		},
	}
	export.Flags().StringVar(&exportObject, "object", "", "only entries touching this object reference")
	export.Flags().StringVar(&exportSince, "since", "", "only entries since this time or age")

	var pa, pr, pe string
	prune := &cobra.Command{
		Use:   "prune [--audit AGE] [--runs AGE] [--events AGE]",
		Short: "Apply a retention policy now (default: the PATCHBAY_RETAIN_* policy)",
		Long: "Remove audit entries, finished runs (with their steps) and unreferenced events older than the given ages.\n" +
			"Each pruned audit chain prefix is replaced by a checkpoint signed with a key sealed by the secret keyring,\n" +
			"so 'patchbay audit verify' still checks the rest of the chain.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := audit.PolicyFromEnv()
			if err != nil {
				return usageError{err}
			}
			for _, f := range []struct {
				v string
				d *time.Duration
			}{{pa, &p.Audit}, {pr, &p.Runs}, {pe, &p.Events}} {
				if f.v == "" {
					continue
				}
				d, err := connector.ParseDuration(f.v)
				if err != nil || d <= 0 {
					return usageError{fmt.Errorf("%q: want an age such as 90d or 720h", f.v)}
				}
				*f.d = d
			}
			if p.Empty() {
				return usageError{fmt.Errorf("nothing to prune: give --audit, --runs or --events (or set %s, %s, %s)",
					audit.EnvRetainAudit, audit.EnvRetainRuns, audit.EnvRetainEvents)}
			}
			return g.withApp(cmd.Context(), func(a *app.App) error {
				res, err := a.AuditPrune(cmd.Context(), p)
				if err != nil {
					return err
				}
				return g.print(res, func(w *tabwriter.Writer) {
					fmt.Fprintf(w, "pruned %d audit entries (%d chain checkpoints), %d runs with %d steps, %d events\n",
						res.Entries, res.Checkpoints, res.Runs, res.Steps, res.Events)
				})
			})
		},
	}
	prune.Flags().StringVar(&pa, "audit", "", "prune audit entries older than this age")
	prune.Flags().StringVar(&pr, "runs", "", "prune finished runs that ended longer ago than this")
	prune.Flags().StringVar(&pe, "events", "", "prune events older than this that no run refers to")

	cmd.AddCommand(ls, verify, export, prune)
	return cmd
}

func linkCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "link", Short: "Show which records in other systems belong to an object"}
	var object string
	ls := &cobra.Command{
		Use:   "ls --object REF",
		Short: "List the link group of an object: every linked side and what patchbay last wrote to it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withApp(cmd.Context(), func(a *app.App) error {
				grp, err := a.LinksFor(cmd.Context(), object)
				if err != nil {
					return err
				}
				if grp == nil {
					if g.json {
						return g.print(map[string]any{"group": nil, "sides": []any{}}, nil)
					}
					fmt.Fprintf(g.stdout, "%s is not linked\n", object)
					return exitError{ExitFailure}
				}
				return g.print(grp, func(w *tabwriter.Writer) {
					fmt.Fprintf(w, "group %s\n", grp.ID)
					fmt.Fprintln(w, "OBJECT\tVERSION\tHASH\tWRITTEN\tBY RUN")
					for _, s := range grp.Sides {
						written := "-"
						if !s.WrittenAt.IsZero() {
							written = s.WrittenAt.Local().Format("2006-01-02 15:04:05")
						}
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", s.Object, dash(s.Version), dash(truncate(s.Hash, 20)), written, dash(s.Run))
					}
				})
			})
		},
	}
	ls.Flags().StringVar(&object, "object", "", "object reference (required)")
	_ = ls.MarkFlagRequired("object")
	cmd.AddCommand(ls)
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
