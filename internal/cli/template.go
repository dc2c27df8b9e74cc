package cli

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/template"
)

func init() { extraCommands = append(extraCommands, templateCmd) }

// templateCmd is `patchbay template ls|show|install`.
func templateCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "template", Short: "List, show and install the use-case templates"}
	cmd.AddCommand(&cobra.Command{
		Use:   "ls",
		Short: "List the templates",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := template.List()
			if err != nil {
				return err
			}
			return g.print(list, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "NAME\tROLES\tPARAMS\tDESCRIPTION")
				for _, t := range list {
					fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", t.Name, roles(t.Roles), len(t.Params), t.Description)
				}
			})
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "show NAME",
		Short: "Print a template's source (its header documents it); --json adds its parameters and roles",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			info, src, err := template.Get(args[0])
			if err != nil {
				return err
			}
			if g.json {
				return g.print(map[string]any{"template": info, "source": string(src)}, nil)
			}
			_, err = g.stdout.Write(src)
			return err
		},
	})
	var params, conns []string
	install := &cobra.Command{
		Use:   "install NAME",
		Short: "Set a template's parameters and connections, validate it and apply it as a flow",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pm, err := pairs("--param", params)
			if err != nil {
				return err
			}
			cm, err := pairs("--connection", conns)
			if err != nil {
				return err
			}
			return g.withApp(cmd.Context(), func(a *app.App) error {
				res, err := template.Install(cmd.Context(), a, args[0], pm, cm, "cli")
				if perr := printProblems(g, err); perr != nil {
					return perr
				}
				if err != nil {
					return err
				}
				return g.print(res, func(w *tabwriter.Writer) {
					if res.Unchanged {
						fmt.Fprintf(w, "template %s: flow %s unchanged (version %d)\n", args[0], res.Flow, res.Version)
					} else {
						fmt.Fprintf(w, "template %s installed: flow %s version %d\n", args[0], res.Flow, res.Version)
					}
				})
			})
		},
	}
	install.Flags().StringArrayVar(&params, "param", nil, "parameter as NAME=VALUE (lists and objects as YAML or JSON); repeatable")
	install.Flags().StringArrayVar(&conns, "connection", nil, "connection for a role as ROLE=NAME; repeatable")
	cmd.AddCommand(install)
	return cmd
}

func pairs(flag string, kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usageError{fmt.Errorf("%s %q: want NAME=VALUE", flag, kv)}
		}
		out[strings.TrimSpace(k)] = v
	}
	return out, nil
}

func roles(m map[string]string) string {
	var out []string
	for r, c := range m {
		out = append(out, r+"="+c)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}
