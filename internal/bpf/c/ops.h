/* The memcg_bpf_ops programs common to both ABIs. The including file
 * defines struct memcg_bpf_ops for its ABI, the delay hook, and the
 * struct_ops maps.
 *
 * Programs take the raw argument array: they never read their arguments,
 * so one body serves both ABIs' signatures.
 */
#include "memqos.h"

/* protect answers below_low or below_min for a HIGH cgroup. */
static __always_inline bool protect(__u32 calls, __u32 active, bool enabled)
{
	count(calls, 1);
	if (!enabled || !triggered())
		return false;
	count(active, 1);
	return true;
}

SEC("struct_ops/below_low")
bool memqos_below_low(__u64 *ctx)
{
	struct memqos_config *cfg = get_config();

	return protect(CNT_LOW_CALLS, CNT_LOW_ACTIVE, cfg && cfg->protect_low);
}

SEC("struct_ops/below_min")
bool memqos_below_min(__u64 *ctx)
{
	struct memqos_config *cfg = get_config();

	return protect(CNT_MIN_CALLS, CNT_MIN_ACTIVE, cfg && cfg->protect_min);
}

/* delay answers the charge-time delay hook for a LOW cgroup. */
static __always_inline __u32 delay(void)
{
	struct memqos_config *cfg = get_config();
	__u32 ms;

	count(CNT_DELAY_CALLS, 1);
	if (!cfg || !cfg->delay_ms || !triggered())
		return 0;
	ms = cfg->delay_ms;
	count(CNT_DELAY_ACTIVE, 1);
	count(CNT_DELAY_MS, ms);
	return ms;
}

char LICENSE[] SEC("license") = "GPL";
