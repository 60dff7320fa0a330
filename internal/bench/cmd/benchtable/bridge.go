package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomgr/gomgr/internal/bench"
	"github.com/gomgr/gomgr/internal/bench/benchmod"
	"github.com/gomgr/gomgr/internal/cephrados"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// The bridge section: Go modules bridged into the real ceph-mgr
// (benchmgr's hello and gobench, internal/bench/cmd/benchmgr) against the
// Python module pybench (internal/bench/python/pybench) in the same mgr,
// every command sent the same way (MgrCommand over librados), so both pay
// the same mgr path and the Go side adds its hop over the bridge.

// bridgeModules are the modules the section enables in the real mgr.
var bridgeModules = []string{"hello", "gobench", "pybench"}

// formatN is the size of the formatted result.
const formatN = 100000

// helloBlocks is how many blocks of hello commands each side runs.
const helloBlocks = 15

// installBridge writes benchmgr's bridge (the shims of hello, gobench
// and goprometheus)
// into a new module directory under dir and returns the value of
// CEPH_CLUSTER_MGR_MODULES that adds it and pybench's directory to the
// cluster's module path.
func installBridge(dir string) (string, error) {
	mods := filepath.Join(dir, "mgr-modules")
	if err := os.Mkdir(mods, 0o755); err != nil {
		return "", fmt.Errorf("the bridge's module directory: %w", err)
	}
	// Pacific's prometheus module is in the mgr's module path: the Go one
	// is installed as goprometheus, its commands renamed as
	// internal/bridge's cluster test renames them.
	out, err := exec.Command(filepath.Join(dir, "benchmgr"), "bridge", "install", "--module-path", mods, "--rename", "prometheus=goprometheus",
		"--rename-prefix", "prometheus=goprometheus", "--rename-prefix", "healthcheck=gohealthcheck").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("benchmgr bridge install: %w: %s", err, out)
	}
	py, err := filepath.Abs(filepath.Join("internal", "bench", "python"))
	if err != nil {
		return "", fmt.Errorf("the Python module's directory: %w", err)
	}
	if _, err := os.Stat(filepath.Join(py, "pybench", "module.py")); err != nil {
		return "", fmt.Errorf("the Python module pybench (run benchtable from the repository's top): %w", err)
	}
	return mods + ":" + py, nil
}

