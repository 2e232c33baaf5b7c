// Package kubernetes_test holds the manifests of deploy/kubernetes to
// what memqos's NRI plugin needs on a node. Every document of every
// manifest is decoded strictly into its Kubernetes type (an unknown kind,
// an unknown field or a repeated key fails), and the DaemonSet is checked
// against the configuration its ConfigMap carries: the NRI socket, the
// state file, the metrics port and the --config path must all be where
// the configuration says. Nothing is applied to a cluster.
package kubernetes_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/memqos/memqos/internal/config"
)

// Names the manifests and the checks agree on.
const (
	namespace     = "memqos-system"
	configMapName = "memqos-config"
	daemonSetName = "memqos"
	cgroupMount   = "/sys/fs/cgroup"
	containerfile = "Containerfile"
)

// kinds are the types a manifest may hold, by "apiVersion/kind".
var kinds = map[string]func() any{
	"v1/Namespace":                       func() any { return &corev1.Namespace{} },
	"v1/ConfigMap":                       func() any { return &corev1.ConfigMap{} },
	"v1/Pod":                             func() any { return &corev1.Pod{} },
	"apps/v1/DaemonSet":                  func() any { return &appsv1.DaemonSet{} },
	"scheduling.k8s.io/v1/PriorityClass": func() any { return &schedulingv1.PriorityClass{} },
	"admissionregistration.k8s.io/v1/MutatingAdmissionPolicy": func() any {
		return &admissionv1.MutatingAdmissionPolicy{}
	},
	"admissionregistration.k8s.io/v1/MutatingAdmissionPolicyBinding": func() any {
		return &admissionv1.MutatingAdmissionPolicyBinding{}
	},
}

// decodeAll decodes every YAML document of data into its typed object.
// Documents with nothing but comments are skipped.
func decodeAll(data []byte) ([]any, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []any
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		obj, err := decode(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if obj != nil {
			objs = append(objs, obj)
		}
	}
}

// decode decodes one document strictly into the type its apiVersion and
// kind name; it returns nil for a document with nothing but comments.
func decode(doc []byte) (any, error) {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	if string(bytes.TrimSpace(js)) == "null" {
		return nil, nil
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(js, &head); err != nil {
		return nil, err
	}
	newObj, ok := kinds[head.APIVersion+"/"+head.Kind]
	if !ok {
		return nil, fmt.Errorf("unknown kind %q of apiVersion %q", head.Kind, head.APIVersion)
	}
	obj := newObj()
	if err := unmarshalStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("%s: %w", head.Kind, err)
	}
	return obj, nil
}

// unmarshalStrict decodes a YAML document into obj as the API server
// decodes a strict request: field names match case-sensitively, and an
// unknown or repeated field is an error.
func unmarshalStrict(doc []byte, obj any) error {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(js, obj)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// manifests are the decoded objects of deploy/kubernetes (its YAML files
// and examples/), and its Containerfile.
type manifests struct {
	// files maps each YAML file, relative to deploy/kubernetes, to its
	// objects.
	files         map[string][]any
	containerfile string
}

// load reads and decodes every manifest under dir.
func load(dir string) (*manifests, error) {
	m := &manifests{files: map[string][]any{}}
	for _, pattern := range []string{"*.yaml", "examples/*.yaml"} {
		names, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			rel, _ := filepath.Rel(dir, name)
			data, err := os.ReadFile(name)
			if err != nil {
				return nil, err
			}
			objs, err := decodeAll(data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", rel, err)
			}
			m.files[filepath.ToSlash(rel)] = objs
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, containerfile))
	if err != nil {
		return nil, err
	}
	m.containerfile = string(data)
	return m, nil
}

// all returns the objects of type T in every file, in file name order.
func all[T any](m *manifests) []T {
	names := make([]string, 0, len(m.files))
	for name := range m.files {
		names = append(names, name)
	}
	slices.Sort(names)
	var out []T
	for _, name := range names {
		for _, obj := range m.files[name] {
			if o, ok := obj.(T); ok {
				out = append(out, o)
			}
		}
	}
	return out
}

