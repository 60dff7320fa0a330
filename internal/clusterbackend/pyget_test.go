package clusterbackend

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestShapesTakeOddMonitorOutput: the reshaping of monitor answers for
// Python's get() names never panics on members missing or of another
// type, and reads what is there.
func TestShapesTakeOddMonitorOutput(t *testing.T) {
	for _, v := range []any{nil, "x", 1.0, []any{1}, map[string]any{"public_addrs": "x"},
		map[string]any{"public_addrs": map[string]any{"addrvec": []any{"x", nil}}}} {
		assert.Equal(t, "", monAddr(v), "%#v", v)
	}
	assert.Equal(t, "127.0.0.1:3300", monAddr(map[string]any{"public_addrs": map[string]any{"addrvec": []any{map[string]any{"addr": "127.0.0.1:3300"}}}}))
	assert.Equal(t, "127.0.0.1:6789", monAddr(map[string]any{"addr": "127.0.0.1:6789/0"}))
	for _, v := range []any{nil, "x", map[string]any{"osd_stats": "x"}, map[string]any{"osd_stats": []any{1, nil}}} {
		assert.Equal(t, map[string]any{"osd_ping_times": []any{}}, pingTimes(v), "%#v", v)
		withoutPingTimes(v)
	}
	assert.Equal(t, map[string]any{"pg_ready": nil}, onlyKey("pg_ready")("x"))
}
