package optschema

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// cephNumVector is one monitor answer to "ceph config set WHO OPTION V"
// on a Ceph 16.2.15 loopback cluster (scripts/ceph-cluster.sh), with
// "ceph config get" for the accepted ones (what the monitor stores).
type cephNumVector struct {
	in     string
	stored string // "" when refused
	err    string // the monitor's status text when refused (-EINVAL)
	// gomgr marks the values gomgr answers differently, on purpose: "int64"
	// for unsigned values above 2^63-1, which Ceph holds and gomgr's int64
	// options cannot (refused, saying so); for Secs, "fraction" for a
	// decimal fraction of seconds, which gomgr's float Secs options take
	// (Ceph: whole seconds only), and "float" for more seconds than a
	// float64 holds exactly (2^53; refused).
	gomgr string
}

// cephIntVectors: mgr/balancer/upmap_max_deviation (a Python module's int
// option). Its min of 1 is not checked by the Pacific monitor ("-5" is
// stored); gomgr checks bounds separately (violation), so only parsing is
// compared here.
var cephIntVectors = []cephNumVector{
	{in: "010", stored: "10"},
	{in: "0x10", err: "error parsing value: strict_si_cast: unit prefix not recognized"},
	{in: "0o17", err: "error parsing value: strict_si_cast: unit prefix not recognized"},
	{in: "1_000", err: "error parsing value: strict_si_cast: unit prefix not recognized"},
	{in: " 5", err: "error parsing value: strict_si_cast: unit prefix not recognized"},
	{in: "5 ", err: "error parsing value: strict_si_cast: unit prefix not recognized"},
	{in: "10K", stored: "10000"},
	{in: "10k", err: "error parsing value: strict_si_cast: unit prefix not recognized"},
	{in: "10B", err: "error parsing value: Expected option value to be integer, got '10B'"},
	{in: "10KB", err: "error parsing value: Expected option value to be integer, got '10KB'"},
	{in: "10Ki", err: "error parsing value: strict_si_cast: unit prefix not recognized"},
	{in: "1M", stored: "1000000"},
	{in: "1G", stored: "1000000000"},
	{in: "1T", stored: "1000000000000"},
	{in: "1P", stored: "1000000000000000"},
	{in: "1E", stored: "1000000000000000000"},
	{in: "9E", stored: "9000000000000000000"},
	{in: "10E", err: "error parsing value: strict_sistrtoll: value out of range"},
	{in: "-0", stored: "0"},
	{in: "+5", stored: "5"},
	{in: "-5", stored: "-5"},
	{in: "", err: "error parsing value: strict_sistrtoll: value not specified"},
	{in: "K", err: "error parsing value: Expected option value to be integer, got ''"},
	{in: "5KK", err: "error parsing value: Expected option value to be integer, got '5K'"},
	{in: "1e3", err: "error parsing value: strict_si_cast: unit prefix not recognized"},
	{in: "1.5", err: "error parsing value: strict_si_cast: unit prefix not recognized"},
	{in: "9223372036854775807", stored: "9223372036854775807"},
	{in: "9223372036854775808", err: "error parsing value: The option value '9223372036854775808' seems to be invalid"},
	{in: "-9223372036854775808", stored: "-9223372036854775808"},
	{in: "9223372036854775807K", err: "error parsing value: strict_sistrtoll: value out of range"},
	{in: "9223372036854776K", err: "error parsing value: strict_sistrtoll: value out of range"},
	{in: " 5K", stored: "5000"},
	{in: "+", err: "error parsing value: Expected option value to be integer, got '+'"},
	{in: "-", err: "error parsing value: Expected option value to be integer, got '-'"},
}

// cephUintVectors: mgr/balancer/upmap_max_optimizations (uint).
var cephUintVectors = []cephNumVector{
	{in: "-5", err: "error parsing value: strict_sistrtoll: value should not be negative"},
	{in: "-0", stored: "0"},
	{in: "-5K", err: "error parsing value: strict_sistrtoll: value should not be negative"},
	{in: "18E", stored: "18000000000000000000", gomgr: "int64"},
	{in: "19E", err: "error parsing value: strict_sistrtoll: value out of range"},
	{in: "9223372036854775807", stored: "9223372036854775807"},
	{in: "9223372036854775808", err: "error parsing value: The option value '9223372036854775808' seems to be invalid"},
	{in: "5K", stored: "5000"},
	{in: "010", stored: "10"},
}

