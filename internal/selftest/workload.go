package selftest

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// WorkloadArgs are the arguments of the child workload: the data file, its
// size in bytes, and how many times to read it through mmap.
func WorkloadArgs(file string, size int64, reads int) []string {
	return []string{file, strconv.FormatInt(size, 10), strconv.Itoa(reads)}
}

// WorkloadMain runs the child workload with WorkloadArgs and prints its
// elapsed time in nanoseconds on stdout. It returns the exit code.
func WorkloadMain(args []string) int {
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: FILE SIZE READS")
		return 2
	}
	size, err1 := strconv.ParseInt(args[1], 10, 64)
	reads, err2 := strconv.Atoi(args[2])
	if err1 != nil || err2 != nil || size <= 0 || reads < 0 {
		fmt.Fprintf(os.Stderr, "bad workload arguments %q\n", args)
		return 2
	}
	start := time.Now()
	if err := writeThenRead(args[0], size, reads); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(time.Since(start).Nanoseconds())
	return 0
}

// writeThenRead writes size bytes to file in 4 KiB writes, then maps it and
// touches every page, reads times.
func writeThenRead(file string, size int64, reads int) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for i := range buf {
		buf[i] = 'A'
	}
	for off := int64(0); off < size; off += int64(len(buf)) {
		if _, err := f.Write(buf[:min(int64(len(buf)), size-off)]); err != nil {
			return fmt.Errorf("write %s: %w", file, err)
		}
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_PRIVATE)
	if err != nil {
		return fmt.Errorf("mmap %s: %w", file, err)
	}
	defer unix.Munmap(m)
	var sum byte
	for r := 0; r < reads; r++ {
		for i := 0; i < len(m); i += 4096 {
			sum += m[i]
		}
	}
	if sum == 1 { // keep the reads from being optimised away
		fmt.Fprint(os.Stderr, "")
	}
	return nil
}
