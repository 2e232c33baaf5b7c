//go:build ignore

/* The pressure detector: counts the page faults of HIGH cgroups in a
 * sliding window, from the memcg:count_memcg_events tracepoint, and marks
 * HIGH as under pressure for protect_ns once a window's count exceeds the
 * threshold.
 */
#include "memqos.h"

/* HIGH cgroups by cgroup id (the cgroup directory's inode number). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct high_window);
} high_cgroups SEC(".maps");

/* The tracepoint's record; field offsets are relocated from kernel BTF. */
struct trace_event_raw_memcg_rstat_events {
	__u64 id;
	__s32 item;
	unsigned long val;
} __attribute__((preserve_access_index));

/* window_sum adds val to the current bucket and returns the count of the
 * whole window. Updates race benignly between CPUs: a count can be lost
 * when two CPUs open the same bucket at once, never invented.
 */
static __always_inline __u64 window_sum(struct high_window *w, __u64 now, __u64 window_ns, __u64 val)
{
	__u64 bucket_ns = window_ns / WINDOW_BUCKETS;
	__u64 b, sum = 0;
	__u32 slot, i;

	if (bucket_ns == 0)
		bucket_ns = 1;
	b = now / bucket_ns;
	slot = b & (WINDOW_BUCKETS - 1);
	if (w->epoch[slot] != b) {
		w->epoch[slot] = b;
		w->count[slot] = 0;
	}
	__sync_fetch_and_add(&w->count[slot], val);
	for (i = 0; i < WINDOW_BUCKETS; i++)
		if (b - w->epoch[i] < WINDOW_BUCKETS)
			sum += w->count[i];
	return sum;
}

SEC("tp/memcg/count_memcg_events")
int count_memcg_events(struct trace_event_raw_memcg_rstat_events *ctx)
{
	struct memqos_config *cfg = get_config();
	struct high_window *w;
	struct memqos_state *s;
	__u32 zero = 0;
	__u64 id, now;

	count(CNT_TP_CALLS, 1);
	if (!cfg || ctx->item != (__s32)cfg->pgfault_item)
		return 0;
	id = ctx->id;
	w = bpf_map_lookup_elem(&high_cgroups, &id);
	if (!w)
		return 0;
	count(CNT_TP_HIGH_FAULTS, ctx->val);
	now = bpf_ktime_get_ns();
	if (window_sum(w, now, cfg->window_ns, ctx->val) <= cfg->threshold)
		return 0;
	s = bpf_map_lookup_elem(&state, &zero);
	if (!s)
		return 0;
	s->triggered_until_ns = now + cfg->protect_ns;
	s->last_trigger_ns = now;
	count(CNT_TRIGGERS, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
