package nri

import (
	"fmt"
	"path"
	"strings"
)

// CgroupPath returns the cgroup of a container, relative to the cgroup v2
// mount, from the cgroups path the runtime gave runc: an absolute path
// (cgroupfs driver: /kubepods/burstable/pod<uid>/<id>) or systemd's
// "slice:prefix:name" (kubepods-burstable-pod<uid>.slice:cri-containerd:<id>),
// which systemd lays out as nested slices and a scope.
func CgroupPath(cgroupsPath string) (string, error) {
	if cgroupsPath == "" {
		return "", fmt.Errorf("the container has no cgroups path")
	}
	if strings.HasPrefix(cgroupsPath, "/") {
		return path.Clean(cgroupsPath), nil
	}
	parts := strings.Split(cgroupsPath, ":")
	if len(parts) != 3 || parts[2] == "" {
		return "", fmt.Errorf("cgroups path %q is neither absolute nor systemd's slice:prefix:name", cgroupsPath)
	}
	dir, err := expandSlice(parts[0])
	if err != nil {
		return "", err
	}
	scope := parts[2]
	if parts[1] != "" {
		scope = parts[1] + "-" + parts[2]
	}
	if !strings.HasSuffix(scope, ".slice") {
		scope += ".scope"
	}
	return path.Join(dir, scope), nil
}

// expandSlice returns the path of a systemd slice: a-b-c.slice is
// /a.slice/a-b.slice/a-b-c.slice; "" and -.slice are the root.
func expandSlice(slice string) (string, error) {
	if slice == "" || slice == "-.slice" {
		return "/", nil
	}
	name, ok := strings.CutSuffix(slice, ".slice")
	if !ok || name == "" || strings.Contains(name, "/") || strings.HasPrefix(name, "-") ||
		strings.HasSuffix(name, "-") || strings.Contains(name, "--") {
		return "", fmt.Errorf("%q is not a systemd slice name", slice)
	}
	out, prefix := "/", ""
	for _, el := range strings.Split(name, "-") {
		prefix += el
		out = path.Join(out, prefix+".slice")
		prefix += "-"
	}
	return out, nil
}
