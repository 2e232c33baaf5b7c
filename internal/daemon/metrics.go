package daemon

import (
	"time"

	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/policy"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the daemon's Prometheus series. Per-member series are
// deleted when the member goes, so churn does not grow the registry.
type metrics struct {
	reg          *prometheus.Registry
	usage        *prometheus.GaugeVec
	high         *prometheus.GaugeVec
	protected    *prometheus.GaugeVec
	members      *prometheus.GaugeVec
	applied      *prometheus.CounterVec
	removed      *prometheus.CounterVec
	pressure     *prometheus.GaugeVec
	contended    prometheus.Gauge
	contendedN   prometheus.Counter
	hooks        prometheus.Gauge
	triggers     *prometheus.CounterVec
	backendCount *prometheus.GaugeVec
	delay        *prometheus.GaugeVec
	reaction     *prometheus.HistogramVec
	escalations  *prometheus.CounterVec
	writes       *prometheus.CounterVec
	rootUsage    prometheus.Gauge
	rootLimit    prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		usage: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "memqos_member_memory_usage_bytes",
			Help: "memory.current of a member cgroup."}, []string{"class", "member"}),
		high: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "memqos_member_memory_high_bytes",
			Help: "memory.high in force for a member cgroup (+Inf for max)."}, []string{"class", "member"}),
		protected: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "memqos_member_frozen",
			Help: "1 if a member cgroup is frozen."}, []string{"class", "member"}),
		members: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "memqos_class_members",
			Help: "Member cgroups a class governs now."}, []string{"class"}),
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "memqos_class_members_added_total",
			Help: "Member cgroups that got their class's policy."}, []string{"class"}),
		removed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "memqos_class_members_removed_total",
			Help: "Member cgroups released (removed, or no longer matching)."}, []string{"class"}),
		pressure: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "memqos_class_pressure",
			Help: "1 while a HIGH class is under pressure."}, []string{"class"}),
		contended: prometheus.NewGauge(prometheus.GaugeOpts{Name: "memqos_contended",
			Help: "1 while free memory under the root is below the headroom."}),
		contendedN: prometheus.NewCounter(prometheus.CounterOpts{Name: "memqos_contended_ticks_total",
			Help: "Control-loop ticks that found memory contended."}),
		hooks: prometheus.NewGauge(prometheus.GaugeOpts{Name: "memqos_kernel_hooks",
			Help: "1 while the policy wants the kernel's charge-path hooks in place (contention near, or within the linger): with backend structops, members' memcg_bpf_ops are attached then."}),
		triggers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "memqos_class_pressure_triggers_total",
			Help: "Pressure triggers the detector reported for a HIGH class."}, []string{"class"}),
		backendCount: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "memqos_class_backend_counter",
			Help: "The backend's counters for a class (BPF hook calls, active returns, delay requested in ms, faults, triggers)."},
			[]string{"class", "counter"}),
		delay: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "memqos_class_delay_seconds",
			Help: "Charge delay programmed for a LOW class."}, []string{"class"}),
		reaction: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "memqos_reaction_latency_seconds",
			Help:    "From a HIGH class's pressure onset (the detector's trigger) to memqos acting on it.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, []string{"class"}),
		escalations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "memqos_escalations_total",
			Help: "Escalation actions taken on stalled LOW members, and their undoing."}, []string{"class", "action"}),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "memqos_knob_writes_total",
			Help: "Knob writes memqos made, by file."}, []string{"file"}),
		rootUsage: prometheus.NewGauge(prometheus.GaugeOpts{Name: "memqos_root_memory_usage_bytes",
			Help: "memory.current of the root memqos owns."}),
		rootLimit: prometheus.NewGauge(prometheus.GaugeOpts{Name: "memqos_root_memory_limit_bytes",
			Help: "The root's effective memory limit."}),
	}
	m.reg.MustRegister(m.usage, m.high, m.protected, m.members, m.applied, m.removed, m.pressure, m.contended, m.contendedN, m.hooks,
		m.triggers, m.backendCount, m.delay, m.reaction, m.escalations, m.writes, m.rootUsage, m.rootLimit)
	return m
}

// declare creates every per-class series at zero, so that /metrics shows
// them before anything happens.
func (m *metrics) declare(cfg *config.Config) {
	for _, c := range cfg.Classes {
		m.members.WithLabelValues(c.Name)
		m.applied.WithLabelValues(c.Name)
		m.removed.WithLabelValues(c.Name)
		if c.Priority == config.High {
			m.pressure.WithLabelValues(c.Name)
			m.triggers.WithLabelValues(c.Name)
			continue
		}
		m.delay.WithLabelValues(c.Name)
		for _, a := range policy.Escalations {
			m.escalations.WithLabelValues(c.Name, string(a))
		}
	}
}

func (m *metrics) memberAdded(class string) {
	m.applied.WithLabelValues(class).Inc()
	m.members.WithLabelValues(class).Inc()
}

func (m *metrics) memberRemoved(class, member string) {
	m.removed.WithLabelValues(class).Inc()
	m.members.WithLabelValues(class).Dec()
	for _, v := range []*prometheus.GaugeVec{m.usage, m.high, m.protected} {
		v.DeleteLabelValues(class, member)
	}
}

func (m *metrics) trigger(class string) { m.triggers.WithLabelValues(class).Inc() }

func (m *metrics) escalation(class, action string) {
	m.escalations.WithLabelValues(class, action).Inc()
}

func (m *metrics) knobWrite(_, file string) { m.writes.WithLabelValues(file).Inc() }

func (m *metrics) reacted(class string, d time.Duration) {
	m.reaction.WithLabelValues(class).Observe(d.Seconds())
}

// Gatherer returns the daemon's metrics registry, for a caller in the same
// process (the bench harness) that reads the counters without HTTP.
func (d *Daemon) Gatherer() prometheus.Gatherer { return d.metrics.reg }
