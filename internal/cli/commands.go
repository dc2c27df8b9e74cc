package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/flow"
	"github.com/patchbay/patchbay/internal/store"
)

// serveOpts are the flags of the long-running commands.
type serveOpts struct {
	addr      string
	publicURL string
	workers   int
}

func (o *serveOpts) flags(cmd *cobra.Command, withAddr bool) {
	if withAddr {
		cmd.Flags().StringVar(&o.addr, "addr", "127.0.0.1:8080", "HTTP listen address")
		cmd.Flags().StringVar(&o.publicURL, "public-url", "", "URL providers use to reach this patchbay (default http://ADDR)")
	}
	cmd.Flags().IntVar(&o.workers, "workers", 64, "runs executed at once")
}

// runServer opens the app in a role, starts it, and waits for a signal.
func (g *globals) runServer(ctx context.Context, role app.Role, o *serveOpts, prepare func(cfg *app.Config), started func(a *app.App) error) error {
	cfg := g.storeConfig()
	cfg.Role, cfg.Addr, cfg.PublicURL, cfg.Workers, cfg.Logger = role, o.addr, o.publicURL, o.workers, g.logger()
	if prepare != nil {
		prepare(&cfg)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.Open(ctx, cfg)
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		_ = a.Stop(context.Background())
		return err
	}
	if started != nil {
		if err := started(a); err != nil {
			_ = a.Stop(context.Background())
			return err
		}
	}
	<-ctx.Done()
	fmt.Fprintln(g.stderr, "stopping…")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return a.Stop(sctx)
}

func upCmd(g *globals) *cobra.Command {
	o := &serveOpts{}
	var demo bool
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run everything in one process (HTTP, ingest, workers) on the embedded store",
		Long: "Run patchbay in one process. With --demo, also start local sandboxes and install the demo flows,\n" +
			"then print a short guided path.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if demo {
				return runDemo(cmd.Context(), g, o)
			}
			return g.runServer(cmd.Context(), app.RoleAll, o, nil, func(a *app.App) error {
				fmt.Fprintf(g.stdout, "patchbay is up at %s (store: %s)\n", a.URL(), describeStore(a))
				return nil
			})
		},
	}
	o.flags(cmd, true)
	cmd.Flags().BoolVar(&demo, "demo", false, "start the sandboxes and demo flows beside patchbay")
	return cmd
}

func describeStore(a *app.App) string {
	if a.Config().DBURL != "" {
		return "postgres"
	}
	return "sqlite in " + a.Config().DataDir
}

func serveCmd(g *globals) *cobra.Command {
	o := &serveOpts{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP API and webhook ingest, without workers (scale-out on PostgreSQL)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.runServer(cmd.Context(), app.RoleServe, o, nil, func(a *app.App) error {
				fmt.Fprintf(g.stdout, "patchbay serving at %s\n", a.URL())
				return nil
			})
		},
	}
	o.flags(cmd, true)
	return cmd
}

func workerCmd(g *globals) *cobra.Command {
	o := &serveOpts{}
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run workers, pollers and schedules, without HTTP (scale-out on PostgreSQL)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.runServer(cmd.Context(), app.RoleWorker, o, nil, func(a *app.App) error {
				fmt.Fprintln(g.stdout, "patchbay worker running")
				return nil
			})
		},
	}
	o.flags(cmd, false)
	return cmd
}

func migrateCmd(g *globals) *cobra.Command {
	var status bool
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the database schema (other commands do it too)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withApp(cmd.Context(), func(a *app.App) error {
				st, err := a.Store.MigrationStatuses(cmd.Context())
				if err != nil {
					return err
				}
				if !status && !g.json {
					fmt.Fprintf(g.stdout, "schema up to date (%d migrations)\n", len(st))
					return nil
				}
				return g.print(st, func(w *tabwriter.Writer) {
					fmt.Fprintln(w, "VERSION\tNAME\tAPPLIED")
					for _, m := range st {
						fmt.Fprintf(w, "%d\t%s\t%v\n", m.Version, m.Name, m.Applied)
					}
				})
			})
		},
	}
	cmd.Flags().BoolVar(&status, "status", false, "list the migrations")
	return cmd
}

func flowCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "flow", Short: "Validate, apply and list flows"}
	cmd.AddCommand(&cobra.Command{
		Use:   "validate FILE…",
		Short: "Check flow files; print every problem as file:line:col and exit 1 when there are any",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			bad := 0
			var report []map[string]any
			for _, f := range files {
				src, err := os.ReadFile(f)
				if err != nil {
					return fmt.Errorf("reading %s: %w", f, err)
				}
				_, err = flow.Load(f, src, g.registry)
				var probs flow.Problems
				switch {
				case err == nil:
					report = append(report, map[string]any{"file": f, "ok": true})
					if !g.json {
						fmt.Fprintf(g.stdout, "%s: ok\n", f)
					}
				case errors.As(err, &probs):
					bad++
					report = append(report, map[string]any{"file": f, "ok": false, "problems": probs})
					if !g.json {
						for _, p := range probs {
							fmt.Fprintln(g.stdout, p.String())
						}
					}
				default:
					return err
				}
			}
			if g.json {
				_ = g.print(report, nil)
			}
			if bad > 0 {
				if !g.json {
					fmt.Fprintf(g.stderr, "%d of %d files have problems\n", bad, len(files))
				}
				return exitError{ExitFailure}
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "apply FILE…",
		Short: "Validate flow files and store each as its flow's new active version",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			return g.withApp(cmd.Context(), func(a *app.App) error {
				res, err := a.ApplyFiles(cmd.Context(), files, "cli")
				if perr := printProblems(g, err); perr != nil {
					return perr
				}
				if err != nil {
					return err
				}
				return g.print(res, func(w *tabwriter.Writer) {
					for _, r := range res {
						if r.Unchanged {
							fmt.Fprintf(w, "%s: flow %s unchanged (version %d)\n", r.File, r.Flow, r.Version)
						} else {
							fmt.Fprintf(w, "%s: flow %s applied as version %d\n", r.File, r.Flow, r.Version)
						}
					}
				})
			})
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "ls",
		Short: "List flows with their active version and run counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withApp(cmd.Context(), func(a *app.App) error {
				flows, err := a.ListFlows(cmd.Context())
				if err != nil {
					return err
				}
				return g.print(flows, func(w *tabwriter.Writer) {
					fmt.Fprintln(w, "NAME\tVERSION\tENABLED\tTRIGGER\tRUNS")
					for _, f := range flows {
						fmt.Fprintf(w, "%s\t%d\t%v\t%s\t%s\n", f.Name, f.Version, f.Enabled, f.Trigger, countsString(f.Runs))
					}
				})
			})
		},
	})
	var version int
	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Print a flow's stored source (the active version unless --version)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withApp(cmd.Context(), func(a *app.App) error {
				v, err := a.FlowSource(cmd.Context(), args[0], version)
				if err != nil {
					return err
				}
				if g.json {
					return g.print(map[string]any{"name": v.Name, "version": v.Version, "hash": v.Hash, "applied_at": v.AppliedAt, "source": v.Source}, nil)
				}
				fmt.Fprintf(g.stdout, "# %s version %d, applied %s\n%s", v.Name, v.Version, v.AppliedAt.Format(time.RFC3339), v.Source)
				return nil
			})
		},
	}
	show.Flags().IntVar(&version, "version", 0, "version to show")
	cmd.AddCommand(show)
	for _, enable := range []bool{true, false} {
		verb := "enable"
		if !enable {
			verb = "disable"
		}
		cmd.AddCommand(&cobra.Command{
			Use:   verb + " NAME",
			Short: strings.ToUpper(verb[:1]) + verb[1:] + " a flow's trigger (runs in progress continue)",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return g.withApp(cmd.Context(), func(a *app.App) error {
					if err := a.SetFlowEnabled(cmd.Context(), args[0], enable, "cli"); err != nil {
						return err
					}
					fmt.Fprintf(g.stdout, "flow %s %sd\n", args[0], verb)
					return nil
				})
			},
		})
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of flow files for editor completion",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := flow.Schema(g.registry)
			if err != nil {
				return err
			}
			_, err = g.stdout.Write(append(b, '\n'))
			return err
		},
	})
	return cmd
}