// one returns the only object of type T named name, or nil.
func one[T interface{ GetName() string }](m *manifests, name string) T {
	var zero T
	for _, o := range all[T](m) {
		if o.GetName() == name {
			return o
		}
	}
	return zero
}

// problems collects what the checks found wrong.
type problems []string

func (p *problems) addf(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

// check returns every way the manifests fail memqos's needs; none means
// they pass.
func check(m *manifests) problems {
	var p problems
	checkOrder(&p, m)
	checkNamespace(&p, m)
	cm := one[*corev1.ConfigMap](m, configMapName)
	ds := one[*appsv1.DaemonSet](m, daemonSetName)
	if cm == nil || ds == nil {
		p.addf("want ConfigMap %s and DaemonSet %s; got %v and %v", configMapName, daemonSetName, cm != nil, ds != nil)
		return p
	}
	for _, meta := range []struct{ kind, ns string }{{"ConfigMap", cm.Namespace}, {"DaemonSet", ds.Namespace}} {
		if meta.ns != namespace {
			p.addf("%s is in namespace %q, not %s", meta.kind, meta.ns, namespace)
		}
	}
	cfg, err := parseConfig(cm)
	if err != nil {
		p.addf("%v", err)
		return p
	}
	checkPod(&p, ds)
	if c := memqosContainer(&p, ds); c != nil {
		bin := checkCommand(&p, ds, c, cm)
		checkHostMounts(&p, ds, c, cfg)
		checkMetrics(&p, ds, c, cfg)
		checkLiveness(&p, c, cfg)
		checkContainerfile(&p, m.containerfile, bin, c.Image)
	}
	checkPolicy(&p, m, cfg)
	checkExamples(&p, m, cfg)
	return p
}

// checkOrder holds `kubectl apply -f deploy/kubernetes/` to creating the
// namespace first: kubectl applies a directory's files in name order.
func checkOrder(p *problems, m *manifests) {
	nsFile := ""
	for name, objs := range m.files {
		for _, o := range objs {
			if n, ok := o.(*corev1.Namespace); ok && n.Name == namespace && !strings.Contains(name, "/") {
				nsFile = name
			}
		}
	}
	if nsFile == "" {
		p.addf("no file of deploy/kubernetes/ creates namespace %s", namespace)
		return
	}
	for name, objs := range m.files {
		for _, o := range objs {
			if ns := objectNamespace(o); ns == namespace && name < nsFile {
				p.addf("%s, with objects in %s, sorts before %s, which creates the namespace", name, namespace, nsFile)
			}
		}
	}
}

func objectNamespace(o any) string {
	if n, ok := o.(interface{ GetNamespace() string }); ok {
		return n.GetNamespace()
	}
	return ""
}

// checkNamespace: the DaemonSet is privileged, uses host PIDs and host
// paths, so its namespace must admit privileged pods.
func checkNamespace(p *problems, m *manifests) {
	ns := one[*corev1.Namespace](m, namespace)
	if ns == nil {
		p.addf("no Namespace %s", namespace)
		return
	}
	if got := ns.Labels["pod-security.kubernetes.io/enforce"]; got != "privileged" {
		p.addf("namespace %s enforces Pod Security %q; the DaemonSet needs privileged", namespace, got)
	}
}

// parseConfig parses the ConfigMap's config.yaml with memqos's own parser;
// it must be an NRI configuration.
func parseConfig(cm *corev1.ConfigMap) (*config.Config, error) {
	doc, ok := cm.Data["config.yaml"]
	if !ok {
		return nil, fmt.Errorf("ConfigMap %s has no key config.yaml", cm.Name)
	}
	cfg, err := config.Parse([]byte(doc))
	if err != nil {
		return nil, fmt.Errorf("ConfigMap %s: config.yaml does not parse: %w", cm.Name, err)
	}
	if cfg.NRI == nil {
		return nil, fmt.Errorf("ConfigMap %s: config.yaml has no nri section", cm.Name)
	}
	return cfg, nil
}

// checkPod holds the pod template to a node agent's needs: host PIDs,
// every node, before other pods, one node at a time on update, and time
// to restore the knobs on SIGTERM.
func checkPod(p *problems, ds *appsv1.DaemonSet) {
	spec := ds.Spec.Template.Spec
	if !spec.HostPID {
		p.addf("hostPID is not true")
	}
	if spec.PriorityClassName != "system-node-critical" {
		p.addf("priorityClassName is %q, not system-node-critical", spec.PriorityClassName)
	}
	if !slices.ContainsFunc(spec.Tolerations, func(t corev1.Toleration) bool {
		return t.Key == "" && t.Operator == corev1.TolerationOpExists && t.Effect == ""
	}) {
		p.addf("no toleration of every taint (operator: Exists, no key, no effect)")
	}
	u := ds.Spec.UpdateStrategy
	if u.Type != appsv1.RollingUpdateDaemonSetStrategyType || u.RollingUpdate == nil ||
		u.RollingUpdate.MaxUnavailable == nil || u.RollingUpdate.MaxUnavailable.String() != "1" {
		p.addf("updateStrategy is not RollingUpdate with maxUnavailable 1")
	}
	if g := spec.TerminationGracePeriodSeconds; g == nil || *g < 30 {
		p.addf("terminationGracePeriodSeconds is under 30: too little time to restore the knobs")
	}
	sel := ds.Spec.Selector
	if sel == nil || len(sel.MatchLabels) == 0 {
		p.addf("the selector has no matchLabels")
		return
	}
	for k, v := range sel.MatchLabels {
		if ds.Spec.Template.Labels[k] != v {
			p.addf("the pod template lacks the selector's label %s=%s", k, v)
		}
	}
}

// memqosContainer returns the DaemonSet's only container, which must be
// privileged, or nil.
func memqosContainer(p *problems, ds *appsv1.DaemonSet) *corev1.Container {
	cs := ds.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		p.addf("want one container; got %d", len(cs))
		return nil
	}
	c := &cs[0]
	if sc := c.SecurityContext; sc == nil || sc.Privileged == nil || !*sc.Privileged {
		p.addf("container %s is not privileged", c.Name)
	}
	r := c.Resources
	for _, q := range []struct {
		what string
		set  bool
	}{
		{"requests.cpu", !r.Requests.Cpu().IsZero()}, {"requests.memory", !r.Requests.Memory().IsZero()},
		{"limits.memory", !r.Limits.Memory().IsZero()},
	} {
		if !q.set {
			p.addf("container %s has no %s", c.Name, q.what)
		}
	}
	return c
}

