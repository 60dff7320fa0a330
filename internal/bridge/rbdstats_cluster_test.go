package bridge

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// rbdFamilies are the RBD per-image families of Pacific's module.
var rbdFamilies = []string{"ceph_rbd_write_ops", "ceph_rbd_read_ops", "ceph_rbd_write_bytes", "ceph_rbd_read_bytes",
	"ceph_rbd_write_latency_sum", "ceph_rbd_write_latency_count", "ceph_rbd_read_latency_sum", "ceph_rbd_read_latency_count"}

// compareRBDStats checks the RBD per-image stats of Pacific's prometheus
// module and the Go one's, bridged into the same mgr (both already
// enabled, without cache: each scrape collects): a pool with the rbd
// application and an image in its default namespace and one in a
// namespace, rbd_stats_pools set for both modules; once written to
// (rbd bench), both have the same rbd families (help, type) and label
// sets, values non-negative, the written image's write counters above 0.
// The query's reports reach the mgr every few seconds: the wait is
// bounded (90 s).
func compareRBDStats(t *testing.T, ceph func(args ...string) (string, string, int), conf string, scrape func(mod string) map[string]*promFamily) {
	t.Helper()
	run := func(tool string, args ...string) {
		t.Helper()
		if tool == "ceph" {
			_, e, rc := ceph(args...)
			require.Zero(t, rc, "ceph %v: %s", args, e)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, tool, append([]string{"-c", conf}, args...)...)
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Run(), "%s %v: %s", tool, args, out.String())
	}
	run("ceph", "osd", "pool", "create", "rbdp", "4", "4", "replicated")
	run("rbd", "pool", "init", "rbdp")
	run("rbd", "namespace", "create", "rbdp/ns1")
	run("rbd", "create", "--size", "16M", "rbdp/img1")
	run("rbd", "create", "--size", "16M", "rbdp/ns1/img2")
	for _, mod := range []string{"prometheus", "goprometheus"} {
		run("ceph", "config", "set", "mgr", "mgr/"+mod+"/rbd_stats_pools", "rbdp")
	}
	// A collection of each adds its query (the counters start then).
	want := map[string]bool{`image="img1",namespace="",pool="rbdp"`: true, `image="img2",namespace="ns1",pool="rbdp"`: true}
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(time.Second) {
		ready := true
		for _, mod := range []string{"prometheus", "goprometheus"} {
			f := scrape(mod)["ceph_rbd_write_ops"]
			ready = ready && f != nil && maps.Equal(labelsOf(f), want)
		}
		if ready {
			break
		}
		require.False(t, time.Now().After(end), "both modules list the images (ceph_rbd_write_ops)")
	}
	run("rbd", "bench", "--io-type", "write", "--io-size", "4K", "--io-total", "1M", "rbdp/img1")

	var problems []string
	start := time.Now()
	var py, gomod map[string]*promFamily
	for end := time.Now().Add(90 * time.Second); ; time.Sleep(2 * time.Second) {
		py, gomod = scrape("prometheus"), scrape("goprometheus")
		problems = nil
		for _, name := range slices.Sorted(maps.Keys(py)) {
			if strings.HasPrefix(name, "ceph_rbd_") && !strings.HasPrefix(name, "ceph_rbd_mirror") && !slices.Contains(rbdFamilies, name) {
				problems = append(problems, "Pacific has a family this test does not know: "+name)
			}
		}
		for _, name := range rbdFamilies {
			pf, gf := py[name], gomod[name]
			if pf == nil || gf == nil {
				problems = append(problems, fmt.Sprintf("%s: Python has it %t, Go %t", name, pf != nil, gf != nil))
				continue
			}
			if pf.help != gf.help || pf.typ != gf.typ {
				problems = append(problems, fmt.Sprintf("%s: help/type %q/%s, Go %q/%s", name, pf.help, pf.typ, gf.help, gf.typ))
			}
			if !maps.Equal(labelsOf(pf), want) || !maps.Equal(labelsOf(gf), want) {
				problems = append(problems, fmt.Sprintf("%s: label sets Python %v, Go %v", name, labelsOf(pf), labelsOf(gf)))
			}
			for side, f := range map[string]*promFamily{"Python": pf, "Go": gf} {
				for ls, v := range f.samples {
					if v < 0 {
						problems = append(problems, fmt.Sprintf("%s %s{%s} = %g", side, name, ls, v))
					}
				}
				if name == "ceph_rbd_write_ops" || name == "ceph_rbd_write_bytes" || name == "ceph_rbd_write_latency_count" {
					if v := f.samples[`image="img1",namespace="",pool="rbdp"`]; v <= 0 {
						problems = append(problems, fmt.Sprintf("%s %s of the written image is %g", side, name, v))
					}
				}
			}
		}
		if len(problems) == 0 || time.Now().After(end) {
			break
		}
	}
	require.Empty(t, problems, "the RBD stats of Pacific's prometheus module and the Go module's")
	t.Logf("RBD stats alike after %s: ceph_rbd_write_ops Python %v, Go %v", time.Since(start).Round(time.Second),
		py["ceph_rbd_write_ops"].samples, gomod["ceph_rbd_write_ops"].samples)
}

// labelsOf is a family's label sets.
func labelsOf(f *promFamily) map[string]bool {
	out := map[string]bool{}
	for ls := range f.samples {
		out[ls] = true
	}
	return out
}
