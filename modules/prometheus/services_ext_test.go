package prometheus_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/pkg/module/moduletest"
)

// startUncached starts the module without cache (each scrape collects) on
// a free port of the loopback, with pacificMaps; it returns the harness
// and the server's URL.
func startUncached(t *testing.T) (*moduletest.Harness, string) {
	t.Helper()
	port := freePort(t)
	h := moduletest.Start(t, "prometheus", moduletest.WithOption("server_addr", "127.0.0.1"),
		moduletest.WithOption("server_port", strconv.Itoa(port)), moduletest.WithOption("cache", "false"))
	for name, v := range pacificMaps(t) {
		h.SetMap(name, v)
	}
	return h, fmt.Sprintf("http://127.0.0.1:%d/", port)
}

// TestServiceFamiliesServed: the file system and repaired-object
// collectors run in a collection (fs_map, pg_dump as a Pacific mgr gives
// them), get_fs timed under Pacific's name; embedded there are no daemon
// health metrics.
func TestServiceFamiliesServed(t *testing.T) {
	h, base := startUncached(t)
	h.SetMap("fs_map", decode(t, `{"epoch": 5, "standbys": [{"name": "b", "rank": -1, "addr": "127.0.0.1:6820/7"}],
		"filesystems": [{"id": 1, "mdsmap": {"fs_name": "cephfs", "metadata_pool": 2, "data_pools": [3],
		"info": {"gid_4138": {"gid": 4138, "name": "a", "rank": 0, "addr": "127.0.0.1:6811/79765839"}}}}]}`))
	h.SetMap("pg_dump", decode(t, `{"pool_stats": [{"poolid": 3, "stat_sum": {"num_objects_repaired": 2}}, {"poolid": 1, "stat_sum": {"num_objects_repaired": 0}}]}`))
	code, _, body := get(t, base+"metrics")
	require.Equal(t, http.StatusOK, code, body)
	mfs := parse(t, body)
	require.NotNil(t, mfs["ceph_fs_metadata"], body)
	require.Equal(t, []string{`{data_pools="3",fs_id="1",metadata_pool="2",name="cephfs"} 1`}, samples(mfs["ceph_fs_metadata"]))
	require.Equal(t, []string{
		`{ceph_daemon="mds.a",ceph_version="",fs_id="1",hostname="",public_addr="127.0.0.1:6811/79765839",rank="0"} 1`,
		`{ceph_daemon="mds.b",ceph_version="",fs_id="-1",hostname="",public_addr="127.0.0.1:6820/7",rank="-1"} 1`,
	}, samples(mfs["ceph_mds_metadata"]))
	require.Equal(t, "Number of objects repaired in a pool Count", mfs["ceph_pool_objects_repaired"].GetHelp())
	require.Equal(t, []string{`{poolid="1"} 0`, `{poolid="3"} 2`}, samples(mfs["ceph_pool_objects_repaired"]))
	require.Nil(t, mfs["ceph_daemon_health_metrics"], "embedded, no daemon reports health metrics")
	require.Contains(t, samples(mfs["ceph_prometheus_collect_duration_seconds_count"]), `{method="get_fs"} 1`)
}
