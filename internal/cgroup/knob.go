package cgroup

// Set writes value to g's file name, such as memory.high or cpu.weight,
// in one write(2). Errors are *FileError values that say, for example,
// that the file's controller is not enabled for g.
func (g *Group) Set(name, value string) error { return g.write(name, value) }
