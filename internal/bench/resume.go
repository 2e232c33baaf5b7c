package bench

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// Lab is the machine a bench ran on when memqos ran it in qemu guests
// (memqos bench --vm).
type Lab struct {
	// Accel is qemu's accelerator, "tcg" or "kvm"; TCG is its threading
	// with tcg: "single" (one host thread for every vCPU) or "multi" (a
	// host thread per vCPU).
	Accel string `json:"accel"`
	TCG   string `json:"tcg,omitempty"`
	CPUs  int    `json:"cpus"`
	// Kernel is the guest kernel image's file name.
	Kernel string `json:"kernel_image"`
	// Boots is how many guests ran the bench: one, plus one for each
	// resume after a guest crashed.
	Boots int `json:"boots"`
	// HeldProbes is the number of no-op probes held on
	// memcg:count_memcg_events for the whole bench (Options.HoldTracepoint).
	HeldProbes int `json:"held_probes,omitempty"`
}

// DiscardedArm is an arm begun but never finished because the guest that
// ran it crashed. A resumed bench does not run it again, so its run has no
// result for it.
type DiscardedArm struct {
	Run  int    `json:"run"`
	Name string `json:"name"`
	// Why is what ended the guest, as the host saw it.
	Why string `json:"why"`
}

// discardedSuffix is added to the directory of a discarded arm, which
// keeps what the arm had written (its daemon's log, for one) out of the
// results.
const discardedSuffix = ".discarded"

// Recovery is the state of a results directory after its guest crashed.
type Recovery struct {
	// Started is true when the bench had written its manifest, so that a
	// fresh guest can resume it (Options.Resume); false when the guest
	// crashed before, and the bench must start over.
	Started bool
	// Done counts the arms with results.
	Done int
	// Discarded are the arms this recovery discarded.
	Discarded []DiscardedArm
}

// Recover readies dir, the results directory of a bench whose guest
// crashed (why says how), for a fresh guest to resume: every arm begun but
// not finished (its directory holds no valid arm.json) is moved aside to
// runs/RUN/ARM.discarded and listed in the manifest's Discarded. It only
// reads and moves files; a directory with no manifest is left as it is.
func Recover(dir, why string) (Recovery, error) {
	mpath := filepath.Join(dir, ManifestFile)
	var m Manifest
	if err := readJSON(mpath, &m); errors.Is(err, fs.ErrNotExist) {
		return Recovery{}, nil
	} else if err != nil {
		return Recovery{}, fmt.Errorf("recover %s: %w", dir, err)
	}
	rec := Recovery{Started: true}
	dirs, err := filepath.Glob(filepath.Join(dir, RunsDir, "*", "*"))
	if err != nil {
		return rec, err
	}
	for _, d := range dirs {
		run, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		name := filepath.Base(d)
		if err != nil || !slices.Contains(m.Arms, name) {
			continue // ARM.discarded, or not an arm
		}
		if armDone(d) {
			rec.Done++
			continue
		}
		if err := os.Rename(d, d+discardedSuffix); err != nil {
			return rec, fmt.Errorf("discard arm %s of run %d: %w", name, run, err)
		}
		rec.Discarded = append(rec.Discarded, DiscardedArm{Run: run, Name: name, Why: why})
	}
	if len(rec.Discarded) == 0 {
		return rec, nil
	}
	m.Discarded = append(m.Discarded, rec.Discarded...)
	return rec, writeJSON(mpath, m)
}

// armDone reports whether the arm directory d holds a valid arm.json: one
// that a crash did not leave empty or truncated.
func armDone(d string) bool {
	var a Arm
	return readJSON(filepath.Join(d, ArmFile), &a) == nil && a.Format == ArmFormat
}

// SetLab records lab in the manifest of the results directory dir.
func SetLab(dir string, lab Lab) error {
	mpath := filepath.Join(dir, ManifestFile)
	var m Manifest
	if err := readJSON(mpath, &m); err != nil {
		return err
	}
	m.Lab = &lab
	return writeJSON(mpath, m)
}

// armKey names an arm of a run.
type armKey struct {
	run  int
	name string
}

// resumeManifest loads the manifest of the bench that o resumes, after
// recovering its directory, and checks that it is the same bench: the same
// kind, arms, runs and seed, hence the same arm order. It returns the arms
// not to run again: those with results, and those discarded.
func resumeManifest(o Options, names []string) (Manifest, map[armKey]bool, error) {
	if _, err := Recover(o.Out, "unfinished when the bench resumed"); err != nil {
		return Manifest{}, nil, err
	}
	var m Manifest
	if err := readJSON(filepath.Join(o.Out, ManifestFile), &m); err != nil {
		return m, nil, fmt.Errorf("resume: %w", err)
	}
	if m.Format != ManifestFormat || m.Kind != o.Manifest.Kind || !slices.Equal(m.Arms, names) || m.Runs != o.Runs || m.Seed != o.Seed {
		return m, nil, fmt.Errorf("resume %s: it holds a %s bench of arms %v, %d runs, seed %d; this is a %s bench of arms %v, %d runs, seed %d",
			o.Out, m.Kind, m.Arms, m.Runs, m.Seed, o.Manifest.Kind, names, o.Runs, o.Seed)
	}
	skip := map[armKey]bool{}
	for _, d := range m.Discarded {
		skip[armKey{d.Run, d.Name}] = true
	}
	for run := 1; run <= m.Runs; run++ {
		for _, name := range names {
			if armDone(filepath.Join(o.Out, RunsDir, strconv.Itoa(run), name)) {
				skip[armKey{run, name}] = true
			}
		}
	}
	return m, skip, nil
}