// checkCommand holds the command to `memqos nri --config PATH`, with PATH
// a key of the ConfigMap mounted at its directory; it returns the binary.
func checkCommand(p *problems, ds *appsv1.DaemonSet, c *corev1.Container, cm *corev1.ConfigMap) string {
	argv := append(slices.Clone(c.Command), c.Args...)
	if len(argv) < 2 || path.Base(argv[0]) != "memqos" || !path.IsAbs(argv[0]) || argv[1] != "nri" {
		p.addf("the command %q is not /PATH/memqos nri ...", argv)
		return ""
	}
	cfgPath := ""
	for i, a := range argv {
		if a == "--config" && i+1 < len(argv) {
			cfgPath = argv[i+1]
		} else if v, ok := strings.CutPrefix(a, "--config="); ok {
			cfgPath = v
		}
	}
	if !path.IsAbs(cfgPath) {
		p.addf("the command %q has no --config with an absolute path", argv)
		return argv[0]
	}
	m, v := mountAt(ds, c, path.Dir(cfgPath))
	switch {
	case m == nil:
		p.addf("no volume mount at %s, the directory of --config %s", path.Dir(cfgPath), cfgPath)
	case v.ConfigMap == nil || v.ConfigMap.Name != cm.Name:
		p.addf("the volume at %s is not ConfigMap %s", m.MountPath, cm.Name)
	case !configMapHas(cm, v.ConfigMap, path.Base(cfgPath)):
		p.addf("ConfigMap %s mounted at %s has no file %s (--config %s)", cm.Name, m.MountPath, path.Base(cfgPath), cfgPath)
	}
	return argv[0]
}

