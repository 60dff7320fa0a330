package bench

import (
	"encoding/json"
	"fmt"
	"testing"
)

func requestSize() int {
	b, _ := json.Marshal(EchoCommand)
	return len(b) + 8
}

// BenchmarkRoundTrip compares a command through the daemon with the echo
// floor, serially and with 16 and 64 concurrent clients.
func BenchmarkRoundTrip(b *testing.B) {
	reg, err := Registry()
	if err != nil {
		b.Fatal(err)
	}
	d, err := StartDaemon(reg)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Stop()
	e, err := StartEcho()
	if err != nil {
		b.Fatal(err)
	}
	defer e.Stop()
	for _, conc := range []int{1, 16, 64} {
		for _, target := range []struct {
			name string
			dial func() (func() error, func(), error)
		}{{"daemon", DaemonOp(d.APIPath(), EchoCommand)}, {"echo-floor", EchoOp(e.Path, requestSize())}} {
			b.Run(fmt.Sprintf("%s/clients=%d", target.name, conc), func(b *testing.B) {
				res, err := Parallel(conc, max(b.N, conc), target.dial)
				if err != nil {
					b.Fatal(err)
				}
				if res.Errors > 0 {
					b.Fatalf("%d errors", res.Errors)
				}
				b.ReportMetric(res.OpsPerSec(), "ops/s")
			})
		}
	}
}

// TestRoundTripSmoke keeps the benchmark code exercised by make test.
func TestRoundTripSmoke(t *testing.T) {
	reg, err := Registry()
	if err != nil {
		t.Fatal(err)
	}
	d, err := StartDaemon(reg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	res, err := Parallel(4, 400, DaemonOp(d.APIPath(), EchoCommand))
	if err != nil || res.Errors != 0 || res.Ops != 400 {
		t.Fatalf("%v %+v", err, res)
	}
}
