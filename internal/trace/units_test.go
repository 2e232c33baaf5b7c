package trace

import (
	"errors"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"0B", 0},
		{"512B", 512},
		{"185.5MB", 185_500_000},
		{"11.96MB", 11_960_000},
		{"2.646MB", 2_646_000},
		{"134.5GB", 134_500_000_000},
		{"1.862GB", 1_862_000_000},
		{"1kB", 1_000},
		{"1.5KB", 1_500},
		{"2TB", 2_000_000_000_000},
		{"1PB", 1_000_000_000_000_000},
		{"1KiB", 1_024},
		{"1.5MiB", 1_572_864},
		{"2GiB", 2_147_483_648},
		{"1TiB", 1 << 40},
		{"1PiB", 1 << 50},
		{"0.1KiB", 102}, // 102.4 rounds down
		{"0.5B", 1},     // halves round up
		{"0.4B", 0},
		{"007MB", 7_000_000},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSize(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("parseSize(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseSizeErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
		msg      string
	}{
		{"empty", "", ErrBadMemUsage, "malformed mem_usage: no number"},
		{"unit only", "MB", ErrBadMemUsage, "malformed mem_usage: no number"},
		{"unknown unit", "12.3XB", ErrUnknownUnit, `unknown unit "XB"`},
		{"no unit", "12.3", ErrUnknownUnit, `unknown unit ""`},
		{"lower-case unit", "12mb", ErrUnknownUnit, `unknown unit "mb"`},
		{"space before unit", "12 MB", ErrUnknownUnit, `unknown unit " MB"`},
		{"exponent", "1e3MB", ErrUnknownUnit, `unknown unit "e3MB"`},
		{"two points", "1.2.3MB", ErrBadMemUsage, `malformed mem_usage: bad number "1.2.3"`},
		{"leading point", ".5MB", ErrBadMemUsage, `malformed mem_usage: bad number ".5"`},
		{"trailing point", "5.MB", ErrBadMemUsage, `malformed mem_usage: bad number "5."`},
		{"negative", "-5MB", ErrNegative, "negative value"},
		{"too long", "123456789012345678901234567890123MB", ErrBadMemUsage, "malformed mem_usage: number longer than 32 characters"},
		{"too large", "10000PB", ErrOutOfRange, "value out of range: 10000 does not fit in 63 bits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseSize(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("parseSize(%q) error = %v, want %v", tt.in, err, tt.want)
			}
			if err.Error() != tt.msg {
				t.Errorf("message = %q, want %q", err, tt.msg)
			}
		})
	}
}

func TestParseMemUsage(t *testing.T) {
	tests := []struct {
		in           string
		usage, limit int64
		err          string
	}{
		{in: "185.5MB / 134.5GB", usage: 185_500_000, limit: 134_500_000_000},
		{in: "0B / 0B"},
		{in: "1GB/2GB", usage: 1e9, limit: 2e9},
		{in: "185.5MB", err: `malformed mem_usage: no "/" between usage and limit`},
		{in: "12.3XB / 1GB", err: `usage: unknown unit "XB"`},
		{in: "1MB / lots", err: "limit: malformed mem_usage: no number"},
		{in: "1MB / 1GB / 2GB", err: `limit: unknown unit "GB / 2GB"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			usage, limit, err := parseMemUsage(tt.in)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || usage != tt.usage || limit != tt.limit {
				t.Errorf("parseMemUsage = %d, %d, %v; want %d, %d", usage, limit, err, tt.usage, tt.limit)
			}
		})
	}
}