// configMapHas reports whether the ConfigMap volume src of cm holds a file
// named file.
func configMapHas(cm *corev1.ConfigMap, src *corev1.ConfigMapVolumeSource, file string) bool {
	if len(src.Items) == 0 {
		_, ok := cm.Data[file]
		return ok
	}
	for _, it := range src.Items {
		if _, ok := cm.Data[it.Key]; ok && it.Path == file {
			return true
		}
	}
	return false
}

// mountAt returns the container's volume mount at dir (without subPath)
// and its volume, or nils.
func mountAt(ds *appsv1.DaemonSet, c *corev1.Container, dir string) (*corev1.VolumeMount, *corev1.Volume) {
	for i, m := range c.VolumeMounts {
		if path.Clean(m.MountPath) != path.Clean(dir) || m.SubPath != "" {
			continue
		}
		for j, v := range ds.Spec.Template.Spec.Volumes {
			if v.Name == m.Name {
				return &c.VolumeMounts[i], &ds.Spec.Template.Spec.Volumes[j]
			}
		}
		return &c.VolumeMounts[i], &corev1.Volume{Name: m.Name}
	}
	return nil, nil
}

// checkHostMounts: the host's cgroup2 mount, read-write, at the same
// path; the NRI socket's directory where the config's nri.socket is, from
// a host directory that must exist; the state file's directory, read-write,
// from a host directory that outlives the pod.
func checkHostMounts(p *problems, ds *appsv1.DaemonSet, c *corev1.Container, cfg *config.Config) {
	mounts := []struct {
		what, dir, host string
		types           []corev1.HostPathType
		writable        bool
	}{
		{"the host's cgroup v2 mount", cgroupMount, cgroupMount, []corev1.HostPathType{corev1.HostPathDirectory}, true},
		{"the NRI socket's directory (nri.socket " + cfg.NRI.Socket + ")", path.Dir(cfg.NRI.Socket), "",
			[]corev1.HostPathType{corev1.HostPathDirectory}, false},
		{"the state file's directory (state " + cfg.State + ")", path.Dir(cfg.State), "",
			[]corev1.HostPathType{corev1.HostPathDirectory, corev1.HostPathDirectoryOrCreate}, true},
	}
	for _, want := range mounts {
		m, v := mountAt(ds, c, want.dir)
		switch {
		case m == nil:
			p.addf("no volume mount at %s for %s", want.dir, want.what)
		case v.HostPath == nil:
			p.addf("the volume at %s (%s) is not a hostPath", want.dir, want.what)
		case want.host != "" && path.Clean(v.HostPath.Path) != want.host:
			p.addf("the volume at %s is the host's %s, not %s", want.dir, v.HostPath.Path, want.host)
		case v.HostPath.Type == nil || !slices.Contains(want.types, *v.HostPath.Type):
			p.addf("the hostPath at %s (%s) has type %q; want one of %q", want.dir, want.what, hostPathType(v.HostPath), want.types)
		case want.writable && m.ReadOnly:
			p.addf("%s is mounted read-only at %s", want.what, want.dir)
		}
	}
}

// hostPathType returns a hostPath's type, "" if unset.
func hostPathType(h *corev1.HostPathVolumeSource) corev1.HostPathType {
	if h.Type == nil {
		return ""
	}
	return *h.Type
}