// cephSizeVectors: rbd_cache_size (a size option, who "client").
var cephSizeVectors = []cephNumVector{
	{in: "010", stored: "10"},
	{in: "4K", stored: "4096"},
	{in: "4k", err: "error parsing value: strict_iecstrtoll: unit prefix not recognized"},
	{in: "4Ki", stored: "4096"},
	{in: "4KB", stored: "4096"},
	{in: "4KiB", err: "error parsing value: strict_iecstrtoll: illegal prefix (length > 2)"},
	{in: "4B", stored: "4"},
	{in: "4BB", stored: "4"},
	{in: "4Bi", err: `error parsing value: strict_iecstrtoll: illegal prefix "Bi"`},
	{in: "4iB", err: "error parsing value: strict_iecstrtoll: unit prefix not recognized"},
	{in: "4KiBB", err: "error parsing value: strict_iecstrtoll: illegal prefix (length > 2)"},
	{in: " 4K", err: "error parsing value: strict_iecstrtoll: illegal prefix (length > 2)"},
	{in: " 4", err: "error parsing value: strict_iecstrtoll: unit prefix not recognized"},
	{in: "4 ", err: "error parsing value: strict_iecstrtoll: unit prefix not recognized"},
	{in: "0x10", err: "error parsing value: strict_iecstrtoll: illegal prefix (length > 2)"},
	{in: "-4", err: "error parsing value: strict_iecstrtoll: value should not be negative"},
	{in: "-0", stored: "0"},
	{in: "+4", stored: "4"},
	{in: "7E", stored: "8070450532247928832"},
	{in: "8E", stored: "9223372036854775808", gomgr: "int64"},
	{in: "8191P", stored: "9222246136947933184"},
	{in: "8192P", stored: "9223372036854775808", gomgr: "int64"},
	{in: "15E", stored: "17293822569102704640", gomgr: "int64"},
	{in: "16E", err: "error parsing value: strict_iecstrtoll: value seems to be too large"},
	{in: "9223372036854775807", stored: "9223372036854775807"},
	{in: "18446744073709551615", err: "error parsing value: The option value '18446744073709551615' seems to be invalid"},
	{in: "", err: "error parsing value: strict_iecstrtoll: value not specified"},
	{in: "K", err: "error parsing value: Expected option value to be integer, got ''"},
	{in: "1.5K", err: "error parsing value: strict_iecstrtoll: illegal prefix (length > 2)"},
	{in: "4MB", stored: "4194304"},
	{in: "4GiB", err: "error parsing value: strict_iecstrtoll: illegal prefix (length > 2)"},
	{in: "4T", stored: "4398046511104"},
	{in: "4P", stored: "4503599627370496"},
	{in: "4X", err: "error parsing value: strict_iecstrtoll: unit prefix not recognized"},
	{in: "4KK", stored: "4096"},
}

// cephSecsVectors: mgr/balancer/sleep_interval (secs).
var cephSecsVectors = []cephNumVector{
	{in: "010", stored: "10"},
	{in: "60", stored: "60"},
	{in: "1.5", err: "error parsing value: unexpected trailing '.5'", gomgr: "fraction"},
	{in: "90s", stored: "90"},
	{in: "5m", stored: "300"},
	{in: "1h", stored: "3600"},
	{in: "2d", stored: "172800"},
	{in: "1w", stored: "604800"},
	{in: "1 h", stored: "3600"},
	{in: "1h 30m", stored: "5400"},
	{in: "1h30m", stored: "5400"},
	{in: " 5", stored: "5"},
	{in: "5 ", stored: "5"},
	{in: "-5", err: "error parsing value: expected digit"},
	{in: "-0", err: "error parsing value: expected digit"},
	{in: "0x10", err: "error parsing value: unrecogized unit 'x'"},
	{in: "1e3", err: "error parsing value: unrecogized unit 'e'"},
	{in: "", stored: "0"},
	{in: "s", err: "error parsing value: expected digit"},
	{in: "5ms", err: "error parsing value: unrecogized unit 'ms'"},
	{in: "5us", err: "error parsing value: unrecogized unit 'us'"},
	{in: "5ns", err: "error parsing value: unrecogized unit 'ns'"},
	{in: "5min", stored: "300"},
	{in: "5sec", stored: "5"},
	{in: "5seconds", stored: "5"},
	{in: "5mo", stored: "12960000"},
	{in: "5y", stored: "157680000"},
	{in: "5hours", stored: "18000"},
	{in: "5M", err: "error parsing value: unrecogized unit 'M'"},
	{in: "1.5h", err: "error parsing value: unexpected trailing '.5h'"},
	{in: "abc", err: "error parsing value: expected digit"},
	{in: "9223372036854775807", stored: "9223372036854775807", gomgr: "float"},
	{in: "9223372036854775808", err: "error parsing value: The option value '9223372036854775808' seems to be invalid"},
}

