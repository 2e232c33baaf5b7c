package trace

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrUnknownFormat means the input is neither a native trace nor a
	// podman stats file.
	ErrUnknownFormat = errors.New("unknown trace format")
	// ErrNoSamples means the trace has no samples, or none are left after
	// dropping the samples of an exited container.
	ErrNoSamples = errors.New("no samples")
	// ErrMissing means a required field is absent or null.
	ErrMissing = errors.New("missing")
	// ErrNegative means a value that must not be negative is.
	ErrNegative = errors.New("negative value")
	// ErrTimeBackwards means a time is earlier than the one before it.
	ErrTimeBackwards = errors.New("time goes backwards")
	// ErrOutOfRange means a value is too large to represent or outside its
	// allowed range.
	ErrOutOfRange = errors.New("value out of range")
	// ErrBadMemUsage means a podman mem_usage string is malformed.
	ErrBadMemUsage = errors.New("malformed mem_usage")
	// ErrUnknownUnit means a size has a unit this package does not know.
	ErrUnknownUnit = errors.New("unknown unit")
	// ErrUnknownBuiltin means no built-in trace has the requested name.
	ErrUnknownBuiltin = errors.New("unknown builtin trace")
)

// FieldError reports what is wrong with one sample or event.
type FieldError struct {
	// Item is "sample" or "event".
	Item string
	// Index is the position in the input's list, counting from 0.
	Index int
	// Field is the JSON field name; empty when the whole entry is wrong.
	Field string
	// Value is the offending value as JSON text; it may be empty.
	Value string
	// Err is the cause.
	Err error
}

func (e *FieldError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d: ", e.Item, e.Index)
	if e.Field != "" {
		b.WriteString(e.Field)
		if e.Value != "" {
			b.WriteString(" " + e.Value)
		}
		b.WriteString(": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *FieldError) Unwrap() error { return e.Err }

// UnsupportedFormatError means a native trace names a format or version
// that this build does not read.
type UnsupportedFormatError struct {
	// Found is the file's "format" value; empty when the field is absent.
	Found string
}

func (e *UnsupportedFormatError) Error() string {
	if e.Found == "" {
		return fmt.Sprintf("trace has no format field (supported: %q)", FormatVersion)
	}
	return fmt.Sprintf("unsupported trace format %q (supported: %q)", e.Found, FormatVersion)
}
