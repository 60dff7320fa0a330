package prometheus

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"
)

// collector is the samples of a scrape as a client_golang collector
// (the last value of a label set), for the reference encoding.
type collector struct{ s *scrape }

func (collector) Describe(chan<- *prometheus.Desc) {}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	descs := map[*family]*prometheus.Desc{}
	last := map[string]int{}
	key := func(smp sample) string {
		return c.s.family(smp).name + "\x00" + strings.Join(c.s.labelsOf(smp), "\x00")
	}
	for i, smp := range c.s.samples {
		last[key(smp)] = i
	}
	for i, smp := range c.s.samples {
		if last[key(smp)] != i {
			continue
		}
		f := c.s.family(smp)
		d := descs[f]
		if d == nil {
			d = prometheus.NewDesc("ceph_"+f.name, f.help, f.labels, nil)
			descs[f] = d
		}
		if m, err := prometheus.NewConstMetric(d, f.typ, smp.value, c.s.labelsOf(smp)...); err == nil {
			ch <- m
		}
	}
}

// referenceEncode is the text client_golang's registry and expfmt's
// encoder write for the scrape's samples.
func referenceEncode(t *testing.T, s *scrape) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(collector{s}))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		require.NoError(t, enc.Encode(mf))
	}
	return buf.String()
}

// TestAppendFloat: the number format is strconv's 'g' (what expfmt
// writes), integers included.
func TestAppendFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 2))
	for i := 0; i < 100000; i++ {
		var f float64
		switch i % 4 {
		case 0:
			f = float64(r.Int64N(1<<53)) * float64(1-2*r.IntN(2))
		case 1:
			f = float64(r.Int64N(1 << (1 + r.IntN(53))))
		case 2:
			f = math.Pow(10, float64(r.IntN(16))) * float64(r.IntN(100))
		default:
			f = r.NormFloat64() * math.Pow(10, float64(r.IntN(30)-10))
		}
		require.Equal(t, strconv.FormatFloat(f, 'g', -1, 64), string(appendFloat(nil, f)), "%v", f)
	}
}

// TestEncodeMatchesClientGolang: the text is byte for byte what
// client_golang's registry and expfmt write for the same samples, on
// random scrapes with every static family, perf counter families (names
// to escape among them), label sets set twice, values to escape, values
// that are not UTF-8 (left out), and every kind of number.
func TestEncodeMatchesClientGolang(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 1))
	values := []string{"osd.1", "osd.10", "osd.2", "", "a\"b", `back\slash`, "new\nline", "ünïcode", "bad\xffutf8", "mon.a", "1", "10", "9"}
	numbers := []float64{0, 1, -1, 2, 0.5, 1e6, 999999, 1234567, 123456789012, -3, 1.5e-7, math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, math.Copysign(0, -1), 1e21,
		-7654321, 1e15, 1 << 53, 1<<53 - 1, -(1<<53 - 1), 12e9, 1000001, -1e6, 123456789.5}
	names := []string{"osd_op_r", "osd.op", "weird(name)", "mds_inodes", "x-y"}
	for round := 0; round < 200; round++ {
		s := newScrape()
		for i := 0; i < 1+r.IntN(60); i++ {
			v := numbers[r.IntN(len(numbers))]
			if r.IntN(3) == 0 {
				name := names[r.IntN(len(names))]
				s.setDynamic(name, "help "+name+"\\ \n", []prometheus.ValueType{gauge, counter, untyped}[r.IntN(3)], daemonLabel, v, values[r.IntN(len(values))])
				continue
			}
			var f *family
			for _, f = range families {
				if r.IntN(8) == 0 {
					break
				}
			}
			labels := make([]string, len(f.labels))
			for j := range labels {
				labels[j] = values[r.IntN(len(values))]
			}
			s.add(f, v, labels)
		}
		out, err := s.encode()
		require.NoError(t, err)
		require.Equal(t, referenceEncode(t, s), string(out), fmt.Sprintf("round %d", round))
	}
}