// checkMetrics holds the container port, the probes and the Prometheus
// annotations to the config's metrics.listen, which must listen on the
// pod's IP.
func checkMetrics(p *problems, ds *appsv1.DaemonSet, c *corev1.Container, cfg *config.Config) {
	host, portStr, err := net.SplitHostPort(cfg.Metrics.Listen)
	port, perr := strconv.Atoi(portStr)
	if err != nil || perr != nil {
		p.addf("metrics.listen %q is not host:port", cfg.Metrics.Listen)
		return
	}
	if host != "" && host != "0.0.0.0" && host != "::" {
		p.addf("metrics.listen %s listens on %s only; the kubelet's probes and Prometheus reach the pod's IP", cfg.Metrics.Listen, host)
	}
	if !slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool {
		return cp.Name == "metrics" && int(cp.ContainerPort) == port && (cp.Protocol == "" || cp.Protocol == corev1.ProtocolTCP)
	}) {
		p.addf("no TCP containerPort named metrics with port %d (metrics.listen %s)", port, cfg.Metrics.Listen)
	}
	for _, pr := range []struct {
		what  string
		probe *corev1.Probe
	}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}} {
		if pr.probe == nil || pr.probe.HTTPGet == nil {
			p.addf("no %s with httpGet", pr.what)
			continue
		}
		g := pr.probe.HTTPGet
		if g.Path != "/healthz" || resolvePort(c, g.Port.String()) != port {
			p.addf("%s gets %s on port %s; want /healthz on %d", pr.what, g.Path, g.Port.String(), port)
		}
	}
	want := map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": portStr, "prometheus.io/path": "/metrics"}
	for k, v := range want {
		if got := ds.Spec.Template.Annotations[k]; got != v {
			p.addf("pod annotation %s is %q; want %q", k, got, v)
		}
	}
}

// checkLiveness holds the liveness probe to restarting a hung daemon:
// /healthz fails once the control loop has not renewed its lease for
// longer than the config's lease, and the probe must then restart the
// container soon (within 30 s of failures), but not on one slow turn
// (it fails for at least twice the lease first). A startup probe keeps
// it from killing a daemon that is still starting.
func checkLiveness(p *problems, c *corev1.Container, cfg *config.Config) {
	pr := c.LivenessProbe
	if pr == nil {
		return // checkMetrics says so
	}
	period, threshold, timeout := orDefault(pr.PeriodSeconds, 10), orDefault(pr.FailureThreshold, 3), orDefault(pr.TimeoutSeconds, 1)
	window := time.Duration(period*threshold) * time.Second
	if window > 30*time.Second {
		p.addf("livenessProbe restarts a hung daemon after %v of failures (periodSeconds %d × failureThreshold %d); want at most 30s", window, period, threshold)
	}
	if window < 2*cfg.Lease.D() {
		p.addf("livenessProbe restarts after %v of failures; want at least twice the lease %v, so that one slow turn does not", window, cfg.Lease.D())
	}
	if timeout >= period {
		p.addf("livenessProbe timeoutSeconds %d is not below periodSeconds %d", timeout, period)
	}
	if pr.InitialDelaySeconds > 0 {
		p.addf("livenessProbe waits initialDelaySeconds %d; the startupProbe holds it off until the daemon runs", pr.InitialDelaySeconds)
	}
	if sp := c.StartupProbe; sp != nil {
		if start := time.Duration(orDefault(sp.PeriodSeconds, 10)*orDefault(sp.FailureThreshold, 3)) * time.Second; start < 2*time.Minute {
			p.addf("startupProbe gives the daemon %v to start; want at least 2m (a restart restores knobs and attaches every member's ops first)", start)
		}
	}
}

// orDefault is v, or Kubernetes's default d where v is unset.
func orDefault(v, d int32) int32 {
	if v == 0 {
		return d
	}
	return v
}

// resolvePort returns the number of a probe's port, given by number or by
// the name of a container port; -1 if it names none.
func resolvePort(c *corev1.Container, port string) int {
	if n, err := strconv.Atoi(port); err == nil {
		return n
	}
	for _, cp := range c.Ports {
		if cp.Name == port {
			return int(cp.ContainerPort)
		}
	}
	return -1
}

