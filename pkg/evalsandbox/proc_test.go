package evalsandbox

import "testing"

// TestOutOfMemory: how a worker that died is told to have hit its memory
// limit, from what its runtime printed.
func TestOutOfMemory(t *testing.T) {
	for _, tc := range []struct {
		stderr string
		want   bool
	}{
		{"fatal error: runtime: out of memory\n", true},
		{"runtime: cannot allocate memory\n", true},
		{"runtime: program exceeds 10000-thread limit\nfatal error: thread exhaustion", false},
		// A thread's stack counts against RLIMIT_DATA (seen under load).
		{"runtime/cgo: pthread_create failed: Resource temporarily unavailable\nSIGABRT: abort", true},
		{"SIGSEGV: segmentation violation\nPC=0x0", true},
		{"panic: a bug\n\ngoroutine 1 [running]:", false},
		{"", false},
	} {
		if got := (&exitInfo{stderr: tc.stderr}).outOfMemory(); got != tc.want {
			t.Errorf("outOfMemory(%q) = %v, want %v", tc.stderr, got, tc.want)
		}
	}
}
