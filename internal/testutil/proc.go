package testutil

import (
	"fmt"
	"os"
	"runtime"
	"strings"
)

// ProcessAlive reports whether process pid runs; a zombie (exited, not yet
// reaped) does not.
func ProcessAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z"
}

// HeapInuse is the bytes of the Go heap in use after a collection: what
// a test's process still holds, garbage excluded.
func HeapInuse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}