// printProblems prints validation problems one per line and turns them into exit 1.
func printProblems(g *globals, err error) error {
	var probs flow.Problems
	if !errors.As(err, &probs) {
		return nil
	}
	if g.json {
		_ = g.print(map[string]any{"problems": probs}, nil)
	} else {
		for _, p := range probs {
			fmt.Fprintln(g.stdout, p.String())
		}
	}
	return exitError{ExitFailure}
}

func countsString(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

func runCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "run", Short: "List, inspect, start, retry and cancel runs"}
	var status, flowName, before string
	var limit int
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withApp(cmd.Context(), func(a *app.App) error {
				runs, err := a.ListRuns(cmd.Context(), store.RunFilter{Status: status, Flow: flowName, Before: before, Limit: limit})
				if err != nil {
					return err
				}
				return g.print(runs, func(w *tabwriter.Writer) {
					fmt.Fprintln(w, "ID\tFLOW\tVERSION\tSTATUS\tCREATED\tERROR")
					for _, r := range runs {
						msg := ""
						if r.Error != nil {
							msg = truncate(r.Error.Step+": "+r.Error.Message, 60)
						}
						fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\n", r.ID, r.Flow, r.FlowVersion, r.Status, r.CreatedAt.Local().Format("2006-01-02 15:04:05"), msg)
					}
				})
			})
		},
	}
	ls.Flags().StringVar(&status, "status", "", "only runs in this status (queued, running, waiting, succeeded, failed, cancelled)")
	ls.Flags().StringVar(&flowName, "flow", "", "only runs of this flow")
	ls.Flags().StringVar(&before, "before", "", "page: runs older than this run id")
	ls.Flags().IntVar(&limit, "limit", 50, "how many runs")
	cmd.AddCommand(ls)

	cmd.AddCommand(&cobra.Command{
		Use:   "show ID",
		Short: "Show a run with its step timeline",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withApp(cmd.Context(), func(a *app.App) error {
				d, err := a.GetRun(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return g.print(d, func(w *tabwriter.Writer) { printRun(w, d) })
			})
		},
	})

	var fromStep, input string
	retry := &cobra.Command{
		Use:   "retry ID",
		Short: "Resume a failed run from its failed step (or --from-step), optionally with edited input",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := parseJSONArg(input)
			if err != nil {
				return usageError{fmt.Errorf("--input: %w", err)}
			}
			return g.withApp(cmd.Context(), func(a *app.App) error {
				if err := a.RetryRun(cmd.Context(), args[0], fromStep, in, "cli"); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "run %s queued again\n", args[0])
				return nil
			})
		},
	}
	retry.Flags().StringVar(&fromStep, "from-step", "", "step id to resume from (default: the failed step)")
	retry.Flags().StringVar(&input, "input", "", "replacement input of that step as JSON, or @file.json")
	cmd.AddCommand(retry)

	var reason string
	cancel := &cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel a queued, running or waiting run",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withApp(cmd.Context(), func(a *app.App) error {
				if err := a.CancelRun(cmd.Context(), args[0], reason, "cli"); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "run %s cancelled\n", args[0])
				return nil
			})
		},
	}
	cancel.Flags().StringVar(&reason, "reason", "", "why (kept with the run)")
	cmd.AddCommand(cancel)

	var params []string
	var startInput string
	start := &cobra.Command{
		Use:   "start FLOW",
		Short: "Start a run of a flow by hand (a running patchbay executes it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := parseJSONArg(startInput)
			if err != nil {
				return usageError{fmt.Errorf("--input: %w", err)}
			}
			if in == nil {
				in = map[string]any{}
			}
			for _, p := range params {
				k, v, ok := strings.Cut(p, "=")
				if !ok {
					return usageError{fmt.Errorf("--param %q: want name=value", p)}
				}
				in[k] = parseScalar(v)
			}
			return g.withApp(cmd.Context(), func(a *app.App) error {
				id, err := a.StartRun(cmd.Context(), args[0], in)
				if err != nil {
					return err
				}
				if g.json {
					return g.print(map[string]any{"run_id": id}, nil)
				}
				fmt.Fprintf(g.stdout, "started run %s\n", id)
				return nil
			})
		},
	}
	start.Flags().StringArrayVar(&params, "param", nil, "parameter name=value (repeatable)")
	start.Flags().StringVar(&startInput, "input", "", "parameters as a JSON object, or @file.json")
	cmd.AddCommand(start)
	return cmd
}

