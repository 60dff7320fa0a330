package bench

import (
	"fmt"
	"testing"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

func BenchmarkDispatch(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("commands=%d", n), DispatchBenchmark(n))
	}
}

func BenchmarkFormat(b *testing.B) {
	for _, n := range []int{10, 10000, 1000000} {
		for _, f := range []objectformat.Format{objectformat.JSON, objectformat.YAML} {
			b.Run(fmt.Sprintf("%s/items=%d", f, n), FormatBenchmark(n, f))
		}
	}
}

// BenchmarkSideBySideDispatch is gomgr's side of benchtable's dispatch
// rows against Python.
func BenchmarkSideBySideDispatch(b *testing.B) {
	for _, c := range DispatchCases {
		b.Run(c.Name, func(b *testing.B) {
			op, _, err := SideBySideDispatch(c)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if err := op(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMatchCommandLines is gomgr's side of the matching row: the
// 100 command lines against the real monitor command table, per round.
func BenchmarkMatchCommandLines(b *testing.B) {
	lines, err := LoadCommandLines(repoFile(CommandLines))
	if err != nil {
		b.Fatal(err)
	}
	round, err := MatchRound(repoFile(MonDescriptions), lines)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if round() != 90 {
			b.Fatal("the 90 commands of the file should match")
		}
	}
}