// mgrOp returns a Parallel dial function sending cmd to the active mgr on
// conn (the connection is shared: librados serves concurrent callers).
func mgrOp(conn *cephrados.Conn, cmd []byte) func() (func() error, func(), error) {
	return func() (func() error, func(), error) {
		return func() error { _, _, err := conn.MgrCommand(cmd, nil); return err }, func() {}, nil
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// waitForCommands waits until every command (ceph CLI words) answers,
// three times in a row a second apart: enabling modules makes the real
// mgr respawn, maybe more than once, and a bridged module answers only
// once its shim has connected to the Go side. It asks through the ceph
// CLI, not this process's librados: librados has aborted this process
// (free(): invalid pointer) in a command sent while the mgr respawned.
func waitForCommands(conf string, cmds [][]string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for ok := 0; ok < 3; {
		var failed error
		for _, c := range cmds {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			out, err := exec.CommandContext(ctx, "ceph", append([]string{"-c", conf, "--connect-timeout", "15"}, c...)...).CombinedOutput()
			cancel()
			if err != nil {
				failed = fmt.Errorf("ceph %s: %v %s", strings.Join(c, " "), err, bytes.TrimSpace(out))
				break
			}
		}
		if failed == nil {
			ok++
		} else {
			ok = 0
			if time.Now().After(deadline) {
				return fmt.Errorf("the real mgr does not answer (after the modules were enabled): %w", failed)
			}
		}
		time.Sleep(time.Second)
	}
	return nil
}

// sameAnswer checks that two commands answer the same bytes.
func sameAnswer(conn *cephrados.Conn, a, b []byte) (int, error) {
	outA, sA, errA := conn.MgrCommand(a, nil)
	outB, sB, errB := conn.MgrCommand(b, nil)
	if errA != nil || errB != nil {
		return 0, fmt.Errorf("%s: %v %s; %s: %v %s", a, errA, sA, b, errB, sB)
	}
	if !bytes.Equal(outA, outB) {
		return 0, fmt.Errorf("%s and %s answer differently (%d and %d bytes)", a, b, len(outA), len(outB))
	}
	return len(outA), nil
}

// bridgedVsPython measures the bridge section (the modules are enabled).
func bridgedVsPython(t *table, conn *cephrados.Conn, formatRuns int) error {
	helloGo := mustJSON(map[string]any{"prefix": "hello", "person_name": "Bob"})
	helloPy := mustJSON(map[string]any{"prefix": "pybench hello", "person_name": "Bob"})
	formatGo := mustJSON(map[string]any{"prefix": "gobench format", "n": formatN})
	formatPy := mustJSON(map[string]any{"prefix": "pybench format", "n": formatN})
	if _, err := sameAnswer(conn, helloGo, helloPy); err != nil {
		return err
	}
	size, err := sameAnswer(conn, formatGo, formatPy)
	if err != nil {
		return err
	}

	// Short blocks of each command, alternated, and the median block of
	// each compared: the host's load comes and goes within seconds, and
	// both sides see the same.
	for _, conc := range []int{1, 16} {
		per, blocks := 100, helloBlocks
		if conc > 1 {
			per = 50 * conc
		}
		var ours, theirs []time.Duration // per command, one a block
		for i := 0; i < blocks; i++ {
			for _, m := range []struct {
				cmd []byte
				ds  *[]time.Duration
			}{{helloGo, &ours}, {helloPy, &theirs}} {
				r, err := bench.Parallel(conc, per, mgrOp(conn, m.cmd))
				if err != nil {
					return err
				}
				if r.Errors > 0 {
					return fmt.Errorf("%s: %d of %d commands failed", m.cmd, r.Errors, r.Ops)
				}
				*m.ds = append(*m.ds, r.PerOp())
			}
		}
		o, th := bench.Median(ours), bench.Median(theirs)
		ratio := float64(o) / float64(th)
		if conc == 1 {
			t.add(row{"bridge vs Python module", fmt.Sprintf("`hello` round trip, 1 client: Go `hello` bridged into the real mgr vs Python `pybench hello` in the same mgr, over librados (median of %d alternated blocks of %d)", blocks, per),
				dur(o), dur(th) + " (Python module)", fmt.Sprintf("%.2fx", ratio), "≤ 1.3x", bench.AtMost(ratio, 1.3)})
			continue
		}
		t.add(row{"bridge vs Python module", fmt.Sprintf("`hello` throughput, %d clients: Go `hello` bridged vs Python `pybench hello`, same mgr (median of %d alternated blocks of %d)", conc, blocks, per),
			rate(float64(time.Second) / float64(o)), rate(float64(time.Second)/float64(th)) + " (Python module)", fmt.Sprintf("%.2fx the time per command", ratio), "≤ 1.3x", bench.AtMost(ratio, 1.3)})
	}

	// The large result: calls alternated, medians compared; with them the
	// same text returned by pybench cached (built once: the mgr's own part
	// of every such reply), and the Go module's work alone, in this process.
	cachedPy := mustJSON(map[string]any{"prefix": "pybench cached", "n": formatN})
	var ours, theirs, floor []time.Duration
	for i := 0; i < formatRuns; i++ {
		for _, m := range []struct {
			cmd []byte
			ds  *[]time.Duration
		}{{formatGo, &ours}, {formatPy, &theirs}, {cachedPy, &floor}} {
			start := time.Now()
			if _, outs, err := conn.MgrCommand(m.cmd, nil); err != nil {
				return fmt.Errorf("%s: %v %s", m.cmd, err, outs)
			}
			*m.ds = append(*m.ds, time.Since(start))
		}
	}
	o, th, fl := bench.Median(ours), bench.Median(theirs), bench.Median(floor)
	ratio := float64(th) / float64(o)
	t.add(row{"bridge vs Python module", fmt.Sprintf("a %s-element result as JSON (%.1f MB): Go `gobench format` bridged vs Python `pybench format`, same mgr, median of %d calls each",
		thousands(formatN), float64(size)/1e6, formatRuns),
		dur(o), dur(th) + " (Python module)", fmt.Sprintf("%.2fx faster", ratio), "≥ 5x faster", bench.AtLeast(ratio, 5)})
	work := testing.Benchmark(func(b *testing.B) {
		h := objectformat.Responder(func(context.Context, *objectformat.Request) ([]benchmod.Element, error) {
			return benchmod.Elements(formatN), nil
		})
		for i := 0; i < b.N; i++ {
			if res := h.ServeCommand(context.Background(), &objectformat.Request{}); res.Retval != 0 {
				b.Fatal(res.Stderr)
			}
		}
	})
	t.add(row{"bridge vs Python module", "where the Go call's time goes: the Go module's work in this process (building and formatting), and the mgr's own part (the same text from `pybench cached`, built once)",
		dur(time.Duration(work.NsPerOp())) + " (work)", dur(fl) + " (mgr's part)",
		"bridge and rest: " + rest(o-fl-time.Duration(work.NsPerOp())), "", ""})
	return nil
}

// rest is what the parts do not explain: nothing measurable if negative
// (the parts are medians of separate runs on a noisy host).
func rest(d time.Duration) string {
	if d <= 0 {
		return "within the noise"
	}
	return dur(d)
}

// thousands writes n with commas (100,000).
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
