package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestUnknownCommands walks the whole command tree: every command that
// groups others refuses a misspelt command with exit status 125 and the
// nearest name, directly and after memqos help, and given nothing prints
// its help and exits 0. A group added later is held to the same.
func TestUnknownCommands(t *testing.T) {
	var groups []*cobra.Command
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() {
			groups = append(groups, c)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot(io.Discard, io.Discard))
	var names []string
	for _, g := range groups {
		names = append(names, g.CommandPath())
	}
	// At least these; the test covers any other.
	for _, want := range []string{"memqos", "memqos bench", "memqos completion", "memqos podman", "memqos trace", "memqos vm"} {
		if !strings.Contains(","+strings.Join(names, ",")+",", ","+want+",") {
			t.Errorf("the walk found the groups %q, not %q", names, want)
		}
	}
	for _, g := range groups {
		path := strings.Fields(g.CommandPath())[1:]
		var sub *cobra.Command
		for _, c := range g.Commands() {
			if c.IsAvailableCommand() {
				sub = c
				break
			}
		}
		if sub == nil {
			t.Errorf("%s has no visible command", g.CommandPath())
			continue
		}
		typo := sub.Name()[:1] + sub.Name()[2:] // "bnch", "isoltion", "rn"
		for _, args := range [][]string{
			append(append([]string{}, path...), typo),
			append(append([]string{}, path...), typo, "x", "-o", "/dev/null"),
			append(append([]string{"help"}, path...), typo),
		} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				code := Main(context.Background(), args, &stdout, &stderr)
				want := fmt.Sprintf("memqos: unknown command %q for %q\n\nDid you mean this?\n\t%s\n", typo, g.CommandPath(), sub.Name())
				if code != exitMemqos || !strings.HasPrefix(stderr.String(), want) || stdout.Len() > 0 {
					t.Errorf("exit %d, stdout %q, stderr %q; want %d, nothing, and %q", code, stdout.String(), stderr.String(), exitMemqos, want)
				}
			})
		}
		t.Run(strings.Join(append([]string{g.CommandPath()}, path...), " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), path, &stdout, &stderr)
			usage := "Usage:\n  " + g.CommandPath() + " [command]\n"
			if code != 0 || !strings.Contains(stdout.String(), usage) || stderr.Len() > 0 {
				t.Errorf("exit %d, stdout %q, stderr %q; want 0 and its help with %q", code, stdout.String(), stderr.String(), usage)
			}
		})
	}
}
