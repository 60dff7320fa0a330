package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestChartWriteSVG(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name  string
		chart Chart
		err   string
	}{
		{"log-log", Chart{Title: "formatting time", X: "elements", Y: "seconds", LogX: true, LogY: true, Series: []Series{
			{"gomgr json", []Point{{10, 5e-6}, {1e4, 8e-3}, {1e6, 0.7}}},
			{"Python json.dumps", []Point{{1e4, 6e-2}, {10, 6e-5}}},
			{"empty", nil},
		}}, ""},
		{"linear", Chart{Title: "throughput", X: "clients", Y: "ops/s", Series: []Series{{"echo floor", []Point{{1, 100}, {4, 300}}}}}, ""},
		{"nothing", Chart{Title: "t", Series: []Series{{"a", nil}}}, "no points"},
		{"zero on a log axis", Chart{Title: "t", LogY: true, Series: []Series{{"a", []Point{{1, 0}}}}}, "cannot be drawn"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name+".svg")
			err := c.chart.WriteSVG(path)
			if c.err != "" {
				require.ErrorContains(t, err, c.err)
				return
			}
			require.NoError(t, err)
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			svg := string(b)
			require.True(t, strings.HasPrefix(svg, "<?xml") && strings.Contains(svg, "<svg"), svg[:min(len(svg), 200)])
			require.Contains(t, svg, c.chart.Title)
			for _, s := range c.chart.Series {
				if len(s.Points) > 0 {
					require.Contains(t, svg, s.Name, "the legend names every series")
				} else {
					require.NotContains(t, svg, ">"+s.Name+"<")
				}
			}
		})
	}
}
