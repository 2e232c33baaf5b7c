//go:build ignore

/* memcg_bpf_ops for the RFC v6 ABI: the delay hook is get_high_delay_ms. */
#include "ops.h"

struct mem_cgroup;

struct memcg_bpf_ops {
	void (*handle_cgroup_online)(struct mem_cgroup *memcg);
	void (*handle_cgroup_offline)(struct mem_cgroup *memcg);
	bool (*below_low)(struct mem_cgroup *memcg);
	bool (*below_min)(struct mem_cgroup *memcg);
	unsigned int (*get_high_delay_ms)(struct mem_cgroup *memcg);
};

SEC("struct_ops/get_high_delay_ms")
unsigned int memqos_delay(__u64 *ctx)
{
	return delay();
}

SEC(".struct_ops.link")
struct memcg_bpf_ops memqos_high_ops = {
	.below_low = (void *)memqos_below_low,
	.below_min = (void *)memqos_below_min,
};

SEC(".struct_ops.link")
struct memcg_bpf_ops memqos_low_ops = {
	.get_high_delay_ms = (void *)memqos_delay,
};
