package prometheus

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPerfCounterNamedAsServiceFamily: a perf counter whose name is one
// of the static families declared in services.go's init (fs_metadata,
// pool_objects_repaired, daemon_health_metrics, ...) is left out as one
// named as any other static family is: the text never has two families
// of one name (staticExposed was once computed at package
// initialization, before that init adds serviceFamilies to families, and
// such a perf counter got a family of its own, exposed under the static
// one's name).
func TestPerfCounterNamedAsServiceFamily(t *testing.T) {
	for _, sf := range serviceFamilies {
		t.Run(sf.name, func(t *testing.T) {
			s := newScrape()
			f := families[sf.name]
			labels := make([]string, len(f.labels))
			for i := range labels {
				labels[i] = "v"
			}
			s.add(f, 1, labels)
			m := newModule()
			m.perfSamples(s, typedPerf(t, decodeMap(t, `{"osd.0": {"`+sf.name+`": {"description": "hostile", "type": 2, "value": 5}}}`)))
			out, err := s.encode()
			require.NoError(t, err)
			require.Equal(t, 1, strings.Count(string(out), "# HELP ceph_"+sf.name+" "), "one family of the name:\n%s", out)
		})
	}
}
