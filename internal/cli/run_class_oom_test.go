package cli

import (
	"strings"
	"testing"

	"github.com/memqos/memqos/internal/cgroup"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/testutil"
)

// TestOOMLine explains OOM kills in fake cgroup trees: the limit is the
// class's memory_max, an ancestor's memory.max, or none at all.
func TestOOMLine(t *testing.T) {
	const run = "mq/low/memqos-run-7/"
	killed := map[string]string{run + "memory.events": "low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n", run + "memory.peak": "67108864\n"}
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"class limit", map[string]string{run + "memory.max": "67108864\n", "mq/memory.max": "max\n"},
			"memqos: job was OOM-killed in class low: it reached a peak of 64.0 MiB against the class's memory_max of 64.0 MiB (67108864 bytes); raise classes[1].memory_max in c.yaml, or run it in a class with more memory"},
		{"ancestor limit", map[string]string{run + "memory.max": "67108864\n", "mq/memory.max": "33554432\n"},
			"memqos: job was OOM-killed in class low: it reached a peak of 64.0 MiB against the limit of 32.0 MiB (33554432 bytes) set by memory.max of ROOT/mq; raise memory.max of ROOT/mq, or run it where more memory is allowed"},
		{"no limit", map[string]string{run + "memory.max": "max\n"},
			"memqos: job was OOM-killed in class low: it reached a peak of 64.0 MiB with no cgroup limit: the host itself ran out of memory; free memory on the host, or give the class a memory_max"},
		{"no peak", map[string]string{run + "memory.max": "67108864\n", run + "memory.peak": ""},
			"memqos: job was OOM-killed in class low: it reached an unknown peak (no memory.peak) against the class's memory_max of 64.0 MiB (67108864 bytes); raise classes[1].memory_max in c.yaml, or run it in a class with more memory"},
		{"no kill", map[string]string{run + "memory.max": "67108864\n", run + "memory.events": "oom 1\noom_kill 0\n"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{}
			for k, v := range killed {
				files[k] = v
			}
			for k, v := range tt.files {
				files[k] = v
				if v == "" {
					delete(files, k) // the kernel has no such file
				}
			}
			root := testutil.FakeCgroupTree(t, files)
			fsys := &cgroup.FS{Root: root}
			class := &config.Class{Name: "low"}
			got := oomLine(fsys.Group(run), "job", "c.yaml", 1, class)
			want := strings.ReplaceAll(tt.want, "ROOT", root)
			if got != want {
				t.Errorf("oomLine =\n%s\nwant\n%s", got, want)
			}
		})
	}
}