// TestNumberOptionsParseLikeCeph is review finding 10: Int, Uint, Size
// and Secs options read text as the monitor does (base 10, Ceph's
// suffixes, its errors), where gomgr used strconv.ParseInt(s, 0, 64)
// after trimming (so "010" was 8, "0x10" and " 5" were taken and "10K"
// refused).
func TestNumberOptionsParseLikeCeph(t *testing.T) {
	for _, set := range []struct {
		typ     Type
		vectors []cephNumVector
	}{{Int, cephIntVectors}, {Uint, cephUintVectors}, {Size, cephSizeVectors}, {Secs, cephSecsVectors}} {
		o := &Option{Spec: Spec{Name: "n", Type: set.typ}}
		for _, tc := range set.vectors {
			canon, v, err := o.Validate(tc.in)
			switch {
			case tc.gomgr == "int64":
				require.ErrorContains(t, err, "gomgr holds integer options as int64", "%s %q", set.typ, tc.in)
			case tc.gomgr == "float":
				require.ErrorContains(t, err, "gomgr holds seconds as a float64", "%s %q", set.typ, tc.in)
			case tc.gomgr == "fraction":
				require.NoError(t, err, "%s %q", set.typ, tc.in)
				f, _ := strconv.ParseFloat(tc.in, 64)
				require.Equal(t, f, v)
				require.Equal(t, tc.in, canon)
			case tc.err != "":
				require.EqualError(t, err, tc.err, "%s %q", set.typ, tc.in)
			default:
				require.NoError(t, err, "%s %q", set.typ, tc.in)
				require.Equal(t, tc.stored, canon, "%s %q is stored as the monitor stores it", set.typ, tc.in)
				back, err := o.Parse(canon)
				require.NoError(t, err, "%s: the canonical %q reads back", set.typ, canon)
				require.Equal(t, v, back)
			}
		}
	}
}

// FuzzStrictSICast checks strictSICast against a second reading of
// Ceph's rule: an optional upper-case SI suffix after a strtoll number
// that takes the rest of the text, and white space only before a number
// with a suffix.
func FuzzStrictSICast(f *testing.F) {
	for _, tc := range cephIntVectors {
		f.Add(tc.in, false)
	}
	for _, tc := range cephUintVectors {
		f.Add(tc.in, true)
	}
	f.Fuzz(func(t *testing.T, s string, unsigned bool) {
		got, err := strictSICast(s, unsigned)
		num, mult := s, int64(1)
		if strings.ContainsFunc(s, func(r rune) bool { return !strings.ContainsRune("0123456789+-", r) }) {
			i := strings.IndexByte("KMGTPE", s[len(s)-1])
			if i < 0 {
				require.Error(t, err, "%q: a non-digit must be a suffix", s)
				return
			}
			num = s[:len(s)-1]
			for range i + 1 {
				mult *= 1000
			}
		}
		n, perr := strconv.ParseInt(strings.TrimLeft(num, cSpace), 10, 64)
		ok := perr == nil && !(unsigned && n < 0) && n >= math.MinInt64/mult && n <= math.MaxInt64/mult
		require.Equal(t, ok, err == nil, "%q (unsigned %v): %v", s, unsigned, err)
		if ok {
			require.Equal(t, n*mult, got, "%q", s)
		}
	})
}

// FuzzNumberOptionRoundTrip: the integer parsers never panic, and the
// text stored for an accepted value (its canonical form) reads back as
// the same value and the same text.
func FuzzNumberOptionRoundTrip(f *testing.F) {
	types := []Type{Int, Uint, Size, Secs}
	for i, set := range [][]cephNumVector{cephIntVectors, cephUintVectors, cephSizeVectors, cephSecsVectors} {
		for _, tc := range set {
			f.Add(tc.in, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, s string, typ uint8) {
		o := &Option{Spec: Spec{Name: "n", Type: types[int(typ)%len(types)]}}
		canon, v, err := o.Validate(s)
		if err != nil {
			return
		}
		canon2, v2, err := o.Validate(canon)
		require.NoError(t, err, "%s %q: canonical %q", o.Type, s, canon)
		require.Equal(t, v, v2, "%s %q", o.Type, s)
		require.Equal(t, canon, canon2, "%s %q", o.Type, s)
	})
}
