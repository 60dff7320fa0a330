package crash_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/modules/crash"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/module/moduletest"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// report is a crash report as ceph-crash posts it.
func report(id, entity, ts string) []byte {
	return []byte(fmt.Sprintf(`{"crash_id": %q, "timestamp": %q, "entity_name": %q, "process_name": "ceph-osd", "utsname_hostname": "node1"}`, id, ts, entity))
}

// TestCrash runs the commands of Ceph's Python crash module as a user
// runs them and checks their outputs, error texts and errnos (the Python
// module answers bad input with a positive EINVAL).
func TestCrash(t *testing.T) {
	h := moduletest.Start(t, "crash")
	now := time.Now().UTC()
	recent := stamp(now.Add(-time.Hour))
	old := stamp(now.Add(-4 * 24 * time.Hour))
	oldFmt := now.Add(-10 * 24 * time.Hour).Format("2006-01-02 15:04:05.000000Z") // the old format
	header := "ID" + strings.Repeat(" ", 32) + "ENTITY  NEW  \n"                  // the ids are 32 long
	idA, idB, idC := recent+"_aaaa", old+"_bbbb", oldFmt+"_cccc"

	for _, tc := range []struct {
		line   string
		inbuf  string
		out    string
		err    string
		retval int
	}{
		{line: "crash ls"},
		{line: "crash ls -f json", out: "[]"},
		{line: "crash stat", out: "0 crashes recorded\n\n\n"},
		{line: "crash post", inbuf: "", retval: -22, err: "malformed crash metadata: Expecting value: line 1 column 1 (char 0)"},
		{line: "crash post", inbuf: `{"timestamp": "x"}`, retval: -22, err: "malformed crash metadata: missing 'crash_id' field"},
		{line: "crash post", inbuf: `{"crash_id": "x"}`, retval: -22, err: "malformed crash metadata: missing 'timestamp' field"},
		{line: "crash post", inbuf: `{"crash_id": "x", "timestamp": "2020-01-01"}`, retval: -22,
			err: "malformed crash metadata: time data '2020-01-01' does not match format '%Y-%m-%d %H:%M:%S.%f'"},
		{line: "crash post", inbuf: `{"crash_id": "x", "timestamp": "2020-01-01 00:00:00.1234567"}`, retval: -22,
			err: "malformed crash metadata: unconverted data remains: 7"},
		{line: "crash post", inbuf: `{"crash_id": "x", "timestamp": "2020-02-30 00:00:00.1"}`, retval: -22,
			err: "malformed crash metadata: day is out of range for month"},
		{line: "crash post", inbuf: `{"crash_id": "x", "timestamp": 5}`, retval: -22,
			err: "malformed crash metadata: 'int' object has no attribute 'rstrip'"},
		{line: "crash post", inbuf: `7`, retval: -22, err: "malformed crash metadata: argument of type 'int' is not iterable"},
		{line: "crash post", inbuf: `["crash_id"]`, retval: -22, err: "malformed crash metadata: missing 'timestamp' field"},
		{line: "crash post", inbuf: string(report(idA, "osd.0", recent))},
		{line: "crash post", inbuf: string(report(idB, "osd.1", old))},
		{line: "crash post", inbuf: string(report(idC, "mon.a", oldFmt))},
		{line: "crash post", inbuf: string(report(idA, "osd.9", recent)), out: ""}, // a known id is kept as it was
		{line: "crash ls", out: header +
			idC + "  mon.a    *   \n" + idB + "  osd.1    *   \n" + idA + "  osd.0    *   "},
		{line: "crash info nosuch", retval: -22, err: "crash info: nosuch not found"},
		{line: "crash info " + idA, out: fmt.Sprintf(`{
    "crash_id": %q,
    "entity_name": "osd.0",
    "process_name": "ceph-osd",
    "timestamp": %q,
    "utsname_hostname": "node1"
}`, idA, recent)},
		{line: "crash stat", out: fmt.Sprintf("3 crashes recorded\n2 older than 1 days old:\n%s\n%s\n2 older than 3 days old:\n%s\n%s\n1 older than 7 days old:\n%s", idB, idC, idB, idC, idC)},
		{line: "crash json_report 24", err: `{"ceph-osd": 3}`},
		{line: "crash json_report x", retval: -22, err: "<hours> argument must be integer"},
		{line: "crash archive nosuch", retval: -22, err: "crash info: nosuch not found"},
		{line: "crash archive " + idB},
		{line: "crash ls-new", out: header + idC + "  mon.a    *   \n" + idA + "  osd.0    *   "},
		{line: "crash ls", out: header +
			idC + "  mon.a    *   \n" + idB + "  osd.1        \n" + idA + "  osd.0    *   "},
		{line: "crash prune x", retval: -22, err: "keep argument must be integer"},
		{line: "crash prune 7"},
		{line: "crash rm nosuch"},
		{line: "crash stat", out: fmt.Sprintf("2 crashes recorded\n1 older than 1 days old:\n%s\n1 older than 3 days old:\n%s\n", idB, idB)},
		{line: "crash rm " + idB},
		{line: "crash ls -f json", out: fmt.Sprintf(`[
    {
        "crash_id": %q,
        "entity_name": "osd.0",
        "process_name": "ceph-osd",
        "timestamp": %q,
        "utsname_hostname": "node1"
    }
]`, idA, recent)},
	} {
		var res objectformat.Result
		if line, ok := strings.CutSuffix(tc.line, " -f json"); ok {
			// The ceph CLI sends -f as the command's "format".
			res = h.Module().(*crash.Module).HandleCommand(context.Background(), nil, map[string]any{"prefix": line, "format": "json"})
		} else {
			res = h.Run(tc.line, []byte(tc.inbuf))
		}
		require.Equal(t, [3]any{tc.retval, tc.out, tc.err}, [3]any{res.Retval, string(res.Stdout), res.Stderr}, tc.line)
	}

	// The stored value is the report's JSON, keys in posted order, under
	// crash/<crash_id> in the module's KV store.
	require.Equal(t, `{"crash_id": "`+idA+`", "timestamp": "`+recent+`", "entity_name": "osd.0", "process_name": "ceph-osd", "utsname_hostname": "node1"}`,
		h.Out("config-key get mgr/crash/crash/"+idA))
	_, ok := h.KV("mgr/crash/crash/" + idC)
	require.False(t, ok, "crash prune 7 removed the 10-day-old crash from the store")
}

