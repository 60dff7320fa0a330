package main

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"time"

	"github.com/gomgr/gomgr/internal/bench"
)

// progress reports on stderr which measurement runs and how far the run
// is, and keeps the series the plots draw.
type progress struct {
	w        io.Writer
	start    time.Time
	sections int // how many sections the run has
	n        int // the current section
	name     string
	data     map[string]map[string][]bench.Point // plot, series, points
}

func newProgress(w io.Writer, sections int) *progress {
	return &progress{w: w, start: time.Now(), sections: sections, data: map[string]map[string][]bench.Point{}}
}

func (p *progress) elapsed() string {
	d := time.Since(p.start).Round(time.Second)
	return fmt.Sprintf("%02d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

// section starts the next part of the run.
func (p *progress) section(name string) {
	p.n++
	p.name = name
	fmt.Fprintf(p.w, "[%s] (%d/%d) %s\n", p.elapsed(), p.n, max(p.sections, p.n), name)
}

// step says what is measured now within the section.
func (p *progress) step(what string) {
	fmt.Fprintf(p.w, "[%s]       %s\n", p.elapsed(), what)
}

// series adds a point to a plot's series.
func (p *progress) series(plot, series string, x, y float64) {
	if p.data[plot] == nil {
		p.data[plot] = map[string][]bench.Point{}
	}
	p.data[plot][series] = append(p.data[plot][series], bench.Point{X: x, Y: y})
}

// charts are the plots benchtable writes: file name, and how to draw the
// series kept under the same name.
var charts = []struct {
	file, data string
	chart      bench.Chart
}{
	{"bench-throughput.svg", "throughput", bench.Chart{Title: "Command throughput against concurrent clients", X: "concurrent clients", Y: "commands per second", LogX: true, LogY: true}},
	{"bench-formatting.svg", "formatting", bench.Chart{Title: "Formatting time against result size", X: "elements", Y: "seconds per result", LogX: true, LogY: true}},
}

// writePlots writes every chart that has data into dir and returns the
// files written.
func (p *progress) writePlots(dir string) ([]string, error) {
	var files []string
	for _, c := range charts {
		series := p.data[c.data]
		if len(series) == 0 {
			continue
		}
		names := make([]string, 0, len(series))
		for n := range series {
			names = append(names, n)
		}
		sort.Strings(names)
		ch := c.chart
		for _, n := range names {
			ch.Series = append(ch.Series, bench.Series{Name: n, Points: series[n]})
		}
		path := filepath.Join(dir, c.file)
		if err := ch.WriteSVG(path); err != nil {
			return files, err
		}
		files = append(files, path)
	}
	return files, nil
}
