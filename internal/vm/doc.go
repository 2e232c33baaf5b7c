// Package vm runs a command inside a throwaway qemu guest: a kernel image,
// an initramfs built on the fly (busybox-static, the files the caller puts
// in, and the kernel's virtio modules when they are not built in), and a
// generated /init that mounts the usual filesystems, runs the command, and
// powers the guest off.
//
// The guest's console streams to the caller. The command's exit status
// comes back over the console in a line tagged with a per-run nonce, and
// the guest's /out directory is an ext4 file system on a raw virtio-blk
// disk, which the host reads with e2fsprogs after qemu stops. A block device
// is used rather than 9p because some kernels (Debian's cloud kernel) have
// no 9p at all; their virtio drivers are loaded from the kernel package's
// modules. The guest syncs /out every few seconds and, when the host is
// about to stop it early (timeout, cancelled context), once more on the
// host's request, so a failed run still brings back what was written.
//
// With Config.Rootfs, the guest boots from a root file system image
// instead (BuildRootfs makes a Debian one with mmdebstrap, cached by its
// package list): the initramfs's /init mounts the image's disk, copies the
// runner's files and the caller's into it, and switches root to it, where
// the same steps follow. qemu opens the image with snapshot=on, so every
// boot starts from the image as built.
//
// The package knows nothing about memqos: the caller decides which files go
// in and what runs.
//
// Errors: a missing kernel or busybox is an *os.PathError (fs.ErrNotExist);
// a guest that runs out of time is a *TimeoutError; a guest kernel panic is
// a *PanicError; qemu exiting with an error is a *QemuError; a guest that
// stops without reporting its command's status is ErrNoStatus. When /out was still copied after such a failure, the
// error is a *PartialOutError that wraps it. A command that ran and exited non-zero is not an error:
// its status is in [Result].
package vm