// checkContainerfile: the image is a static memqos (CGO_ENABLED=0) built
// from ./cmd/memqos and copied into a scratch image at the command's path,
// and the file says how to build the image the DaemonSet runs.
func checkContainerfile(p *problems, text, bin, image string) {
	var froms, copies []string
	build := false
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, strings.Join(f[1:], " "))
		case "COPY":
			if strings.HasPrefix(f[1], "--from=") {
				copies = append(copies, f[len(f)-1])
			}
		case "RUN":
			build = build || strings.Contains(line, "go build") && strings.Contains(line, "./cmd/memqos")
		}
	}
	if !strings.Contains(text, "CGO_ENABLED=0") || !build {
		p.addf("%s does not build ./cmd/memqos with CGO_ENABLED=0", containerfile)
	}
	if len(froms) < 2 || froms[len(froms)-1] != "scratch" {
		p.addf("%s's last stage is %q, not FROM scratch after a build stage", containerfile, froms)
	}
	if !slices.Contains(copies, bin) {
		p.addf("%s copies the binary to %q, not to the command's %s", containerfile, copies, bin)
	}
	if !strings.Contains(text, "-t "+image+" ") {
		p.addf("%s does not say how to build the DaemonSet's image %s (-t %s)", containerfile, image, image)
	}
}

// checkPolicy: the admission policy, if any, copies spec.priorityClassName
// into the config's priority annotation on pod creation, and is bound.
func checkPolicy(p *problems, m *manifests, cfg *config.Config) {
	for _, pol := range all[*admissionv1.MutatingAdmissionPolicy](m) {
		mc := pol.Spec.MatchConstraints
		if mc == nil || !slices.ContainsFunc(mc.ResourceRules, func(r admissionv1.NamedRuleWithOperations) bool {
			return slices.Contains(r.Resources, "pods") && slices.Contains(r.Operations, admissionv1.Create)
		}) {
			p.addf("MutatingAdmissionPolicy %s does not match pod CREATE", pol.Name)
		}
		copies := slices.ContainsFunc(pol.Spec.Mutations, func(mu admissionv1.Mutation) bool {
			return mu.ApplyConfiguration != nil &&
				strings.Contains(mu.ApplyConfiguration.Expression, strconv.Quote(cfg.NRI.PriorityAnnotation)) &&
				strings.Contains(mu.ApplyConfiguration.Expression, "object.spec.priorityClassName")
		})
		if !copies {
			p.addf("MutatingAdmissionPolicy %s does not copy object.spec.priorityClassName into annotation %s (nri.priority_annotation)",
				pol.Name, cfg.NRI.PriorityAnnotation)
		}
		if !slices.ContainsFunc(all[*admissionv1.MutatingAdmissionPolicyBinding](m), func(b *admissionv1.MutatingAdmissionPolicyBinding) bool {
			return b.Spec.PolicyName == pol.Name
		}) {
			p.addf("MutatingAdmissionPolicy %s has no binding", pol.Name)
		}
	}
}

// checkExamples: the example priority classes are the ones the config
// maps, and the example pods' annotations name classes the config has.
func checkExamples(p *problems, m *manifests, cfg *config.Config) {
	mapped := map[string]bool{}
	for _, pc := range cfg.NRI.PriorityClasses {
		mapped[pc.Name] = true
	}
	for _, pc := range all[*schedulingv1.PriorityClass](m) {
		if !mapped[pc.Name] {
			p.addf("example PriorityClass %s is not in nri.priority_classes", pc.Name)
		}
	}
	for _, pod := range all[*corev1.Pod](m) {
		if class, ok := pod.Annotations[cfg.NRI.ClassAnnotation]; ok && cfg.Class(class) == nil {
			p.addf("example pod %s: annotation %s=%s is not a class of the config", pod.Name, cfg.NRI.ClassAnnotation, class)
		}
		pc, ok := pod.Annotations[cfg.NRI.PriorityAnnotation]
		if ok && (!mapped[pc] || pc != pod.Spec.PriorityClassName) {
			p.addf("example pod %s: annotation %s=%s is not its mapped priority class %q", pod.Name, cfg.NRI.PriorityAnnotation, pc, pod.Spec.PriorityClassName)
		}
		if !ok && pod.Annotations[cfg.NRI.ClassAnnotation] == "" {
			p.addf("example pod %s has neither %s nor %s", pod.Name, cfg.NRI.ClassAnnotation, cfg.NRI.PriorityAnnotation)
		}
	}
}
