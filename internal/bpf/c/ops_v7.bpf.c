//go:build ignore

/* memcg_bpf_ops for the RFC v7 ABI: the delay hook is memcg_charged. */
#include "ops.h"

struct mem_cgroup;

struct memcg_bpf_ops {
	void (*handle_cgroup_online)(struct mem_cgroup *memcg);
	void (*handle_cgroup_offline)(struct mem_cgroup *memcg);
	bool (*below_low)(struct mem_cgroup *memcg, unsigned long elow, unsigned long usage);
	bool (*below_min)(struct mem_cgroup *memcg, unsigned long emin, unsigned long usage);
	unsigned int (*memcg_charged)(struct mem_cgroup *memcg, unsigned int nr_pages);
	void (*memcg_uncharged)(struct mem_cgroup *memcg, unsigned int nr_pages);
};

SEC("struct_ops/memcg_charged")
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
	.memcg_charged = (void *)memqos_delay,
};
