//go:build ignore

/* The pressure detector: counts the page faults of each HIGH class's
 * member subtrees in a sliding window, from the memcg:count_memcg_events
 * tracepoint (as a BTF-typed raw tracepoint, which passes the memcg), and
 * puts the class under pressure for its hold time once a window's count
 * exceeds its threshold, and, if the class requires it, while the loader
 * has armed it. Each transition into pressure is sent on a ring buffer.
 */
#include "memqos.h"

/* HIGH member cgroups: cgroup id (the cgroup directory's inode number) to
 * class id. A member's whole subtree counts for its class. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u32);
} high_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_CLASSES);
	__type(key, __u32);
	__type(value, struct class_window);
} windows SEC(".maps");

/* armed: nonzero while the loader says the class's memory is contended. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_CLASSES);
	__type(key, __u32);
	__type(value, __u32);
} armed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} triggers SEC(".maps");

/* The kernel types the program walks; offsets are relocated from kernel
 * BTF. */
struct kernfs_node {
	__u64 id;
} __attribute__((preserve_access_index));

struct cgroup {
	struct kernfs_node *kn;
} __attribute__((preserve_access_index));

struct cgroup_subsys_state {
	struct cgroup *cgroup;
	struct cgroup_subsys_state *parent;
} __attribute__((preserve_access_index));

struct mem_cgroup {
	struct cgroup_subsys_state css;
} __attribute__((preserve_access_index));

/* window_add adds val to bucket b of w and returns the count of the
 * buckets b-WINDOW_BUCKETS+1..b. Each bucket is one u64 holding its bucket
 * number and count, replaced with compare-and-swap, so a count is never
 * attributed to another bucket number: the sum holds only events of the
 * current window. It can undercount: a bucket's count saturates at
 * COUNT_MASK, and an update that loses CAS_TRIES races is dropped (and
 * counted as lost). Bucket numbers are compared modulo 2^TAG_BITS, which
 * with buckets of at least 1 ms wraps after 34 years.
 */
static __always_inline __u64 window_add(__u32 id, struct class_window *w, __u64 b, __u64 val)
{
	__u64 tag = b & TAG_MASK, old, new, n, sum = 0;
	__u32 slot = b & (WINDOW_BUCKETS - 1), i;
	bool done = false;

	for (i = 0; i < CAS_TRIES && !done; i++) {
		old = w->bucket[slot];
		n = (old >> COUNT_BITS) == tag ? (old & COUNT_MASK) + val : val;
		if (n > COUNT_MASK)
			n = COUNT_MASK;
		new = tag << COUNT_BITS | n;
		done = __sync_val_compare_and_swap(&w->bucket[slot], old, new) == old;
	}
	if (!done)
		count(id, CNT_LOST, 1);
	for (i = 0; i < WINDOW_BUCKETS; i++) {
		old = w->bucket[i];
		if (((tag - (old >> COUNT_BITS)) & TAG_MASK) < WINDOW_BUCKETS)
			sum += old & COUNT_MASK;
	}
	return sum;
}

/* hold extends class id's pressure to until and reports whether the class
 * was not under pressure at now before: exactly one caller sees each
 * transition. */
static __always_inline bool hold(__u32 id, __u64 now, __u64 until)
{
	struct memqos_state *s = bpf_map_lookup_elem(&class_state, &id);
	__u64 old;
	__u32 i;

	if (!s)
		return false;
	for (i = 0; i < CAS_TRIES; i++) {
		old = s->until_ns;
		if (old >= until)
			return false;
		if (__sync_val_compare_and_swap(&s->until_ns, old, until) == old) {
			s->last_trigger_ns = now;
			return old <= now;
		}
	}
	count(id, CNT_LOST, 1);
	return false;
}

/* class_of returns the class of the nearest registered HIGH member among
 * memcg and its ancestors, or 0. */
static __always_inline __u32 class_of(struct mem_cgroup *memcg)
{
	struct cgroup_subsys_state *css = &memcg->css;
	__u32 i, *cls;
	__u64 cgid;

	for (i = 0; i < MAX_DEPTH && css; i++) {
		cgid = css->cgroup->kn->id;
		cls = bpf_map_lookup_elem(&high_cgroups, &cgid);
		if (cls)
			return *cls;
		css = css->parent;
	}
	return 0;
}

SEC("tp_btf/count_memcg_events")
int memqos_count_memcg_events(__u64 *ctx)
{
	struct mem_cgroup *memcg = (struct mem_cgroup *)ctx[0];
	__s32 item = (__s32)ctx[1];
	__u64 val = ctx[2], now, sum;
	struct memqos_trigger ev = {};
	struct class_window *w;
	struct memqos_class *c;
	__u32 id, *on;

	count(0, CNT_TP_CALLS, 1);
	c = get_class(0);
	if (!c || item != (__s32)c->pgfault_item || !memcg)
		return 0;
	id = class_of(memcg);
	if (id == 0 || id >= MAX_CLASSES)
		return 0;
	c = get_class(id);
	w = bpf_map_lookup_elem(&windows, &id);
	if (!c || !w || c->kind != CLASS_HIGH || c->window_ns < WINDOW_BUCKETS)
		return 0;
	count(id, CNT_TP_HIGH_FAULTS, val);
	now = bpf_ktime_get_ns();
	sum = window_add(id, w, now / (c->window_ns / WINDOW_BUCKETS), val);
	if (sum <= c->threshold)
		return 0;
	if (c->flags & FLAG_REQUIRE_ARMED) {
		on = bpf_map_lookup_elem(&armed, &id);
		if (!on || !*on)
			return 0;
	}
	count(id, CNT_TRIGGERS, 1);
	if (!hold(id, now, now + c->hold_ns))
		return 0;
	ev.class_id = id;
	ev.at_ns = now;
	ev.faults = sum;
	if (bpf_ringbuf_output(&triggers, &ev, sizeof(ev), 0))
		count(id, CNT_EVENTS_LOST, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
