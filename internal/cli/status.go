package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/status"
	"github.com/spf13/cobra"
)

func newStatusCmd(g *globals) *cobra.Command {
	var (
		asJSON bool
		state  string
		path   string
	)
	cmd := &cobra.Command{
		Use:   "status [--json]",
		Short: "Show the running daemon's classes, members, pressure, changed knobs and counters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path != "" {
				cfg, err := config.Load(path)
				if err != nil {
					return err
				}
				state = cfg.State
			}
			st, raw, err := status.Fetch(cmd.Context(), status.SocketPath(state))
			if err != nil {
				return err
			}
			if asJSON {
				_, err := g.stdout.Write(raw)
				return err
			}
			return writeStatus(g.stdout, st)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print the status as JSON")
	f.StringVar(&state, "state", config.DefaultState, "the daemon's state file (its socket is beside it)")
	f.StringVar(&path, "config", "", "read the state file's path from this configuration")
	return cmd
}

func writeStatus(w io.Writer, st status.Status) error {
	fmt.Fprintf(w, "backend %s, root %s, updated %s\n", st.Backend, st.Root, st.Updated.Format(time.RFC3339))
	fmt.Fprintf(w, "memory %s of %s, contended: %v\n", mib(st.RootUsage), mib(st.RootLimit), st.Contended)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	owners := hasOwners(st)
	header := "CLASS\tPRIORITY\tSTATE\tMEMBER\tUSAGE\tMEMORY.HIGH"
	if owners {
		header += "\tOWNER"
	}
	fmt.Fprintln(tw, header)
	for _, c := range st.Classes {
		state := "-"
		switch {
		case c.Pressure:
			state = "pressure"
		case c.Slowed && c.Delay != "":
			state = "slowed, delay " + c.Delay
		case c.Slowed:
			state = "slowed"
		}
		if len(c.Members) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t(none)\t\t\n", c.Name, c.Priority, state)
		}
		for _, m := range c.Members {
			high := "max"
			if m.High != nil {
				high = mib(*m.High)
			}
			if m.Frozen {
				high += " (frozen)"
			}
			line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", c.Name, c.Priority, state, m.Cgroup, mib(m.Usage), high)
			if owners {
				line += "\t" + m.Owner
			}
			fmt.Fprintln(tw, line)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, c := range st.Classes {
		if len(c.Counters) > 0 {
			var kv []string
			for _, k := range sortedKeys(c.Counters) {
				kv = append(kv, fmt.Sprintf("%s=%d", k, c.Counters[k]))
			}
			fmt.Fprintf(w, "counters %s: %s\n", c.Name, strings.Join(kv, " "))
		}
	}
	fmt.Fprintf(w, "knobs changed: %d\n", len(st.Knobs))
	for _, k := range st.Knobs {
		fmt.Fprintf(w, "  %s/%s (was %s)\n", k.Cgroup, k.File, k.Original)
	}
	return nil
}

// hasOwners reports whether some member has an owner (the NRI mode's pod
// and container), which then gets a column.
func hasOwners(st status.Status) bool {
	for _, c := range st.Classes {
		for _, m := range c.Members {
			if m.Owner != "" {
				return true
			}
		}
	}
	return false
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func sortedKeys(m map[string]uint64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
