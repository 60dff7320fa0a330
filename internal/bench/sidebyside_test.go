package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// repoFile is a path relative to the repository's top, from this package.
func repoFile(p string) string { return filepath.Join("..", "..", p) }

func startPython(t *testing.T) *Python {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err == nil {
		_, err = os.Stat("/usr/share/ceph/mgr/mgr_module.py")
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 and Ceph's mgr_module.py are needed: %v", err)
		}
		t.Skipf("python3 and Ceph's mgr_module.py are needed: %v", err)
	}
	p, err := StartPython(py, repoFile(PythonScript))
	require.NoError(t, err)
	p.Timeout = time.Minute
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	return p
}

// TestSideBySideSameWork: both sides answer every side-by-side request
// with the same output (so the timings compare the same work).
func TestSideBySideSameWork(t *testing.T) {
	p := startPython(t)
	for _, c := range DispatchCases {
		t.Run("dispatch "+c.Name, func(t *testing.T) {
			op, out, err := SideBySideDispatch(c)
			require.NoError(t, err)
			require.NoError(t, op())
			cmd, err := decodeObject(c.JSON)
			require.NoError(t, err)
			a, err := p.Do(map[string]any{"op": "dispatch", "cmd": cmd, "min_time": 0.001})
			require.NoError(t, err)
			require.Equal(t, 0, a.Retval, a.Stderr)
			require.Equal(t, a.Stdout, out)
			require.Positive(t, a.PerOp())
		})
	}
	t.Run("match", func(t *testing.T) {
		lines, err := LoadCommandLines(repoFile(CommandLines))
		require.NoError(t, err)
		require.Len(t, lines, 100)
		round, err := MatchRound(repoFile(MonDescriptions), lines)
		require.NoError(t, err)
		require.Equal(t, 90, round(), "the file's 90 commands match, its 10 others do not")
		// Python takes 80 to 400 ms a line: compare 6 (3 valid, 3 not).
		abs, err := filepath.Abs(repoFile(MonDescriptions))
		require.NoError(t, err)
		tail := append(append([][]string(nil), lines[87:90]...), lines[97:]...)
		a, err := p.Do(map[string]any{"op": "match", "descriptions": abs, "lines": tail, "min_time": 0})
		require.NoError(t, err)
		require.Equal(t, 1, a.Ops)
		round, err = MatchRound(repoFile(MonDescriptions), tail)
		require.NoError(t, err)
		require.Equal(t, 3, a.Matched)
		require.Equal(t, a.Matched, round())
	})
	for _, f := range []objectformat.Format{objectformat.JSON, objectformat.YAML} {
		t.Run("format "+string(f), func(t *testing.T) {
			out, err := Formatter(Items(10), f)()
			require.NoError(t, err)
			sum := sha256.Sum256(out)
			a, err := p.Do(map[string]any{"op": "format", "kind": string(f), "size": 10, "min_time": 0.001})
			require.NoError(t, err)
			require.Equal(t, len(out), a.Bytes)
			require.Equal(t, hex.EncodeToString(sum[:]), a.SHA256)
		})
	}
	t.Run("error", func(t *testing.T) {
		_, err := p.Do(map[string]any{"op": "format", "kind": "xml", "size": 1})
		require.ErrorContains(t, err, "unknown kind")
	})
}

func TestParseAnswer(t *testing.T) {
	for _, c := range []struct {
		line, err string
		ns        time.Duration
	}{
		{`{"ns": 1500.5, "ops": 10}`, "", 1500},
		{`{"error": "KeyError: 'op'"}`, "KeyError", 0},
		{`{"ns": 0, "ops": 10}`, "no time", 0},
		{`not json`, "invalid character", 0},
	} {
		a, err := ParseAnswer([]byte(c.line))
		if c.err != "" {
			require.ErrorContains(t, err, c.err, c.line)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, c.ns, a.PerOp())
	}
}

func TestTimeOp(t *testing.T) {
	calls := 0
	d, err := TimeOp(time.Millisecond, func() error { calls++; return nil })
	require.NoError(t, err)
	require.Greater(t, calls, 2)
	require.Greater(t, d, time.Duration(0))
	_, err = TimeOp(time.Millisecond, func() error { return context.Canceled })
	require.ErrorIs(t, err, context.Canceled)
	calls = 0
	_, err = TimeCalls(0, 1, false, func() error { calls++; return nil })
	require.NoError(t, err)
	require.Equal(t, 1, calls, "one call, no warm-up")
}
