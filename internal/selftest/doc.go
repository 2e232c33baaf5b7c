// Package selftest reproduces the memcg_bpf_ops RFC's four upstream
// selftests with memqos's own loader, on the running kernel:
//
//   - over_high: only LOW ops attached; each child reads its file 5 times;
//   - below_low_over_high: HIGH gets below_low, LOW the delay; 50 reads;
//   - below_min_over_high: HIGH gets below_min, LOW the delay; 50 reads;
//   - hierarchies: attach to /cg with ALLOW_OVERRIDE (succeeds), to /cg/cg
//     with no flags (succeeds), and to /cg/cg/cg (must fail with the
//     kernel's errno).
//
// The timing tests follow the upstream workload: HIGH and LOW cgroups under
// a parent with memory.max and swap off; each child writes a 64 MiB file,
// then mmap-reads it repeatedly. With a 2000 ms delay and threshold 1, a
// test passes when LOW takes at least 1 s longer than HIGH. A failing
// timing test is run again, up to Options.Attempts times, and its earlier
// failures are reported with the result.
//
// Files must live on a real disk: page cache in tmpfs or ramfs cannot be
// reclaimed with swap off, so the parent's limit would OOM-kill instead of
// reclaiming. Run needs root, BPF and cgroup v2; on kernels without
// memcg_bpf_ops every test is reported unsupported, with the reason.
package selftest
