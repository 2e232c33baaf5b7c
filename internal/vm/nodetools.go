package vm

import (
	_ "embed"
	"fmt"
	"path/filepath"
	"strings"
)

// nodeToolsVersions is the file scripts/node-tools reads its versions from.
//
//go:embed node-tools.versions
var nodeToolsVersions string

// NodeToolsVersions returns the versions of the Kubernetes node tools
// (keys "containerd", "runc" and "crictl") that scripts/node-tools builds.
func NodeToolsVersions() (map[string]string, error) {
	v := map[string]string{}
	for _, line := range strings.Split(nodeToolsVersions, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, val, ok := strings.Cut(line, "=")
		if !ok || val == "" {
			return nil, fmt.Errorf("node-tools.versions: line %q is not NAME=VERSION", line)
		}
		v[k] = val
	}
	for _, k := range []string{"containerd", "runc", "crictl"} {
		if v[k] == "" {
			return nil, fmt.Errorf("node-tools.versions: no %s version", k)
		}
	}
	return v, nil
}

// NodeToolsDir returns the directory where scripts/node-tools puts the
// static containerd, containerd-shim-runc-v2, ctr, runc and crictl it
// builds: a bin directory below CacheDir named by their versions. It does
// not check that the directory exists.
func NodeToolsDir() (string, error) {
	v, err := NodeToolsVersions()
	if err != nil {
		return "", err
	}
	name := fmt.Sprintf("containerd-%s_runc-%s_crictl-%s", v["containerd"], v["runc"], v["crictl"])
	return filepath.Join(CacheDir(), "node-tools", name, "bin"), nil
}
