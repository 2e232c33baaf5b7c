// Package cgroup is the only code in memqos that touches the cgroup v2
// filesystem. It creates and removes groups, enables controllers, sets and
// reads the memory knobs, moves, freezes and kills processes, and starts
// commands directly inside a group.
//
// The hierarchy's root is a field of [FS], so tests can point it at a
// temporary directory tree that imitates cgroupfs.
//
// Errors name the file they concern and wrap the errno. Callers test them
// with errors.Is against:
//
//   - [ErrNotV2]: the root is not a cgroup v2 mount, or the memory controller
//     is bound to a cgroup v1 hierarchy (a v1 or hybrid host);
//   - [ErrControllerNotEnabled]: a controller's file is missing because the
//     parent group does not enable it in cgroup.subtree_control;
//   - [ErrInternalProcess]: EBUSY from cgroup v2's "no internal processes"
//     rule;
//   - [fs.ErrPermission]: the caller may not write the file (needs root or a
//     delegated subtree);
//   - [fs.ErrNotExist]: the group does not exist;
//   - [ErrNotSupported]: the kernel lacks a feature, such as PSI or iocost;
//   - [ErrInvalidTrigger]: a PSI trigger's arguments break the kernel's rules.
//
// [FS.WatchTree], [Group.WatchPressure] and [Group.WatchMemoryEvents] deliver
// kernel notifications (inotify, PSI triggers) on channels, each from its own
// goroutine, until Close.
//
// Methods on [Group] are safe for concurrent use: a Group holds no state but
// its path, and every call is a separate read or write of a cgroup file.
package cgroup
