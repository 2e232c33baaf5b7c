/* The memcg_bpf_ops programs common to both ABIs. The including file
 * defines struct memcg_bpf_ops for its ABI, the delay hook, and the
 * struct_ops maps.
 *
 * Programs take the raw argument array: they never read their arguments,
 * so one body serves both ABIs' signatures. Each attachment loads its own
 * copy of these programs with class_id set to its class: the programs
 * answer for that class only.
 */
#include "memqos.h"

/* class_id is the class of the cgroup these ops are attached to; the
 * loader sets it before loading (0 = none: every hook answers no). */
volatile const __u32 class_id = 0;

/* protect answers below_low or below_min for a cgroup of HIGH class
 * class_id: true while the class is under pressure, if flag is set, and
 * the loader's lease holds. */
static __always_inline bool protect(__u32 calls, __u32 active, __u32 flag)
{
	__u32 id = class_id;
	struct memqos_class *c;
	__u64 now;

	if (id == 0 || id >= MAX_CLASSES)
		return false;
	count(id, calls, 1);
	c = get_class(id);
	now = bpf_ktime_get_ns();
	if (!c || c->kind != CLASS_HIGH || !(c->flags & flag) || !under_pressure(id, now))
		return false;
	if (lease_expired(now)) {
		count(id, CNT_LEASE_EXPIRED, 1);
		return false;
	}
	count(id, active, 1);
	return true;
}

SEC("struct_ops/below_low")
bool memqos_below_low(__u64 *ctx)
{
	return protect(CNT_LOW_CALLS, CNT_LOW_ACTIVE, FLAG_PROTECT_LOW);
}

SEC("struct_ops/below_min")
bool memqos_below_min(__u64 *ctx)
{
	return protect(CNT_MIN_CALLS, CNT_MIN_ACTIVE, FLAG_PROTECT_MIN);
}

/* any_under_pressure reports whether any HIGH class in mask is under
 * pressure at now. */
static __always_inline bool any_under_pressure(__u64 mask, __u64 now)
{
	__u32 i;

	for (i = 1; i < MAX_CLASSES; i++)
		if ((mask >> i) & 1 && under_pressure(i, now))
			return true;
	return false;
}

/* delay answers the charge-time delay hook for a cgroup of LOW class
 * class_id: the class's delay while any HIGH class it yields to is under
 * pressure and the loader's lease holds, else 0. */
static __always_inline __u32 delay(void)
{
	__u32 id = class_id;
	struct memqos_class *c;
	__u64 now;
	__u32 ms;

	if (id == 0 || id >= MAX_CLASSES)
		return 0;
	count(id, CNT_DELAY_CALLS, 1);
	c = get_class(id);
	now = bpf_ktime_get_ns();
	if (!c || c->kind != CLASS_LOW || !c->delay_ms || !any_under_pressure(c->yields_to, now))
		return 0;
	if (lease_expired(now)) {
		count(id, CNT_LEASE_EXPIRED, 1);
		return 0;
	}
	ms = c->delay_ms;
	count(id, CNT_DELAY_ACTIVE, 1);
	count(id, CNT_DELAY_MS, ms);
	return ms;
}

char LICENSE[] SEC("license") = "GPL";
