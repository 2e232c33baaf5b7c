package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/memqos/memqos/internal/status"
)

// TestWriteStatusOwners checks that members' owners (pods, in the NRI
// mode) get a column, and that there is none without owners.
func TestWriteStatusOwners(t *testing.T) {
	st := status.Status{Backend: "cgroupfs (psi)", Root: "/sys/fs/cgroup/kubepods", Classes: []status.ClassStatus{
		{Name: "high", Priority: "high", Members: []status.MemberStatus{{Cgroup: "/kubepods/burstable/poda/c1", Owner: "pod agents/a container main", Usage: 1 << 20}}},
		{Name: "low", Priority: "low"},
	}}
	var b bytes.Buffer
	if err := writeStatus(&b, st); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if !strings.HasSuffix(strings.TrimSpace(lines[2]), "OWNER") || !strings.HasSuffix(strings.TrimSpace(lines[3]), "pod agents/a container main") {
		t.Errorf("no owner column:\n%s", b.String())
	}
	st.Classes[0].Members[0].Owner = ""
	b.Reset()
	if err := writeStatus(&b, st); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "OWNER") {
		t.Errorf("an owner column with no owners:\n%s", b.String())
	}
}
