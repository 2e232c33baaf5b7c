/* Shared definitions of the memqos detector and memcg_bpf_ops programs.
 * The Go loader mirrors these layouts (bpf2go generates the types from
 * this file's BTF).
 */
#pragma once
#include "bpf.h"

/* Window buckets of the sliding page-fault window: a power of two. */
#define WINDOW_BUCKETS 8

/* Policy configuration, written by the loader; one entry. */
struct memqos_config {
	__u64 threshold;     /* HIGH page faults per window above which HIGH is under pressure */
	__u64 window_ns;     /* sliding window length */
	__u64 protect_ns;    /* how long a trigger lasts */
	__u32 pgfault_item;  /* PGFAULT in enum vm_event_item, from kernel BTF */
	__u32 delay_ms;      /* charge delay for LOW cgroups while triggered */
	__u32 protect_low;   /* below_low returns true while triggered */
	__u32 protect_min;   /* below_min returns true while triggered */
};

/* Pressure state; one entry. */
struct memqos_state {
	__u64 triggered_until_ns; /* protection and delay apply until then */
	__u64 last_trigger_ns;
};

/* Sliding window of one HIGH cgroup's page faults. */
struct high_window {
	__u64 epoch[WINDOW_BUCKETS]; /* bucket number each slot holds */
	__u64 count[WINDOW_BUCKETS];
};

/* Counters, per CPU, indexed by enum counter. */
enum counter {
	CNT_TP_CALLS,       /* count_memcg_events invocations */
	CNT_TP_HIGH_FAULTS, /* PGFAULT events of HIGH cgroups */
	CNT_TRIGGERS,       /* windows that crossed the threshold */
	CNT_LOW_CALLS,      /* below_low calls */
	CNT_LOW_ACTIVE,     /* below_low returned true */
	CNT_MIN_CALLS,      /* below_min calls */
	CNT_MIN_ACTIVE,     /* below_min returned true */
	CNT_DELAY_CALLS,    /* delay hook calls */
	CNT_DELAY_ACTIVE,   /* delay hook returned a delay */
	CNT_DELAY_MS,       /* sum of delays returned, ms */
	CNT_MAX,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct memqos_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct memqos_state);
} state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 idx, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		*c += n;
}

static __always_inline struct memqos_config *get_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&config, &zero);
}

/* triggered reports whether HIGH is under pressure now. */
static __always_inline bool triggered(void)
{
	__u32 zero = 0;
	struct memqos_state *s = bpf_map_lookup_elem(&state, &zero);

	return s && bpf_ktime_get_ns() < s->triggered_until_ns;
}
