package bpf

// The BPF objects are generated and committed, so that go build needs no
// clang. Regenerating them needs clang and llvm (apt install clang llvm).
// -mcpu=v3 for the compare-and-swap of the fault window (kernel 5.12+).
//go:generate go tool bpf2go -target amd64 -cc clang -cflags "-O2 -g -Wall -Werror -mcpu=v3" -type memqos_class -type memqos_state -type class_window -type memqos_lease detector c/detector.bpf.c
//go:generate go tool bpf2go -target amd64 -cc clang -cflags "-O2 -g -Wall -Werror -mcpu=v3" -no-global-types opsV6 c/ops_v6.bpf.c
//go:generate go tool bpf2go -target amd64 -cc clang -cflags "-O2 -g -Wall -Werror -mcpu=v3" -no-global-types opsV7 c/ops_v7.bpf.c
