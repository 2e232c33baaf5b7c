package daemon

import "context"

// watchTree follows the cgroups created and removed below the root, with
// inotify, and wakes the loop to rescan on each; it returns a function
// that stops it.
func (d *Daemon) watchTree(ctx context.Context) (func(), error) {
	w, err := d.opts.FS.WatchTree(d.root.Name())
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range w.Events() {
			d.wakeLoop()
		}
		if err := w.Err(); err != nil && ctx.Err() == nil {
			d.log.Error("cgroup tree watcher stopped", "root", d.root.Path(), "err", err)
		}
	}()
	return func() { w.Close(); <-done }, nil
}
