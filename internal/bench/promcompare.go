package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// The fairness check of the prometheus scrape comparison: both sides'
// texts describe the same samples in the families both write, before
// their times are compared.

// Exposition is a scrape's text read back: family (metric name) ->
// label set (`k="v",...`, sorted by label name) -> value.
type Exposition map[string]map[string]float64

// ParseExposition reads the Prometheus text format leniently: Pacific's
// module writes some families twice (pool_objects_repaired) and prints
// floats its own way; samples of a name are merged. Time stamps are
// ignored. A sample line that does not parse is an error.
func ParseExposition(text []byte) (Exposition, error) {
	out := Exposition{}
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, labels, rest := line, "", ""
		if i := strings.IndexByte(line, '{'); i >= 0 {
			j := strings.LastIndexByte(line, '}')
			if j < i {
				return nil, fmt.Errorf("line %d: %.200q: no closing brace", n, line)
			}
			name, labels, rest = line[:i], line[i+1:j], strings.TrimSpace(line[j+1:])
		} else {
			name, rest, _ = strings.Cut(line, " ")
		}
		valText, _, _ := strings.Cut(rest, " ")
		v, err := strconv.ParseFloat(valText, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: %.200q: %w", n, line, err)
		}
		set, err := sortedLabels(labels)
		if err != nil {
			return nil, fmt.Errorf("line %d: %.200q: %w", n, line, err)
		}
		if out[name] == nil {
			out[name] = map[string]float64{}
		}
		out[name][set] = v
	}
	return out, sc.Err()
}

// sortedLabels renders `a="x",b="y"` (values escaped or not) sorted by
// label name.
func sortedLabels(text string) (string, error) {
	var pairs []string
	for text != "" {
		k, rest, ok := strings.Cut(text, `="`)
		if !ok {
			return "", fmt.Errorf("a label without a value in %q", text)
		}
		i := 0
		for ; i < len(rest) && rest[i] != '"'; i++ {
			if rest[i] == '\\' {
				i++
			}
		}
		if i >= len(rest) {
			return "", fmt.Errorf("an unterminated label value in %q", text)
		}
		pairs = append(pairs, strings.TrimSpace(k)+`="`+rest[:i]+`"`)
		text = strings.TrimPrefix(rest[i+1:], ",")
	}
	slices.Sort(pairs)
	return strings.Join(pairs, ","), nil
}

// Samples is the number of samples.
func (e Exposition) Samples() int {
	n := 0
	for _, f := range e {
		n += len(f)
	}
	return n
}

// ScrapeComparison is how two scrapes of the same cluster compare.
type ScrapeComparison struct {
	// Families both write (collect durations left out: their methods and
	// values are each side's own), and their samples.
	Families, Samples int
	// Mismatches lists (at most 10) samples of those families one side
	// lacks or has with another value; Differ counts them all.
	Mismatches []string
	Differ     int
	// PyOnly and GoOnly are the families only one side writes, with
	// their sample counts.
	PyOnly, GoOnly map[string]int
	// PySamples and GoSamples are each side's samples in all.
	PySamples, GoSamples int
}

// collectDuration is the family prefix left out of the comparison.
const collectDuration = "ceph_prometheus_collect_duration_seconds_"

// CompareScrapes compares Pacific's module's text with the Go module's.
func CompareScrapes(pyText, goText []byte) (ScrapeComparison, error) {
	py, err := ParseExposition(pyText)
	if err != nil {
		return ScrapeComparison{}, fmt.Errorf("the Python module's text: %w", err)
	}
	gom, err := ParseExposition(goText)
	if err != nil {
		return ScrapeComparison{}, fmt.Errorf("the Go module's text: %w", err)
	}
	c := ScrapeComparison{PyOnly: map[string]int{}, GoOnly: map[string]int{}, PySamples: py.Samples(), GoSamples: gom.Samples()}
	miss := func(format string, args ...any) {
		c.Differ++
		if len(c.Mismatches) < 10 {
			c.Mismatches = append(c.Mismatches, fmt.Sprintf(format, args...))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(py)) {
		pf, gf := py[name], gom[name]
		switch {
		case strings.HasPrefix(name, collectDuration):
			continue
		case gf == nil:
			c.PyOnly[name] = len(pf)
			continue
		}
		c.Families++
		c.Samples += len(pf)
		for _, ls := range slices.Sorted(maps.Keys(pf)) {
			gv, ok := gf[ls]
			switch {
			case !ok:
				miss("%s{%s}: missing from the Go module's", name, ls)
			case gv != pf[ls] && !(gv != gv && pf[ls] != pf[ls]): // NaN equals NaN here
				miss("%s{%s}: Python %v, Go %v", name, ls, pf[ls], gv)
			}
		}
		for _, ls := range slices.Sorted(maps.Keys(gf)) {
			if _, ok := pf[ls]; !ok {
				miss("%s{%s}: only in the Go module's", name, ls)
			}
		}
	}
	for name, gf := range gom {
		if py[name] == nil && !strings.HasPrefix(name, collectDuration) {
			c.GoOnly[name] = len(gf)
		}
	}
	return c, nil
}

// PyOnlySamples is the samples of the families only Python writes.
func (c ScrapeComparison) PyOnlySamples() int {
	n := 0
	for _, v := range c.PyOnly {
		n += v
	}
	return n
}