// TestCrashHealth checks RECENT_CRASH: raised by a recent unarchived
// crash with Ceph's texts, silenced by archive, driven by
// warn_recent_interval; retain_interval prunes.
func TestCrashHealth(t *testing.T) {
	h := moduletest.Start(t, "crash")
	now := time.Now().UTC()
	ts := stamp(now.Add(-time.Hour))
	id := ts + "_1"
	h.Must("crash post", report(id, "osd.3", ts))
	c := h.WaitHealth("RECENT_CRASH", 10*time.Second)
	require.Equal(t, module.SeverityWarning, c.Severity)
	require.Equal(t, [2]any{"1 daemons have recently crashed", 1}, [2]any{c.Summary, c.Count})
	require.Equal(t, []string{"osd.3 crashed on host node1 at " + ts}, c.Detail)

	waitGone := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if _, ok := h.Health().Checks["RECENT_CRASH"]; !ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("RECENT_CRASH still raised after %s", what)
			}
		}
	}
	require.NoError(t, h.SetOption("warn_recent_interval", 60))
	waitGone("warn_recent_interval 60 (the crash is an hour old)")
	require.NoError(t, h.SetOption("warn_recent_interval", 7200))
	h.WaitHealth("RECENT_CRASH", 10*time.Second)
	h.Must("crash archive " + id)
	waitGone("crash archive")

	// More than 30 crashes: 30 named, then a count of the rest.
	for i := range 32 {
		h.Must("crash post", report(fmt.Sprintf("%s_%02d", ts, i), fmt.Sprintf("osd.%d", i), ts))
	}
	c = h.WaitHealth("RECENT_CRASH", 10*time.Second)
	require.Equal(t, [2]any{"32 daemons have recently crashed", 32}, [2]any{c.Summary, c.Count})
	require.Len(t, c.Detail, 31)
	require.Equal(t, "and 2 more", c.Detail[30])
	h.Must("crash archive-all")
	waitGone("crash archive-all")
	require.Contains(t, h.Out("crash info "+id), `"archived": "`+now.Format("2006-01-02"))

	// retain_interval: the serve loop prunes what is older.
	require.NoError(t, h.SetOption("retain_interval", 1800))
	for deadline := time.Now().Add(10 * time.Second); h.Must("crash stat") != "0 crashes recorded\n\n\n"; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("retain_interval 1800 did not prune hour-old crashes: %s", h.Out("crash stat"))
		}
	}
}

// TestStackSig checks the stack signature Ceph computes of a report's
// backtrace and assert message (the values are Python's).
func TestStackSig(t *testing.T) {
	h := moduletest.Start(t, "crash")
	ts := stamp(time.Now().Add(-time.Hour))
	for _, tc := range []struct{ extra, sig string }{
		{`"backtrace": ["(foo()+0x1f) [0x55]", "(bar+0x2) [0x56]", "main"]`, sigBT},
		{`"backtrace": ["(foo()+0x1f) [0x55]"], "assert_msg": "/src/x.cc: In function 'f' thread 7f time 2020-01-01\n/src/x.cc: 12: FAILED ceph_assert(0)\n"`, sigAssert},
	} {
		id := ts + "_" + tc.sig[:8]
		h.Must("crash post", []byte(`{"crash_id": "`+id+`", "timestamp": "`+ts+`", `+tc.extra+`}`))
		require.Contains(t, h.Out("crash info "+id), `"stack_sig": "`+tc.sig+`"`, tc.extra)
	}
	res := h.Run("crash post", []byte(`{"crash_id": "z", "timestamp": "`+ts+`", "backtrace": ["(f) [0]"], "assert_msg": "no thread here"}`))
	require.Equal(t, -22, res.Retval)
	require.Equal(t, "crash post: assert_msg: 'NoneType' object has no attribute 'groups'", res.Stderr, "Python's handler raises: -EINVAL")
}

// Python's calc_sig of the two TestStackSig reports.
const (
	sigBT     = "0efaa2de5a90aa70fec41cc289fb85271b6a6839dd48a11735a6a7f5a19c4030"
	sigAssert = "3d9a0d76f861cbbde2f6c50ad41fc579c2a3199867ba79746d038cf79cc02f9e"
)
