package prometheus

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/pkg/module"
)

// TestMemoConcurrentModules: several modules, each with scrapes running
// at once on its memo (gathers and writes overlapping, as the collection
// thread's and a scrape's may), share the package's caches; under -race
// nothing races and every text is the one of a scrape without a memo.
func TestMemoConcurrentModules(t *testing.T) {
	var all []module.DaemonPerf
	for d := range 4 {
		dp := module.DaemonPerf{Daemon: fmt.Sprintf("osd.%d", d)}
		for i := range 20 {
			info := &module.PerfCounterInfo{Path: fmt.Sprintf("memorace.c%02d", i), Description: "d", Type: []int{10, 2, 6}[i%3]}
			dp.Counters = append(dp.Counters, module.PerfCounter{PerfCounterInfo: info, Value: uint64(i + d)})
		}
		all = append(all, dp)
	}
	ref := newScrape()
	newModule().perfSamples(ref, all)
	want, err := ref.encode()
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for range 3 {
		m := newModule()
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 30 {
					s := newScrape()
					s.memo = &m.memo
					m.perfSamples(s, all)
					got, err := s.encode()
					if err != nil || string(got) != string(want) {
						errs <- fmt.Sprintf("err %v, text differs: %v", err, string(got) != string(want))
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
