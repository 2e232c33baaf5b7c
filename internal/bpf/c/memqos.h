/* Shared definitions of the memqos detector and memcg_bpf_ops programs.
 * The Go loader mirrors these layouts (bpf2go generates the types from
 * this file's BTF).
 *
 * Everything is keyed by class: a class id in 1..MAX_CLASSES-1 (0 means
 * none). The detector maps a HIGH member cgroup to its class; each
 * struct_ops attachment is loaded with its class id as a constant.
 */
#pragma once
#include "bpf.h"

#define MAX_CLASSES 64

/* Window buckets of the sliding page-fault window: a power of two. */
#define WINDOW_BUCKETS 8

/* A window bucket packs the bucket number it holds (the high TAG_BITS
 * bits, modulo 2^TAG_BITS) and its count (the low COUNT_BITS bits,
 * saturating) into one u64, so that a reader sees both from the same
 * moment and a writer replaces them together with one compare-and-swap.
 */
#define COUNT_BITS 24
#define TAG_BITS (64 - COUNT_BITS)
#define COUNT_MASK ((1ULL << COUNT_BITS) - 1)
#define TAG_MASK ((1ULL << TAG_BITS) - 1)

/* CAS_TRIES bounds the compare-and-swap loops; an update that loses this
 * many races in a row is dropped (counted as CNT_LOST). */
#define CAS_TRIES 8

/* How many ancestors the detector looks at for a HIGH member. */
#define MAX_DEPTH 32

/* Class kinds. */
enum {
	CLASS_NONE = 0,
	CLASS_HIGH = 1,
	CLASS_LOW = 2,
};

/* Class flags. */
enum {
	FLAG_PROTECT_LOW = 1 << 0,    /* below_low answers true under pressure */
	FLAG_PROTECT_MIN = 1 << 1,    /* below_min answers true under pressure */
	FLAG_REQUIRE_ARMED = 1 << 2,  /* trigger only while armed */
};

/* A class's policy, written by the loader; indexed by class id. */
struct memqos_class {
	__u32 kind;         /* CLASS_* */
	__u32 flags;        /* FLAG_* */
	__u64 threshold;    /* HIGH: subtree page faults per window above which the class triggers */
	__u64 window_ns;    /* HIGH: sliding window length */
	__u64 hold_ns;      /* HIGH: how long a trigger lasts */
	__u64 yields_to;    /* LOW: bit i set = slowed while HIGH class i is under pressure */
	__u32 delay_ms;     /* LOW: charge delay while a class it yields to is under pressure */
	__u32 pgfault_item; /* class 0 only: PGFAULT in enum vm_event_item, from kernel BTF */
};

/* A HIGH class's pressure state, written by the detector; indexed by
 * class id. */
struct memqos_state {
	__u64 until_ns;        /* under pressure until then (CLOCK_MONOTONIC) */
	__u64 last_trigger_ns; /* last window that crossed the threshold */
};

/* A HIGH class's sliding window of page faults; indexed by class id. */
struct class_window {
	__u64 bucket[WINDOW_BUCKETS]; /* tag << COUNT_BITS | count */
};

/* A trigger event: a class went from not under pressure to under
 * pressure. */
struct memqos_trigger {
	__u32 class_id;
	__u32 _pad;
	__u64 at_ns;  /* CLOCK_MONOTONIC */
	__u64 faults; /* the window's count that crossed the threshold */
};

/* Counters, per CPU, indexed by class id * CNT_MAX + enum counter. Class
 * 0's row holds the detector's calls. */
enum counter {
	CNT_TP_CALLS,       /* count_memcg_events invocations (class 0 only) */
	CNT_TP_HIGH_FAULTS, /* PGFAULT events in the class's subtree */
	CNT_TRIGGERS,       /* windows that crossed the threshold */
	CNT_LOW_CALLS,      /* below_low calls */
	CNT_LOW_ACTIVE,     /* below_low returned true */
	CNT_MIN_CALLS,      /* below_min calls */
	CNT_MIN_ACTIVE,     /* below_min returned true */
	CNT_DELAY_CALLS,    /* delay hook calls */
	CNT_DELAY_ACTIVE,   /* delay hook returned a delay */
	CNT_DELAY_MS,       /* sum of delays returned, ms */
	CNT_LOST,           /* window or state updates dropped after CAS_TRIES lost races */
	CNT_EVENTS_LOST,    /* trigger events the ring buffer had no room for */
	CNT_LEASE_EXPIRED,  /* hook calls that would have protected or delayed, answered no: the lease expired */
	CNT_MAX,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_CLASSES);
	__type(key, __u32);
	__type(value, struct memqos_class);
} classes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_CLASSES);
	__type(key, __u32);
	__type(value, struct memqos_state);
} class_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_CLASSES * CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* The loader's lease, one entry. While lease_ns is set, the ops protect
 * and delay only while the loader's last heartbeat is at most lease_ns
 * old: a loader that hangs (stopped, deadlocked, stuck on a write) stops
 * renewing it, and the ops fail open. */
struct memqos_lease {
	__u64 heartbeat_ns; /* the loader's last heartbeat (CLOCK_MONOTONIC); 0 = never */
	__u64 lease_ns;     /* how long a heartbeat holds; 0 = no lease: the ops always act */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct memqos_lease);
} lease SEC(".maps");

static __always_inline void count(__u32 class_id, __u32 idx, __u64 n)
{
	__u32 key = class_id * CNT_MAX + idx;
	__u64 *c = bpf_map_lookup_elem(&counters, &key);

	if (c)
		*c += n;
}

static __always_inline struct memqos_class *get_class(__u32 class_id)
{
	return bpf_map_lookup_elem(&classes, &class_id);
}

/* under_pressure reports whether HIGH class class_id is under pressure at
 * now. */
static __always_inline bool under_pressure(__u32 class_id, __u64 now)
{
	struct memqos_state *s = bpf_map_lookup_elem(&class_state, &class_id);

	return s && now < s->until_ns;
}

/* lease_expired reports whether the loader set a lease and its last
 * heartbeat is older than the lease at now (or it never beat). A
 * heartbeat a little after now (written on another CPU after now was
 * read) is fresh. */
static __always_inline bool lease_expired(__u64 now)
{
	__u32 key = 0;
	struct memqos_lease *l = bpf_map_lookup_elem(&lease, &key);
	__u64 hb, len;

	if (!l)
		return false;
	len = l->lease_ns;
	hb = l->heartbeat_ns;
	if (!len)
		return false;
	return !hb || (__s64)(now - hb) > (__s64)len;
}