func printRun(w *tabwriter.Writer, d *app.RunDetail) {
	fmt.Fprintf(w, "run\t%s\n", d.ID)
	fmt.Fprintf(w, "flow\t%s v%d\n", d.Flow, d.FlowVersion)
	fmt.Fprintf(w, "status\t%s\n", d.Status)
	if d.EventID != "" {
		fmt.Fprintf(w, "event\t%s\n", d.EventID)
	}
	if d.ParentID != "" {
		fmt.Fprintf(w, "parent\t%s\n", d.ParentID)
	}
	fmt.Fprintf(w, "created\t%s\n", d.CreatedAt.Local().Format(time.RFC3339))
	if !d.EndedAt.IsZero() {
		fmt.Fprintf(w, "ended\t%s (%s)\n", d.EndedAt.Local().Format(time.RFC3339), d.EndedAt.Sub(d.CreatedAt).Round(time.Millisecond))
	}
	if d.Error != nil {
		fmt.Fprintf(w, "error\t%s [%s] %s\n", d.Error.Step, d.Error.Kind, d.Error.Message)
	}
	for _, wt := range d.Waits {
		fmt.Fprintf(w, "waiting\tstep %s for %s key %s\n", wt.Step, wt.Source, wt.Key)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "#\tSTEP\tKIND\tTRY\tSTATUS\tMS\tDETAIL")
	for _, s := range d.Steps {
		detail := ""
		switch {
		case s.Error != "":
			detail = "[" + s.ErrorKind + "] " + s.Error
		case len(s.Output) > 0:
			detail = string(s.Output)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%s\t%d\t%s\n", s.Seq, s.Step, s.Kind, s.Attempt, s.Status, s.DurationMS, truncate(detail, 100))
	}
	for _, c := range d.Children {
		fmt.Fprintf(w, "child\t%s\t%s\n", c.ID, c.Status)
	}
}

func truncate(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}

// parseJSONArg reads a JSON object from the argument or, with @, a file.
func parseJSONArg(s string) (map[string]any, error) {
	if s == "" {
		return nil, nil
	}
	b := []byte(s)
	if strings.HasPrefix(s, "@") {
		var err error
		if b, err = os.ReadFile(s[1:]); err != nil {
			return nil, err
		}
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("want a JSON object: %w", err)
	}
	return m, nil
}

// parseScalar turns a command-line value into a JSON value when it looks
// like one (numbers, true/false, null, [..], {..}), else a string.
func parseScalar(s string) any {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err == nil {
		if f, ok := v.(float64); ok && f == float64(int(f)) {
			return int(f)
		}
		return v
	}
	return s
}

func eventCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "event", Short: "List received events"}
	var source, status, object string
	var limit int
	var withData bool
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List events, newest first (rejected ones say why)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withApp(cmd.Context(), func(a *app.App) error {
				evs, err := a.ListEvents(cmd.Context(), store.EventFilter{Source: source, Status: status, Object: object, Limit: limit}, withData)
				if err != nil {
					return err
				}
				return g.print(evs, func(w *tabwriter.Writer) {
					fmt.Fprintln(w, "ID\tSOURCE\tTYPE\tOBJECT\tSTATUS\tRUNS\tRECEIVED")
					for _, e := range evs {
						st := e.Status
						if e.Reason != "" {
							st += " (" + truncate(e.Reason, 50) + ")"
						}
						fmt.Fprintf(w, "%s\t%s/%s\t%s\t%s\t%s\t%d\t%s\n", e.ID, e.Source, e.Trigger, e.Type, e.Object, st, e.Runs, e.ReceivedAt.Local().Format("15:04:05.000"))
					}
				})
			})
		},
	}
	ls.Flags().StringVar(&source, "source", "", "only events of this connection")
	ls.Flags().StringVar(&status, "status", "", "accepted, rejected or echo")
	ls.Flags().StringVar(&object, "object", "", "only events about this object reference")
	ls.Flags().IntVar(&limit, "limit", 50, "how many events")
	ls.Flags().BoolVar(&withData, "data", false, "include event data (with --json)")
	cmd.AddCommand(ls)
	return cmd
}

func connectorCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "connector", Short: "List the connectors compiled into this binary"}
	cmd.AddCommand(&cobra.Command{
		Use:   "ls",
		Short: "List connectors with their triggers and actions (--json: full specs)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			specs := g.registry.Specs()
			return g.print(specs, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "NAME\tTRIGGERS\tACTIONS")
				for _, s := range specs {
					var ts, as []string
					for _, t := range s.Triggers {
						ts = append(ts, t.Name)
					}
					for _, a := range s.Actions {
						as = append(as, a.Name)
					}
					fmt.Fprintf(w, "%s\t%s\t%s\n", s.Name, strings.Join(ts, ", "), strings.Join(as, ", "))
				}
			})
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "show NAME",
		Short: "Show a connector's connection settings, triggers and actions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ok := g.registry.Lookup(args[0])
			if !ok {
				return fmt.Errorf("no connector %q (see patchbay connector ls)", args[0])
			}
			s := c.Spec()
			if g.json {
				return g.print(s, nil)
			}
			printSpec(g, s)
			return nil
		},
	})
	return cmd
}

func printSpec(g *globals, s *connector.Spec) {
	w := g.stdout
	fmt.Fprintf(w, "%s — %s\n%s\n", s.Name, s.Title, s.Doc)
	if len(s.Connection) > 0 {
		fmt.Fprintln(w, "\nconnection settings:")
		printFields(g, s.Connection, "  ")
	}
	for _, t := range s.Triggers {
		fmt.Fprintf(w, "\ntrigger %s (%s): %s\n", t.Name, t.Kind, t.Doc)
		if len(t.EventTypes) > 0 {
			fmt.Fprintf(w, "  events: %s\n", strings.Join(t.EventTypes, ", "))
		}
		printFields(g, t.Config, "  config ")
	}
	for _, a := range s.Actions {
		fmt.Fprintf(w, "\naction %s: %s\n", a.Name, a.Doc)
		printFields(g, a.Input, "  in  ")
		printFields(g, a.Output, "  out ")
	}
}

func printFields(g *globals, fields []connector.Field, prefix string) {
	for _, f := range fields {
		var tags []string
		if f.Required {
			tags = append(tags, "required")
		}
		if f.Secret {
			tags = append(tags, "secret")
		}
		if f.Default != nil {
			tags = append(tags, fmt.Sprintf("default %v", f.Default))
		}
		if len(f.Enum) > 0 {
			tags = append(tags, fmt.Sprintf("one of %v", f.Enum))
		}
		t := ""
		if len(tags) > 0 {
			t = " (" + strings.Join(tags, ", ") + ")"
		}
		fmt.Fprintf(g.stdout, "%s%s: %s%s  %s\n", prefix, f.Name, f.Type, t, f.Doc)
	}
}

func connectionCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "connection", Short: "Add, inspect, test and remove connections"}
	var connectorName string
	var sets, secrets, secretEnvs []string
	add := &cobra.Command{
		Use:   "add NAME --connector C [--set k=v] [--secret k=v] [--secret-env k=VAR]",
		Short: "Create or replace a connection (secret settings are stored encrypted)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			values := map[string]any{}
			for _, s := range sets {
				k, v, ok := strings.Cut(s, "=")
				if !ok {
					return usageError{fmt.Errorf("--set %q: want name=value", s)}
				}
				values[k] = parseScalar(v)
			}
			for _, s := range secrets {
				k, v, ok := strings.Cut(s, "=")
				if !ok {
					return usageError{fmt.Errorf("--secret %q: want name=value", s)}
				}
				values[k] = v
			}
			for _, s := range secretEnvs {
				k, env, ok := strings.Cut(s, "=")
				if !ok {
					return usageError{fmt.Errorf("--secret-env %q: want name=VARIABLE", s)}
				}
				v := os.Getenv(env)
				if v == "" {
					return usageError{fmt.Errorf("--secret-env %s: variable %s is empty", k, env)}
				}
				values[k] = v
			}
			return g.withApp(cmd.Context(), func(a *app.App) error {
				if err := a.PutConnection(cmd.Context(), args[0], connectorName, values, "cli"); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "connection %s (%s) saved\n", args[0], connectorName)
				return nil
			})
		},
	}
	add.Flags().StringVar(&connectorName, "connector", "", "connector name (see patchbay connector ls)")
	add.Flags().StringArrayVar(&sets, "set", nil, "setting name=value (repeatable; JSON values such as [\"a\"] allowed)")
	add.Flags().StringArrayVar(&secrets, "secret", nil, "secret setting name=value (repeatable)")
	add.Flags().StringArrayVar(&secretEnvs, "secret-env", nil, "secret setting from an environment variable, name=VARIABLE")
	_ = add.MarkFlagRequired("connector")
	cmd.AddCommand(add)
	cmd.AddCommand(&cobra.Command{
		Use:   "ls",
		Short: "List connections (secrets masked)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withApp(cmd.Context(), func(a *app.App) error {
				list, err := a.Conns.List(cmd.Context())
				if err != nil {
					return err
				}
				return g.print(list, func(w *tabwriter.Writer) {
					fmt.Fprintln(w, "NAME\tCONNECTOR\tVERSION\tUPDATED")
					for _, c := range list {
						fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", c.Name, c.Connector, c.Version, c.UpdatedAt.Local().Format(time.RFC3339))
					}
				})
			})
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "show NAME",
		Short: "Show a connection's settings (secrets masked)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withApp(cmd.Context(), func(a *app.App) error {
				info, err := a.Conns.Describe(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return g.print(info, func(w *tabwriter.Writer) {
					fmt.Fprintf(w, "name\t%s\nconnector\t%s\nversion\t%d\n", info.Name, info.Connector, info.Version)
					keys := make([]string, 0, len(info.Config))
					for k := range info.Config {
						keys = append(keys, k)
					}
					sort.Strings(keys)
					for _, k := range keys {
						b, _ := json.Marshal(info.Config[k])
						fmt.Fprintf(w, "%s\t%s\n", k, b)
					}
				})
			})
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "rm NAME",
		Short: "Remove a connection",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withApp(cmd.Context(), func(a *app.App) error {
				if err := a.DeleteConnection(cmd.Context(), args[0], "cli"); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "connection %s removed\n", args[0])
				return nil
			})
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "test NAME",
		Short: "Check a connection's credentials against its provider",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withApp(cmd.Context(), func(a *app.App) error {
				conn, spec, err := a.Conns.Get(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				t, ok := conn.(connector.Tester)
				if !ok {
					return fmt.Errorf("connector %s has no connection test", spec.Name)
				}
				ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
				defer cancel()
				if err := t.Test(ctx); err != nil {
					return fmt.Errorf("connection %s: %w", args[0], err)
				}
				fmt.Fprintf(g.stdout, "connection %s ok\n", args[0])
				return nil
			})
		},
	})
	var publicURL string
	var dryRun bool
	setup := &cobra.Command{
		Use:   "setup CONNECTOR NAME",
		Short: "Check a connection and prepare its provider for patchbay (register webhooks); safe to repeat",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withApp(cmd.Context(), func(a *app.App) error {
				if publicURL == "" {
					publicURL = os.Getenv("PATCHBAY_PUBLIC_URL")
				}
				if publicURL == "" {
					return usageError{errors.New("--public-url (or PATCHBAY_PUBLIC_URL) is required: the URL the provider posts webhooks to")}
				}
				rep, err := a.SetupConnection(cmd.Context(), args[1], args[0], publicURL, dryRun)
				if wc := (*app.WrongConnectorError)(nil); errors.As(err, &wc) {
					return usageError{err}
				}
				if err != nil {
					return err
				}
				return g.print(rep, func(w *tabwriter.Writer) {
					for _, c := range rep.Checks {
						fmt.Fprintf(w, "check\t%s\n", c)
					}
					for _, c := range rep.Changes {
						fmt.Fprintf(w, "change\t%s\n", c)
					}
					if len(rep.Changes) == 0 {
						fmt.Fprintln(w, "nothing to change")
					}
				})
			})
		},
	}
	setup.Flags().StringVar(&publicURL, "public-url", "", "patchbay's public base URL (webhooks go to URL/hooks/NAME/…)")
	setup.Flags().BoolVar(&dryRun, "dry-run", false, "report what would change without changing it")
	cmd.AddCommand(setup)
	return cmd
}
