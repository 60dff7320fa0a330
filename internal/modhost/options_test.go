package modhost

import (
	"context"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/optschema"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// cephBoolVectors are the monitor's answers to
// "ceph config set mgr mgr/balancer/active V" (a Python module's bool
// option) on a Ceph 16.2.15 loopback cluster (scripts/ceph-cluster.sh),
// with "ceph config get" for the accepted ones: Option::parse_value takes
// true/false in any case, else an integer read by strict_strtol.
var cephBoolVectors = []struct {
	in     string
	stored string // "" when refused
	err    string // the monitor's status text when refused (-EINVAL)
}{
	{"maybe", "", "error parsing value: Expected option value to be integer, got 'maybe'"},
	{"true", "true", ""},
	{"TRUE", "true", ""},
	{"True", "true", ""},
	{"tRuE", "true", ""},
	{"false", "false", ""},
	{"FALSE", "false", ""},
	{"2", "true", ""},
	{"-1", "true", ""},
	{" 1", "true", ""},
	{" 0", "false", ""},
	{"+1", "true", ""},
	{"010", "true", ""},
	{"00", "false", ""},
	{"-0", "false", ""},
	{"-2147483648", "true", ""},
	{"2147483647", "true", ""},
	{"1 ", "", "error parsing value: Expected option value to be integer, got '1 '"},
	{"0x10", "", "error parsing value: Expected option value to be integer, got '0x10'"},
	{"yes", "", "error parsing value: Expected option value to be integer, got 'yes'"},
	{"on", "", "error parsing value: Expected option value to be integer, got 'on'"},
	{"", "", "error parsing value: Expected option value to be integer, got ''"},
	{"1.5", "", "error parsing value: Expected option value to be integer, got '1.5'"},
	{" true", "", "error parsing value: Expected option value to be integer, got ' true'"},
	{"false ", "", "error parsing value: Expected option value to be integer, got 'false '"},
	{"1_0", "", "error parsing value: Expected option value to be integer, got '1_0'"},
	{"-", "", "error parsing value: Expected option value to be integer, got '-'"},
	{"99999999999", "", "error parsing value: The option value '99999999999' seems to be invalid"},
	{"-2147483649", "", "error parsing value: The option value '-2147483649' seems to be invalid"},
	{"9999999999999999999999", "", "error parsing value: The option value '9999999999999999999999' seems to be invalid"},
}

// TestBoolOptionParsesLikeCeph is issue #9 item 25, through both ways a
// value is set: the daemon's "config set" (Manager.SetOption) and the
// module API (Handle.SetOption).
func TestBoolOptionParsesLikeCeph(t *testing.T) {
	f := newFixture(t, module.Info{Name: "t", New: func() module.Module { return &testMod{} }, Options: []module.Option{{Name: "flag", Type: module.Bool, Default: true}}})
	ctx := context.Background()
	h := f.enable("t").h
	setters := map[string]func(v string) error{
		"config set": func(v string) error { return f.m.SetOption(ctx, "t", "", "flag", v) },
		"SetOption":  func(v string) error { return h.SetOption(ctx, "flag", v) },
	}
	for name, set := range setters {
		for _, tc := range cephBoolVectors {
			require.NoError(t, f.b.ConfigStore.Set(ctx, "mgr/t/flag", "unchanged"))
			err := set(tc.in)
			got, _ := f.b.ConfigStore.Get("mgr/t/flag")
			if tc.err != "" {
				require.EqualError(t, err, tc.err, "%s %q", name, tc.in)
				require.Equal(t, -int(syscall.EINVAL), objectformat.ErrnoOf(err), "%s %q", name, tc.in)
				require.Equal(t, "unchanged", got, "%s %q: a refused value is not stored", name, tc.in)
				continue
			}
			require.NoError(t, err, "%s %q", name, tc.in)
			require.Equal(t, tc.stored, got, "%s %q is stored as Ceph stores it", name, tc.in)
			b, err := h.BoolOption("flag")
			require.NoError(t, err)
			require.Equal(t, tc.stored == "true", b, "%s %q", name, tc.in)
		}
	}
	require.NoError(t, h.SetOption(ctx, "flag", false), "a Go bool")
	got, _ := f.b.ConfigStore.Get("mgr/t/flag")
	require.Equal(t, "false", got)
}

// FuzzParseBool checks parseBool against a second reading of Ceph's rule:
// true/false in ASCII case, else strtoll's syntax (C white space first),
// base 10, the whole text, within C's int.
func FuzzParseBool(f *testing.F) {
	for _, tc := range cephBoolVectors {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := (&optschema.Option{Spec: optschema.Spec{Type: optschema.Bool}}).Parse(s)
		b, _ := v.(bool)
		want, wantOK := false, true
		switch strings.ToLower(s) {
		case "true":
			want = true
		case "false":
		default:
			n, perr := strconv.ParseInt(strings.TrimLeft(s, " \t\n\v\f\r"), 10, 32)
			want, wantOK = n != 0, perr == nil
		}
		require.Equal(t, wantOK, err == nil, "%q: %v", s, err)
		if err == nil {
			require.Equal(t, want, b, "%q", s)
		}
	})
}

// TestIntegerBoundsAreExact: integer bounds are compared and printed as
// integers (a bound of 64 GiB read "exceeds maximum 6.8719476736e+10", and
// a float64 comparison cannot tell 2^53+1 from 2^53+2).
func TestIntegerBoundsAreExact(t *testing.T) {
	f := newFixture(t, module.Info{Name: "t", New: func() module.Module { return &testMod{} }, Options: []module.Option{
		{Name: "mem", Type: module.Size, Min: 8 << 20, Max: int64(64 << 30)},
		{Name: "big", Type: module.Int, Max: int64(1<<53 + 1)},
		{Name: "ratio", Type: module.Float, Max: 0.5},
	}})
	ctx := context.Background()
	for _, tc := range []struct{ opt, val, err string }{
		{"mem", "1T", "error parsing value: Value '1T' exceeds maximum 68719476736"},
		{"mem", "1M", "error parsing value: Value '1M' is below minimum 8388608"},
		{"mem", "64G", ""},
		{"big", "9007199254740993", ""},
		{"big", "9007199254740994", "error parsing value: Value '9007199254740994' exceeds maximum 9007199254740993"},
		{"ratio", "0.75", "error parsing value: Value '0.75' exceeds maximum 0.5"},
	} {
		err := f.m.SetOption(ctx, "t", "", tc.opt, tc.val)
		if tc.err == "" {
			require.NoError(t, err, "%s %s", tc.opt, tc.val)
			continue
		}
		require.EqualError(t, err, tc.err, "%s %s", tc.opt, tc.val)
	}
}
