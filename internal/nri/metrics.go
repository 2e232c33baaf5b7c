package nri

import "github.com/prometheus/client_golang/prometheus"

// metrics are the plugin's Prometheus series, served with the daemon's.
type metrics struct {
	connected   prometheus.Gauge
	connections prometheus.Counter
	failures    prometheus.Counter
	pods        *prometheus.GaugeVec
	containers  *prometheus.GaugeVec
	unknown     prometheus.Counter
	events      *prometheus.CounterVec
}

func newMetrics() *metrics {
	return &metrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "memqos_nri_connected",
			Help: "1 while the plugin is connected to the runtime's NRI socket."}),
		connections: prometheus.NewCounter(prometheus.CounterOpts{Name: "memqos_nri_connections_total",
			Help: "Connections made to the runtime (more than one: the runtime restarted)."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "memqos_nri_connect_failures_total",
			Help: "Attempts to connect to the runtime that failed."}),
		pods: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "memqos_nri_pods",
			Help: "Pods the runtime runs, by the class they got (\"\" for none) and the rule that gave it."}, []string{"class", "rule"}),
		containers: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "memqos_nri_containers",
			Help: "Containers assigned to a class."}, []string{"class"}),
		unknown: prometheus.NewCounter(prometheus.CounterOpts{Name: "memqos_nri_unknown_class_total",
			Help: "Pods whose class annotation named a class the configuration does not have."}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "memqos_nri_events_total",
			Help: "Runtime events the plugin handled, by kind."}, []string{"event"}),
	}
}

func (m *metrics) event(kind string) { m.events.WithLabelValues(kind).Inc() }

// Collectors returns the plugin's metrics, for the daemon's registry.
func (p *Plugin) Collectors() []prometheus.Collector {
	m := p.m
	return []prometheus.Collector{m.connected, m.connections, m.failures, m.pods, m.containers, m.unknown, m.events}
}
