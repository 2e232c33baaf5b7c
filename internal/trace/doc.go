// Package trace is the memory-trace file format of memqos and its
// importers. A trace is a named series of memory samples (time offset,
// total bytes, optionally anon/file bytes, memory.events counters and
// memory PSI) plus optional events, as recorded from one workload.
//
// The native format is versioned JSON (FormatVersion), written by Encode
// and read by Decode; docs/trace-format.md describes it. ImportPodman
// reads the resources.json files of podman stats samples. Parse and Load
// detect which of the two a file is. Two real traces are built in
// (BuiltinNames, Builtin), and LoadRef resolves "builtin:NAME" or a path.
// ComputeStats describes a trace (mean, P95, peak, bursts).
//
// The package is pure Go and reads no cgroup files; it never panics on bad
// input. Its errors mean:
//
//   - *UnsupportedFormatError: a native trace of a format or version this
//     build does not read; Found names what the file says.
//   - ErrUnknownFormat: neither a native trace nor podman stats.
//   - *FieldError: one sample or event is wrong; it names the list
//     ("sample" or "event"), the index in the input (from 0), the field and
//     the offending value, and wraps the cause: ErrMissing, ErrNegative,
//     ErrTimeBackwards, ErrOutOfRange, ErrBadMemUsage, ErrUnknownUnit, or
//     a JSON error.
//   - ErrNoSamples: the trace has no samples (left).
//   - ErrUnknownBuiltin: no built-in trace has that name.
//
// Errors that concern the whole file wrap the JSON or I/O error with
// lowercase context. Test for all of them with errors.Is and errors.As.
package trace
