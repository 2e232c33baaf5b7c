package testutil

import (
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/memqos/memqos/internal/cgroup"
)

// Kube means a Kubernetes node's container runtime can run here:
// containerd, containerd-shim-runc-v2, ctr, runc and crictl are on PATH,
// podman works (it builds the pods' image, see SandboxImage), and the test
// runs as root on cgroup v2. The guest suite promises it in its Debian
// rootfs guests, with the binaries of scripts/node-tools on PATH, where it
// runs the tests named TestRealKube* (see internal/testutil/kubenode).
const Kube Feature = "kube"

// KubeTools are the binaries the Kube feature needs on PATH.
var KubeTools = []string{"containerd", "containerd-shim-runc-v2", "ctr", "runc", "crictl"}

func probeKube() error {
	var missing []error
	for _, bin := range KubeTools {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, err)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w (scripts/node-tools builds them)", errors.Join(missing...))
	}
	if os.Geteuid() != 0 {
		return errors.New("not running as root")
	}
	if _, err := cgroup.Open(""); err != nil {
		return err
	}
	return probePodman()
}
