package prometheus_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRBDStatsEmbedded: with rbd_stats_pools set on a pool with the rbd
// application, an embedded module (no active ceph-mgr, so no OSD perf
// query) serves every other family and no rbd_* family, scrape after
// scrape.
func TestRBDStatsEmbedded(t *testing.T) {
	h, base := startUncached(t)
	om := pacificMaps(t)["osd_map"].(map[string]any)
	pools := om["pools"].([]any)
	pools[0].(map[string]any)["application_metadata"] = map[string]any{"rbd": map[string]any{}}
	h.SetMap("osd_map", om)
	require.NoError(t, h.SetOption("rbd_stats_pools", "*"))
	for range 2 {
		code, _, body := get(t, base+"metrics")
		require.Equal(t, http.StatusOK, code, body)
		mfs := parse(t, body)
		require.NotNil(t, mfs["ceph_pool_metadata"], body)
		for name := range mfs {
			if strings.HasPrefix(name, "ceph_rbd_") {
				t.Errorf("family %s without OSD perf queries", name)
			}
		}
	}
}
