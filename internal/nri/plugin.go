package nri

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/containerd/nri/pkg/api"
	"github.com/containerd/nri/pkg/stub"
	"github.com/memqos/memqos/internal/config"
	"github.com/memqos/memqos/internal/daemon"
)

// PluginName is the name memqos registers with the runtime.
const PluginName = "memqos"

// Target is what the plugin needs of the daemon: members assigned to
// classes, one at a time or all at once.
type Target interface {
	Assign(daemon.Assignment)
	Unassign(cgroup string)
	SetAssigned([]daemon.Assignment)
}

// Plugin is memqos's NRI plugin. It keeps the pods and containers the
// runtime told it of, classifies each pod, and keeps the daemon's
// assignments equal to the live containers of classified pods. Its
// handlers never fail a pod: every problem is logged and counted.
type Plugin struct {
	target Target
	log    *slog.Logger
	m      *metrics

	mu   sync.Mutex
	cfg  *config.Config
	pods map[string]*pod       // by sandbox id
	ctrs map[string]*container // by container id
	// unknown are the pods (by sandbox id) whose unknown class was
	// reported, so that a sync or a reload does not count them again.
	unknown map[string]string
}

type pod struct {
	Pod
	decision Decision
}

type container struct {
	podID, name, cgroup string
}

// New returns a plugin for cfg (which must have an nri section) that
// assigns members to t.
func New(cfg *config.Config, t Target, log *slog.Logger) (*Plugin, error) {
	if cfg.NRI == nil {
		return nil, fmt.Errorf("the configuration has no nri section: memqos nri needs one (see docs/kubernetes.md)")
	}
	return &Plugin{target: t, log: log, m: newMetrics(), cfg: cfg,
		pods: map[string]*pod{}, ctrs: map[string]*container{}, unknown: map[string]string{}}, nil
}

// Reload classifies every known pod again with cfg and replaces the
// daemon's assignments. The socket and index take effect at the next
// connection.
func (p *Plugin) Reload(cfg *config.Config) {
	if cfg.NRI == nil {
		p.log.Error("reloaded configuration has no nri section; the plugin keeps the previous classification rules")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg = cfg
	for id, pd := range p.pods {
		pd.decision = p.classify(id, pd.Pod)
	}
	p.syncLocked("configuration reloaded")
}

// Run connects to the runtime's NRI socket and serves its events until
// ctx ends; when the runtime goes away (a restart), it connects again, and
// the runtime's synchronization tells it every pod anew.
func (p *Plugin) Run(ctx context.Context) error {
	backoff := 250 * time.Millisecond
	for ctx.Err() == nil {
		p.mu.Lock()
		n := *p.cfg.NRI
		p.mu.Unlock()
		closed := make(chan struct{})
		var once sync.Once
		s, err := stub.New(p, stub.WithPluginName(PluginName), stub.WithPluginIdx(n.Index),
			stub.WithSocketPath(n.Socket), stub.WithLogger(stubLogger{p.log}),
			stub.WithOnClose(func() { once.Do(func() { close(closed) }) }))
		if err != nil {
			return fmt.Errorf("nri plugin: %w", err)
		}
		if err := s.Start(ctx); err != nil {
			p.m.failures.Inc()
			p.log.Warn("cannot connect to the runtime's NRI socket; trying again", "socket", n.Socket, "in", backoff.String(), "err", err.Error())
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 250 * time.Millisecond
		p.m.connected.Set(1)
		p.m.connections.Inc()
		p.log.Info("connected to the runtime", "socket", n.Socket, "plugin", n.Index+"-"+PluginName)
		select {
		case <-ctx.Done():
			s.Stop()
		case <-closed:
			p.log.Warn("the runtime closed the NRI connection (restarting?); members stay governed until it is back", "socket", n.Socket)
		}
		p.m.connected.Set(0)
	}
	return nil
}

// Synchronize is the runtime's list of every pod and container, when the
// plugin connects: it replaces what the plugin knew.
func (p *Plugin) Synchronize(_ context.Context, pods []*api.PodSandbox, ctrs []*api.Container) ([]*api.ContainerUpdate, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.m.event("synchronize")
	p.pods, p.ctrs = map[string]*pod{}, map[string]*container{}
	for _, sb := range pods {
		p.addPodLocked(sb)
	}
	for id := range p.unknown {
		if p.pods[id] == nil {
			delete(p.unknown, id) // removed while the plugin was away
		}
	}
	for _, c := range ctrs {
		switch c.GetState() {
		case api.ContainerState_CONTAINER_CREATED, api.ContainerState_CONTAINER_RUNNING, api.ContainerState_CONTAINER_PAUSED:
			p.addContainerLocked(c)
		}
	}
	p.syncLocked("synchronized with the runtime")
	return nil, nil
}

// RunPodSandbox classifies a new pod.
func (p *Plugin) RunPodSandbox(_ context.Context, sb *api.PodSandbox) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.m.event("run_pod")
	p.addPodLocked(sb)
	p.countLocked()
	return nil
}

// RemovePodSandbox forgets a pod and any container of it still known.
func (p *Plugin) RemovePodSandbox(_ context.Context, sb *api.PodSandbox) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.m.event("remove_pod")
	for id, c := range p.ctrs {
		if c.podID == sb.GetId() {
			p.removeContainerLocked(id)
		}
	}
	delete(p.pods, sb.GetId())
	delete(p.unknown, sb.GetId())
	p.countLocked()
	return nil
}

