package prometheus_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/pkg/module/moduletest"
)

// TestCacheSwitchedAtRuntime: cache is read on every scrape, so turning
// it on while the module runs must find the background collection
// running (it served "No cached data available yet" for ever), and
// turning it off again serves uncached scrapes.
func TestCacheSwitchedAtRuntime(t *testing.T) {
	port := freePort(t)
	h := moduletest.Start(t, "prometheus", moduletest.WithOption("server_addr", "127.0.0.1"),
		moduletest.WithOption("server_port", strconv.Itoa(port)), moduletest.WithOption("cache", "false"),
		moduletest.WithOption("scrape_interval", "0.5"))
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	for _, step := range []struct {
		cache bool
		name  string
	}{{false, "off"}, {true, "on"}, {false, "off again"}, {true, "on again"}} {
		t.Run(step.name, func(t *testing.T) {
			require.NoError(t, h.SetOption("cache", step.cache))
			var code int
			var body string
			poll(10*time.Second, func() bool {
				code, _, body = get(t, url)
				return code == http.StatusOK
			})
			require.Equal(t, http.StatusOK, code, body)
			require.Contains(t, body, "# TYPE ceph_health_status ")
		})
	}
}
