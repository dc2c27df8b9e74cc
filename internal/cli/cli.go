// Package cli is patchbay's command tree. Every command finds its store the
// same way (--data DIR or --db URL, else PATCHBAY_DATA / PATCHBAY_DB, else
// ./patchbay-data), prints tables for people and --json for scripts, and
// exits 0 on success, 1 when the work failed (validation problems, a run
// that cannot be retried) and 2 on wrong usage.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/connector"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// Version is set at build time.
var Version = "dev"

// globals are the flags every command shares.
type globals struct {
	data     string
	db       string
	json     bool
	logLevel string
	stdout   io.Writer
	stderr   io.Writer
	registry *connector.Registry
}

// usageError marks wrong usage (exit 2).
type usageError struct{ error }

// exitError carries an exit code without more output.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// Main runs the command line and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr, registry: connector.Default}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		fmt.Fprintln(stderr, "error:", err)
		fmt.Fprintln(stderr, "run 'patchbay --help' for usage")
		return ExitUsage
	}
	fmt.Fprintln(stderr, "error:", err)
	return ExitFailure
}

func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "required flag", "invalid argument", "flag needs an argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "patchbay",
		Short:         "Durable integration flows between iconik, OpenText Workflow and Contentstack",
		Long:          "patchbay runs declarative flows between media systems durably: webhooks and pollers start runs,\nruns survive crashes and wait days for people, and every event, decision and write is audited.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.data, "data", "", "data directory for the embedded SQLite store (default $PATCHBAY_DATA or ./patchbay-data)")
	pf.StringVar(&g.db, "db", "", "PostgreSQL URL instead of SQLite (default $PATCHBAY_DB)")
	pf.BoolVar(&g.json, "json", false, "print JSON instead of tables")
	pf.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.AddCommand(
		upCmd(g), serveCmd(g), workerCmd(g), migrateCmd(g),
		flowCmd(g), runCmd(g), eventCmd(g),
		connectorCmd(g), connectionCmd(g),
		benchCmd(g),
	)
	for _, extra := range extraCommands {
		root.AddCommand(extra(g))
	}
	return root
}

// extraCommands lets other files (and build variants) add commands.
var extraCommands []func(g *globals) *cobra.Command

func (g *globals) logger() *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
		lvl = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: lvl}))
}

// storeConfig resolves where the store is.
func (g *globals) storeConfig() app.Config {
	cfg := app.Config{DataDir: g.data, DBURL: g.db, Registry: g.registry}
	if cfg.DBURL == "" && cfg.DataDir == "" {
		cfg.DBURL = os.Getenv("PATCHBAY_DB")
		if cfg.DBURL == "" {
			cfg.DataDir = os.Getenv("PATCHBAY_DATA")
		}
	}
	if cfg.DBURL == "" && cfg.DataDir == "" {
		cfg.DataDir = app.DefaultDataDir
	}
	return cfg
}

// open opens the store for a client command (no workers, no HTTP).
func (g *globals) open(ctx context.Context) (*app.App, error) {
	cfg := g.storeConfig()
	cfg.Role = app.RoleClient
	cfg.Logger = g.logger()
	return app.Open(ctx, cfg)
}

// withApp runs fn with a client app and closes it.
func (g *globals) withApp(ctx context.Context, fn func(a *app.App) error) error {
	a, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer a.Stop(context.WithoutCancel(ctx))
	return fn(a)
}

// print writes v as JSON (with --json) or calls table.
func (g *globals) print(v any, table func(w *tabwriter.Writer)) error {
	if g.json {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}
