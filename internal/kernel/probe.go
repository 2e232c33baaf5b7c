package kernel

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"
	"github.com/memqos/memqos/internal/cgroup"
)

// Host names the filesystem roots a probe reads. The zero value reads the
// running system.
type Host struct {
	CgroupRoot string // default /sys/fs/cgroup
	ProcRoot   string // default /proc
	SysRoot    string // default /sys
	// BTF is the kernel BTF; nil means load /sys/kernel/btf/vmlinux.
	BTF *btf.Spec
	// EUID and CapEff override the caller's credentials when set (tests).
	EUID   *int
	CapEff *uint64
}

// Backend names how memqos would enforce priorities on this host.
type Backend string

// Backends, best first.
const (
	BackendMemcgOps   Backend = "memcg-bpf-ops"
	BackendTracepoint Backend = "stock/tracepoint"
	BackendPSI        Backend = "stock/psi"
	BackendEvents     Backend = "stock/memory.events"
	BackendNone       Backend = "none"
)

// Feature is one probed capability: whether it is there, and why not.
type Feature struct {
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Report is what a probe found.
type Report struct {
	Kernel       string   `json:"kernel"`
	CgroupV2     Feature  `json:"cgroup_v2"`
	Controllers  []string `json:"controllers,omitempty"`
	PSI          Feature  `json:"psi"`
	BTF          Feature  `json:"btf"`
	MemcgOps     Feature  `json:"memcg_bpf_ops"`
	ABI          ABI      `json:"memcg_bpf_ops_abi,omitempty"`
	Tracepoint   Feature  `json:"count_memcg_events"`
	PGFaultItem  *uint32  `json:"pgfault_item,omitempty"`
	StructOpsLnk Feature  `json:"struct_ops_link"`
	Privileges   Feature  `json:"privileges"`
	Backend      Backend  `json:"backend"`
	BackendWhy   string   `json:"backend_reason"`
}

func (h *Host) root(field, def string) string {
	if field != "" {
		return field
	}
	return def
}

// Probe looks at the host and reports its capabilities.
func (h *Host) Probe() *Report {
	r := &Report{Kernel: kernelRelease(h.root(h.ProcRoot, "/proc"))}
	h.probeCgroup(r)
	h.probePSI(r)
	spec := h.probeBTF(r)
	h.probeTracepoint(r, spec)
	h.probePrivileges(r)
	r.Backend, r.BackendWhy = chooseBackend(r)
	return r
}

func kernelRelease(proc string) string {
	b, err := os.ReadFile(filepath.Join(proc, "sys/kernel/osrelease"))
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func (h *Host) probeCgroup(r *Report) {
	fsys, err := cgroup.Open(h.root(h.CgroupRoot, cgroup.DefaultRoot))
	if err != nil {
		r.CgroupV2 = Feature{Detail: err.Error()}
		return
	}
	r.Controllers, _ = fsys.Group("").Controllers()
	r.CgroupV2 = Feature{OK: true, Detail: fsys.Root}
}

func (h *Host) probePSI(r *Report) {
	p := filepath.Join(h.root(h.ProcRoot, "/proc"), "pressure", "memory")
	if _, err := os.ReadFile(p); err != nil {
		r.PSI = Feature{Detail: fmt.Sprintf("%s: %v (needs CONFIG_PSI, and psi=1 if PSI_DEFAULT_DISABLED)", p, err)}
		return
	}
	r.PSI = Feature{OK: true, Detail: p}
}

// probeBTF fills in what kernel BTF tells, and returns the BTF (nil if
// there is none).
func (h *Host) probeBTF(r *Report) *btf.Spec {
	spec := h.BTF
	if spec == nil {
		var err error
		spec, err = btf.LoadSpec(filepath.Join(h.root(h.SysRoot, "/sys"), "kernel/btf/vmlinux"))
		if err != nil {
			r.BTF = Feature{Detail: fmt.Sprintf("kernel BTF: %v (needs CONFIG_DEBUG_INFO_BTF)", err)}
			r.MemcgOps = Feature{Detail: "cannot tell without kernel BTF"}
			r.StructOpsLnk = Feature{Detail: "cannot tell without kernel BTF"}
			return nil
		}
	}
	r.BTF = Feature{OK: true}
	abi, err := MemcgOpsABI(spec)
	switch {
	case err != nil:
		r.MemcgOps = Feature{Detail: err.Error()}
	default:
		r.ABI = abi
		r.MemcgOps = Feature{OK: true, Detail: "ABI " + string(abi)}
	}
	if item, err := PGFaultItem(spec); err == nil {
		r.PGFaultItem = &item
	}
	if HasStructOpsLink(spec) {
		r.StructOpsLnk = Feature{OK: true}
	} else {
		r.StructOpsLnk = Feature{Detail: "no BPF_LINK_TYPE_STRUCT_OPS (needs Linux 6.4+)"}
	}
	return spec
}

func (h *Host) probeTracepoint(r *Report, spec *btf.Spec) {
	sys := h.root(h.SysRoot, "/sys")
	for _, dir := range []string{"kernel/tracing", "kernel/debug/tracing"} {
		p := filepath.Join(sys, dir, "events/memcg/count_memcg_events/id")
		if _, err := os.Stat(p); err == nil {
			r.Tracepoint = Feature{OK: true, Detail: filepath.Dir(p)}
			return
		}
	}
	switch {
	case spec != nil && HasCountMemcgEvents(spec):
		r.Tracepoint = Feature{Detail: "the kernel has it, but tracefs is not mounted at " + filepath.Join(sys, "kernel/tracing")}
	case spec != nil:
		r.Tracepoint = Feature{Detail: "the kernel has no memcg:count_memcg_events tracepoint"}
	default:
		r.Tracepoint = Feature{Detail: "no events/memcg/count_memcg_events in tracefs (the kernel lacks it, or tracefs is not mounted)"}
	}
}

// Capability bits of CapEff.
const (
	capSysAdmin = 21
	capPerfmon  = 38
	capBPF      = 39
)

func (h *Host) probePrivileges(r *Report) {
	euid := os.Geteuid()
	if h.EUID != nil {
		euid = *h.EUID
	}
	capEff, err := uint64(0), error(nil)
	if h.CapEff != nil {
		capEff = *h.CapEff
	} else {
		capEff, err = readCapEff(filepath.Join(h.root(h.ProcRoot, "/proc"), "self/status"))
	}
	has := func(bit uint) bool { return capEff&(1<<bit) != 0 }
	switch {
	case err != nil:
		r.Privileges = Feature{Detail: err.Error()}
	case has(capSysAdmin) || (has(capBPF) && has(capPerfmon)):
		r.Privileges = Feature{OK: true, Detail: fmt.Sprintf("euid %d with CAP_SYS_ADMIN or CAP_BPF+CAP_PERFMON", euid)}
	default:
		r.Privileges = Feature{Detail: fmt.Sprintf("euid %d lacks CAP_BPF+CAP_PERFMON (or CAP_SYS_ADMIN): run as root", euid)}
	}
}

func readCapEff(status string) (uint64, error) {
	b, err := os.ReadFile(status)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, errors.New(status + " has no CapEff line")
}

// chooseBackend picks the best backend the report allows, and says why.
func chooseBackend(r *Report) (Backend, string) {
	switch {
	case !r.CgroupV2.OK:
		return BackendNone, "no cgroup v2 memory controller"
	case r.MemcgOps.OK && r.StructOpsLnk.OK && r.Tracepoint.OK && r.Privileges.OK:
		return BackendMemcgOps, "memcg_bpf_ops " + string(r.ABI) + " with the count_memcg_events detector"
	case r.Tracepoint.OK && r.BTF.OK && r.Privileges.OK:
		return BackendTracepoint, "no usable memcg_bpf_ops; dynamic memory.high/low/min driven by the count_memcg_events tracepoint"
	case r.PSI.OK:
		return BackendPSI, "no BPF detector; dynamic memory.high/low/min driven by PSI triggers"
	default:
		return BackendEvents, "no BPF detector or PSI; dynamic memory.high/low/min driven by memory.events"
	}
}