// PostCreateContainer assigns a new container of a classified pod to its
// class. Its cgroup may not exist yet (containerd makes it when it starts
// the container); the daemon governs it as soon as it does.
func (p *Plugin) PostCreateContainer(_ context.Context, sb *api.PodSandbox, c *api.Container) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.m.event("create_container")
	if _, ok := p.pods[sb.GetId()]; !ok {
		p.addPodLocked(sb) // the pod started while the plugin was away
	}
	if a, ok := p.addContainerLocked(c); ok {
		p.target.Assign(a)
		p.log.Info("container assigned", "cgroup", a.Cgroup, "class", a.Class, "owner", a.Owner)
	}
	p.countLocked()
	return nil
}

// StopContainer releases a container: its knobs are restored while its
// cgroup still exists.
func (p *Plugin) StopContainer(_ context.Context, _ *api.PodSandbox, c *api.Container) ([]*api.ContainerUpdate, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.m.event("stop_container")
	p.removeContainerLocked(c.GetId())
	p.countLocked()
	return nil, nil
}

// RemoveContainer forgets a container (if StopContainer did not already).
func (p *Plugin) RemoveContainer(_ context.Context, _ *api.PodSandbox, c *api.Container) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.m.event("remove_container")
	p.removeContainerLocked(c.GetId())
	p.countLocked()
	return nil
}

func (p *Plugin) addPodLocked(sb *api.PodSandbox) *pod {
	pd := &pod{Pod: Pod{Namespace: sb.GetNamespace(), Name: sb.GetName(), Annotations: sb.GetAnnotations(),
		CgroupParent: sb.GetLinux().GetCgroupParent()}}
	pd.decision = p.classify(sb.GetId(), pd.Pod)
	p.pods[sb.GetId()] = pd
	return pd
}

// classify classifies the pod id and reports an unknown class, once per
// pod and class name.
func (p *Plugin) classify(id string, pd Pod) Decision {
	d := Classify(p.cfg, pd)
	if d.Unknown == "" {
		delete(p.unknown, id)
	}
	if d.Unknown != "" && p.unknown[id] != d.Unknown {
		p.unknown[id] = d.Unknown
		p.m.unknown.Inc()
		got := "is not governed"
		if d.Class != "" {
			got = fmt.Sprintf("gets class %s by its %s", d.Class, d.Rule)
		}
		p.log.Warn("pod annotation names an unknown class", "event", "unknown_class", "pod", pd.Namespace+"/"+pd.Name,
			"annotation", p.cfg.NRI.ClassAnnotation, "value", d.Unknown, "instead", got)
	}
	p.log.Info("pod classified", "pod", pd.Namespace+"/"+pd.Name, "class", d.Class, "rule", d.Rule, "cgroup_parent", pd.CgroupParent)
	return d
}

// addContainerLocked records a container; if its pod is classified, it
// returns its assignment.
func (p *Plugin) addContainerLocked(c *api.Container) (daemon.Assignment, bool) {
	cg, err := CgroupPath(c.GetLinux().GetCgroupsPath())
	if err != nil {
		p.log.Error("container not governed", "container", c.GetName(), "id", c.GetId(), "err", err.Error())
		return daemon.Assignment{}, false
	}
	ct := &container{podID: c.GetPodSandboxId(), name: c.GetName(), cgroup: cg}
	p.ctrs[c.GetId()] = ct
	return p.assignmentLocked(ct)
}

// assignmentLocked returns c's assignment, if its pod is known and has a
// class.
func (p *Plugin) assignmentLocked(c *container) (daemon.Assignment, bool) {
	pd := p.pods[c.podID]
	if pd == nil || pd.decision.Class == "" {
		return daemon.Assignment{}, false
	}
	return daemon.Assignment{Cgroup: c.cgroup, Class: pd.decision.Class,
		Owner: fmt.Sprintf("pod %s/%s container %s", pd.Namespace, pd.Name, c.name)}, true
}

func (p *Plugin) removeContainerLocked(id string) {
	c, ok := p.ctrs[id]
	if !ok {
		return
	}
	delete(p.ctrs, id)
	if a, ok := p.assignmentLocked(c); ok {
		p.target.Unassign(a.Cgroup)
		p.log.Info("container released", "cgroup", a.Cgroup, "owner", a.Owner)
	}
}

// syncLocked hands the daemon every assignment at once.
func (p *Plugin) syncLocked(why string) {
	var as []daemon.Assignment
	for _, c := range p.ctrs {
		if a, ok := p.assignmentLocked(c); ok {
			as = append(as, a)
		}
	}
	p.target.SetAssigned(as)
	p.countLocked()
	p.log.Info(why, "pods", len(p.pods), "containers", len(p.ctrs), "governed", len(as))
}

// countLocked sets the pod and container gauges.
func (p *Plugin) countLocked() {
	p.m.pods.Reset()
	p.m.containers.Reset()
	for _, c := range p.cfg.Classes {
		p.m.containers.WithLabelValues(c.Name)
	}
	for _, pd := range p.pods {
		p.m.pods.WithLabelValues(pd.decision.Class, string(pd.decision.Rule)).Inc()
	}
	for _, c := range p.ctrs {
		if a, ok := p.assignmentLocked(c); ok {
			p.m.containers.WithLabelValues(a.Class).Inc()
		}
	}
}

// stubLogger sends the NRI stub's logs to slog.
type stubLogger struct{ log *slog.Logger }

func (l stubLogger) Debugf(_ context.Context, f string, a ...any) {
	l.log.Debug(fmt.Sprintf(f, a...), "component", "nri")
}
func (l stubLogger) Infof(_ context.Context, f string, a ...any) {
	l.log.Info(fmt.Sprintf(f, a...), "component", "nri")
}
func (l stubLogger) Warnf(_ context.Context, f string, a ...any) {
	l.log.Warn(fmt.Sprintf(f, a...), "component", "nri")
}
func (l stubLogger) Errorf(_ context.Context, f string, a ...any) {
	l.log.Error(fmt.Sprintf(f, a...), "component", "nri")
}
