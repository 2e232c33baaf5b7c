package trace

import (
	"fmt"
	"math/big"
	"strings"
)

// maxNumberLen bounds the digits of a size, which is plenty for any real
// size and keeps parsing cheap on hostile input.
const maxNumberLen = 32

// unitBytes maps the units podman may print to their size in bytes:
// decimal (powers of 1000) and binary (powers of 1024).
func unitBytes(unit string) (int64, bool) {
	switch unit {
	case "B":
		return 1, true
	case "kB", "KB":
		return 1e3, true
	case "MB":
		return 1e6, true
	case "GB":
		return 1e9, true
	case "TB":
		return 1e12, true
	case "PB":
		return 1e15, true
	case "KiB":
		return 1 << 10, true
	case "MiB":
		return 1 << 20, true
	case "GiB":
		return 1 << 30, true
	case "TiB":
		return 1 << 40, true
	case "PiB":
		return 1 << 50, true
	}
	return 0, false
}

// parseSize parses a size as podman prints it, such as "185.5MB", "0B" or
// "1.5GiB": a decimal number (digits, optionally a point and more digits)
// directly followed by a unit. The result is exact, rounded half up to a
// whole byte.
func parseSize(s string) (int64, error) {
	if strings.HasPrefix(s, "-") {
		return 0, ErrNegative
	}
	num, unit := splitNumber(s)
	if err := checkNumber(num); err != nil {
		return 0, err
	}
	mult, ok := unitBytes(unit)
	if !ok {
		return 0, fmt.Errorf("%w %q", ErrUnknownUnit, unit)
	}
	return scale(num, mult)
}

// splitNumber splits s after its leading digits and points.
func splitNumber(s string) (num, unit string) {
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

func checkNumber(num string) error {
	switch {
	case num == "":
		return fmt.Errorf("%w: no number", ErrBadMemUsage)
	case len(num) > maxNumberLen:
		return fmt.Errorf("%w: number longer than %d characters", ErrBadMemUsage, maxNumberLen)
	}
	whole, frac, hasPoint := strings.Cut(num, ".")
	if whole == "" || (hasPoint && frac == "") || strings.Contains(frac, ".") {
		return fmt.Errorf("%w: bad number %q", ErrBadMemUsage, num)
	}
	return nil
}

// scale returns num·mult rounded half up; num passed checkNumber.
func scale(num string, mult int64) (int64, error) {
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, fmt.Errorf("%w: bad number %q", ErrBadMemUsage, num)
	}
	r.Mul(r, new(big.Rat).SetInt64(mult))
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if m.Lsh(m, 1).Cmp(r.Denom()) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() {
		return 0, fmt.Errorf("%w: %s does not fit in 63 bits", ErrOutOfRange, num)
	}
	return q.Int64(), nil
}
