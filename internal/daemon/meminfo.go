package daemon

import "github.com/prometheus/procfs"

// memTotal returns MemTotal, in bytes, of the meminfo file of the proc
// file system mounted at procRoot; 0 if it cannot be read.
func memTotal(procRoot string) uint64 {
	fs, err := procfs.NewFS(procRoot)
	if err != nil {
		return 0
	}
	mi, err := fs.Meminfo()
	if err != nil || mi.MemTotalBytes == nil {
		return 0
	}
	return *mi.MemTotalBytes
}
