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
