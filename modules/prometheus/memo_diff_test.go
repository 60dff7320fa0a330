package prometheus

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/pkg/module"
)

// TestMemoMatchesNoMemo: scrape after scrape on one module's memo, the
// text is the one a scrape without a memo writes for the same input (and
// client_golang's): perf counters whose schema entries are kept from one
// scrape to the next, replaced (same path, other description or type),
// shared by daemons, names that escape alike, RGW daemons, counters
// dropped and added, static families among them.
func TestMemoMatchesNoMemo(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	paths := []string{"memodiff.op_r", "memodiff.op-r", "memodiff/op_r", "memodiff.op_w", "memodiff.lat", "memodiff.x+y", "memodiff.z-"}
	types := []int{module.PerfCounterU64 | module.PerfCounterCounter, module.PerfCounterU64,
		module.PerfCounterTime | module.PerfCounterLongRunAvg, module.PerfCounterU64 | module.PerfCounterLongRunAvg}
	newInfo := func() *module.PerfCounterInfo {
		return &module.PerfCounterInfo{Path: paths[r.IntN(len(paths))], Description: fmt.Sprintf("desc %d", r.IntN(3)), Type: types[r.IntN(len(types))]}
	}
	infos := make([]*module.PerfCounterInfo, 12)
	for i := range infos {
		infos[i] = newInfo()
	}
	daemons := []string{"osd.0", "osd.1", "osd.2", "rgw.a", "rgw.b", "mds.x"}
	m := newModule()
	for round := range 300 {
		// Some schema entries replaced by new ones.
		for i := range infos {
			if r.IntN(6) == 0 {
				infos[i] = newInfo()
			}
		}
		var all []module.DaemonPerf
		for _, d := range daemons {
			if r.IntN(4) == 0 {
				continue
			}
			dp := module.DaemonPerf{Daemon: d}
			for _, info := range infos {
				if r.IntN(3) == 0 {
					continue
				}
				dp.Counters = append(dp.Counters, module.PerfCounter{PerfCounterInfo: info, Value: uint64(r.IntN(1000)), Count: uint64(r.IntN(10))})
			}
			all = append(all, dp)
		}
		statics := r.IntN(3)
		build := func(memo *scrapeMemo) *scrape {
			s := newScrape()
			s.memo = memo
			if statics > 0 {
				s.set("health_status", float64(statics))
			}
			if statics > 1 {
				s.set("osd_up", 1, "osd.0")
			}
			m.perfSamples(s, all)
			return s
		}
		withMemo, without := build(&m.memo), build(nil)
		a, err := withMemo.encode()
		require.NoError(t, err)
		b, err := without.encode()
		require.NoError(t, err)
		require.Equal(t, string(b), string(a), "round %d", round)
		require.Equal(t, referenceEncode(t, without), string(b), "round %d", round)
	}
}
