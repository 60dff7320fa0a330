package cephopts

import (
	"encoding/json"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// TestShowConfigMatchesARealMgr compares show_config of the real Pacific
// mgr.x of a loopback cluster (testdata/mgr-x-config.json, its Python
// get("config")) with what the table, that cluster's ceph.conf and the
// metavariables give.
func TestShowConfigMatchesARealMgr(t *testing.T) {
	f, err := os.Open("testdata/ceph.conf")
	require.NoError(t, err)
	defer f.Close()
	conf, err := ParseConf(f)
	require.NoError(t, err)
	var want map[string]string
	b, err := os.ReadFile("testdata/mgr-x-config.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &want))

	s := Source{Daemon: Daemon{Type: "mgr", ID: "x", Host: "vm"}, Conf: conf}
	got := s.ShowConfig()
	// The address a daemon binds to is known only once it runs.
	delete(want, "public_addr")
	delete(got, "public_addr")
	assert.Equal(t, want, got)
}

func TestValueTypesAsPython(t *testing.T) {
	s := Source{
		Daemon: Daemon{Type: "mgr", ID: "x"},
		Fixed:  map[string]string{"run_dir": "/run/gomgr"},
		Central: func(name string) (string, bool) {
			v, ok := map[string]string{"mgr_stats_period": "7", "debug_mgr": "4/5"}[name]
			return v, ok
		},
		Conf: Conf{"global": {"mon_allow_pool_delete": "true"}, "mgr": {"mgr_stats_period": "9", "osd_pool_default_size": "2"}},
	}
	tests := []struct {
		name string
		want any
	}{
		{"mgr_stats_period", int64(7)},      // the monitors' value wins over ceph.conf
		{"osd_pool_default_size", int64(2)}, // [mgr] of ceph.conf
		{"mon_allow_pool_delete", true},     // [global]
		{"mgr_tick_period", 2.0},            // secs are floats in Python
		{"mon_osd_full_ratio", 0.95},
		{"osd_max_object_size", int64(134217728)}, // size
		{"debug_mgr", "4/5"},
		{"admin_socket", "/run/gomgr/ceph-mgr.x.asok"}, // daemon_default, expanded
		{"mgr_data", "/var/lib/ceph/mgr/ceph-x"},
		{"log_to_file", true},
		{"mon host", ""}, // spelled as ceph.conf may
	}
	for _, tc := range tests {
		got, err := s.Value(tc.name)
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, got, tc.name)
	}
	_, err := s.Value("no_such_option")
	assert.Equal(t, -int(syscall.ENOENT), objectformat.ErrnoOf(err))
	assert.EqualError(t, err, "option not found: no_such_option")
}

func TestExpandIsBounded(t *testing.T) {
	// A value naming its own option cannot recurse for ever.
	s := Source{Daemon: Daemon{Type: "mgr", ID: "x"}, Fixed: map[string]string{"run_dir": "$run_dir/x", "host": "$unknown-$host"}}
	v, ok := s.Text("run_dir")
	assert.True(t, ok)
	assert.True(t, strings.HasSuffix(v, "/x/x"), v)
	assert.LessOrEqual(t, strings.Count(v, "/x"), maxExpandDepth+2)
	v, _ = s.Text("host")
	assert.Equal(t, "$unknown-", v, "unknown variables stay, $host is the daemon's (none here)")
}

func TestTyped(t *testing.T) {
	tests := []struct {
		typ, text string
		want      any
		fails     bool
	}{
		{"int", "-3", int64(-3), false},
		{"uint", "18446744073709551615", uint64(18446744073709551615), false},
		{"size", "4K", int64(4096), false},
		{"size", "1_M", int64(1 << 20), false},
		{"int", "x", nil, true},
		{"float", "0.5", 0.5, false},
		{"secs", "2", 2.0, false},
		{"millisecs", "nope", nil, true},
		{"bool", "yes", true, false},
		{"bool", "0", false, false},
		{"str", " a ", " a ", false},
		{"addr", "-", "-", false},
	}
	for _, tc := range tests {
		got, err := (&Option{Name: "o", Type: tc.typ}).Typed(tc.text)
		if tc.fails {
			assert.Equal(t, -int(syscall.EINVAL), objectformat.ErrnoOf(err), "%s %q", tc.typ, tc.text)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, "%s %q", tc.typ, tc.text)
	}
}

func TestParseConf(t *testing.T) {
	conf, err := ParseConf(strings.NewReader("# c\n[global]\n mon-host = a ; comment\nx y=\"q # not\"\n\n[mgr.x]\nkey=1\n"))
	require.NoError(t, err)
	assert.Equal(t, Conf{"global": {"mon_host": "a", "x_y": "q # not"}, "mgr.x": {"key": "1"}}, conf)
	v, ok := conf.Lookup(Daemon{Type: "mgr", ID: "x"}, "key")
	assert.True(t, ok)
	assert.Equal(t, "1", v)
	for _, bad := range []string{"[global\n", "[global]\nno equals\n"} {
		_, err := ParseConf(strings.NewReader(bad))
		assert.Error(t, err, bad)
	}
}

func TestConfigOptionsIsAFreshCopy(t *testing.T) {
	a, err := ConfigOptions()
	require.NoError(t, err)
	opts := a["options"].([]any)
	require.Len(t, opts, len(Names()))
	opts[0].(map[string]any)["name"] = "scribbled"
	b, _ := ConfigOptions()
	assert.NotEqual(t, "scribbled", b["options"].([]any)[0].(map[string]any)["name"])
	o, ok := Lookup("mgr_stats_period")
	require.True(t, ok)
	assert.Equal(t, "int", o.Type)
	assert.Equal(t, "5", o.DefaultText())
}

func FuzzParseConf(f *testing.F) {
	for _, s := range []string{"[global]\na = b\n", "[x\n", "a=\"\n", "[mgr.x]\n;c\n#d\nk = v # c\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		conf, err := ParseConf(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, sec := range conf {
			for name := range sec {
				if strings.ContainsAny(name, " -") {
					t.Fatalf("name %q not normalized", name)
				}
			}
		}
	})
}

func TestSourceInt(t *testing.T) {
	s := Source{Daemon: Daemon{Type: "mgr", ID: "x"}, Central: func(name string) (string, bool) {
		v, ok := map[string]string{"mgr_stats_period": "7", "mgr_stats_threshold": "junk"}[name]
		return v, ok
	}}
	for _, tc := range []struct {
		name string
		want int64
	}{
		{"mgr_stats_period", 7},
		{"mgr_stats_threshold", -1}, // does not parse
		{"mon_max_pg_per_osd", 250}, // Ceph's default
		{"no_such_option", -1},
		{"mgr_data", -1}, // not an integer
	} {
		require.Equal(t, tc.want, s.Int(tc.name, -1), tc.name)
	}
}
