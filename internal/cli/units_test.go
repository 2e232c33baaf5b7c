package cli

import (
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// sizeWords mark a flag's usage as a size.
var sizeWords = regexp.MustCompile(`\b(MB|MiB|GB|GiB|KB|KiB|bytes?|size)\b`)

// TestSizeFlagUnits holds every flag of every command to the units rule:
// a size flag's name ends with its unit, -mb for decimal megabytes and
// -mib for mebibytes, and its usage says the same.
func TestSizeFlagUnits(t *testing.T) {
	var walk func(c *cobra.Command)
	checked := 0
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			name := c.CommandPath() + " --" + f.Name
			switch {
			case strings.HasSuffix(f.Name, "-mb"):
				checked++
				if !strings.Contains(f.Usage, "decimal MB") {
					t.Errorf("%s: usage %q does not say decimal MB", name, f.Usage)
				}
			case strings.HasSuffix(f.Name, "-mib"):
				checked++
				if !strings.Contains(f.Usage, "MiB") || strings.Contains(f.Usage, " MB") {
					t.Errorf("%s: usage %q does not say MiB", name, f.Usage)
				}
			case sizeWords.MatchString(f.Usage) && f.Value.Type() != "string" && f.Value.Type() != "stringArray":
				t.Errorf("%s (%s) looks like a size, %q, but its name does not end with -mb or -mib", name, f.Value.Type(), f.Usage)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot(io.Discard, io.Discard))
	if checked < 6 {
		t.Errorf("checked %d size flags; want the 6 of replay, selftest and vm run", checked)
	}
}
