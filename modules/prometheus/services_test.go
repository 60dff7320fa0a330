package prometheus

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFSSamples: fs_metadata per file system, mds_metadata for the MDSs
// of each map (fs_id the file system's) and for the standbys (fs_id -1),
// hostname and version from list_servers, empty for an MDS it does not
// know, as Pacific's.
func TestFSSamples(t *testing.T) {
	version := "ceph version 16.2.15 (618f440892089921c3e944a991122ddc44e60516) pacific (stable)"
	servers := map[serviceKey]service{{"a", "mds"}: {"vm", version, "a"}, {"c", "mds"}: {"vm2", version, "c"}}
	for _, tc := range []struct {
		name, fsMap string
		fs, mds     []string
	}{
		{name: "one fs, one active MDS (the loopback cluster's)",
			fsMap: `{"standbys": [], "filesystems": [{"id": 1, "mdsmap": {"fs_name": "cephfs", "metadata_pool": 2, "data_pools": [3],
				"info": {"gid_4138": {"gid": 4138, "name": "a", "rank": 0, "addr": "127.0.0.1:6811/79765839"}}}}]}`,
			fs:  []string{"{3,1,2,cephfs} 1"},
			mds: []string{"{mds.a,1,vm,127.0.0.1:6811/79765839,0," + version + "} 1"}},
		{name: "two file systems, several data pools, a standby and an MDS list_servers does not know",
			fsMap: `{"standbys": [{"name": "c", "rank": -1, "addr": "127.0.0.1:6820/7"}],
				"filesystems": [
				{"id": 1, "mdsmap": {"fs_name": "a", "metadata_pool": 2, "data_pools": [3, 5], "info": {"gid_1": {"name": "a", "rank": 0, "addr": "127.0.0.1:6811/1"}}}},
				{"id": 2, "mdsmap": {"fs_name": "b", "metadata_pool": 6, "data_pools": [], "info": {"gid_2": {"name": "b", "rank": 0, "addr": "127.0.0.1:6812/2"}}}}]}`,
			fs: []string{"{,2,6,b} 1", "{3,5,1,2,a} 1"},
			mds: []string{"{mds.a,1,vm,127.0.0.1:6811/1,0," + version + "} 1", "{mds.b,2,,127.0.0.1:6812/2,0,} 1",
				"{mds.c,-1,vm2,127.0.0.1:6820/7,-1," + version + "} 1"}},
		{name: "no file system", fsMap: `{"standbys": [], "filesystems": []}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScrape()
			fsSamples(s, decodeMap(t, tc.fsMap), servers)
			require.Equal(t, tc.fs, rendered(s, "fs_metadata"))
			require.Equal(t, tc.mds, rendered(s, "mds_metadata"))
		})
	}
}

// TestServiceSamples: rgw_metadata from list_servers (ceph_daemon by the
// service's name, instance_id its id), rbd_mirror_metadata from the
// daemon's metadata (left out without), other daemons nothing.
func TestServiceSamples(t *testing.T) {
	servers := map[serviceKey]service{
		{"4242", "rgw"}:        {"h1", "ceph version 16.2.15", "gw1"},
		{"4300", "rbd-mirror"}: {"h2", "ceph version 16.2.15", "4300"},
		{"4301", "rbd-mirror"}: {"h2", "ceph version 16.2.15", "4301"},
		{"0", "osd"}:           {"h1", "ceph version 16.2.15", "0"},
	}
	meta := func(typ, id string) (map[string]any, error) {
		require.Equal(t, "rbd-mirror", typ)
		if id == "4300" {
			return map[string]any{"id": "m1", "instance_id": "4300", "hostname": "h2", "ceph_version": "ceph version 16.2.15", "arch": "x86_64"}, nil
		}
		return nil, nil
	}
	s := newScrape()
	require.NoError(t, serviceSamples(s, servers, meta))
	require.Equal(t, []string{"{rgw.gw1,h1,ceph version 16.2.15,4242} 1"}, rendered(s, "rgw_metadata"))
	require.Equal(t, []string{"{rbd-mirror.4300,m1,4300,h2,ceph version 16.2.15} 1"}, rendered(s, "rbd_mirror_metadata"))

	failing := func(string, string) (map[string]any, error) { return nil, fmt.Errorf("boom") }
	err := serviceSamples(newScrape(), servers, failing)
	require.Error(t, err)
	require.Contains(t, err.Error(), "metadata: boom")
}

// TestDiskOccupation: the data, DB and WAL devices of bluestore and
// filestore OSDs, "N/A" for missing devices and ids, none for an OSD
// without a data device (memstore, "unknown") or host; the human family
// groups by device and host, joining the daemons.
func TestDiskOccupation(t *testing.T) {
	for _, tc := range []struct {
		name string
		meta map[string]any
		want string // "" for no sample
	}{
		{name: "bluestore", meta: map[string]any{"osd_objectstore": "bluestore", "bluestore_bdev_dev_node": "/dev/sdb",
			"bluefs_db_dev_node": "/dev/nvme0n1", "bluefs_wal_dev_node": "/dev/nvme0n2", "hostname": "h1", "devices": "nvme0n1,sdb",
			"device_ids": "nvme0n1=NVME_1,sdb=DISK_1"},
			want: "{osd.0,/dev/sdb,/dev/nvme0n1,/dev/nvme0n2,h1,nvme0n1,sdb,nvme0n1=NVME_1,sdb=DISK_1} 1"},
		{name: "filestore: the journal is the WAL, no DB", meta: map[string]any{"osd_objectstore": "filestore",
			"backend_filestore_dev_node": "/dev/sdc", "osd_journal": "/var/lib/ceph/osd/ceph-0/journal", "hostname": "h1", "devices": ""},
			want: "{osd.0,/dev/sdc,,/var/lib/ceph/osd/ceph-0/journal,h1,N/A,N/A} 1"},
		{name: "bluestore without devices", meta: map[string]any{"osd_objectstore": "bluestore", "bluestore_bdev_dev_node": "/dev/sdb", "hostname": "h1"},
			want: "{osd.0,/dev/sdb,,,h1,N/A,N/A} 1"},
		{name: "an unknown data device", meta: map[string]any{"osd_objectstore": "bluestore", "bluestore_bdev_dev_node": "unknown", "hostname": "h1"}},
		{name: "no host", meta: map[string]any{"osd_objectstore": "bluestore", "bluestore_bdev_dev_node": "/dev/sdb"}},
		{name: "memstore (the loopback cluster's)", meta: map[string]any{"osd_objectstore": "memstore", "hostname": "vm"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScrape()
			require.Equal(t, tc.want != "", diskOccupation(s, families["disk_occupation"], "osd.0", tc.meta))
			var want []string
			if tc.want != "" {
				want = []string{tc.want}
			}
			require.Equal(t, want, rendered(s, "disk_occupation"))
		})
	}

	// Two OSDs sharing a device on one host are one human sample, a third
	// on the same device name of another host another.
	s := newScrape()
	for _, o := range []struct{ id, dev, db, host string }{{"3", "/dev/sdb", "/dev/nvme0n1", "h1"}, {"1", "/dev/sdb", "", "h1"}, {"2", "/dev/sdb", "", "h2"}, {"4", "/dev/sdc", "", "h1"}} {
		require.True(t, diskOccupation(s, families["disk_occupation"], "osd."+o.id, map[string]any{"osd_objectstore": "bluestore", "bluestore_bdev_dev_node": o.dev,
			"bluefs_db_dev_node": o.db, "hostname": o.host}))
	}
	diskOccupationHuman(s)
	require.Equal(t, []string{"{osd.2,/dev/sdb,h2} 1", "{osd.3, osd.1,/dev/sdb,h1} 1", "{osd.4,/dev/sdc,h1} 1"},
		rendered(s, "disk_occupation_human"), "grouped by device and host, the daemons in the order they were recorded")
	out, err := s.encode()
	require.NoError(t, err)
	require.Contains(t, string(out), "# HELP ceph_disk_occupation_human Associate Ceph daemon with disk used\n# TYPE ceph_disk_occupation_human untyped\n"+
		`ceph_disk_occupation_human{ceph_daemon="osd.2",device="/dev/sdb",instance="h2"} 1`+"\n"+
		`ceph_disk_occupation_human{ceph_daemon="osd.3, osd.1",device="/dev/sdb",instance="h1"} 1`)
}

// TestDiskOccupationFromOSDSamples: the OSD collector records the disk
// occupation of the OSDs it reports (and of none it skips).
func TestDiskOccupationFromOSDSamples(t *testing.T) {
	om := decodeMap(t, `{"osds": [
		{"osd": 0, "up": 1, "in": 1, "weight": 1.0, "public_addr": "127.0.0.1:6800/1", "cluster_addr": "127.0.0.1:6801/1"},
		{"osd": 1, "up": 1, "in": 1, "weight": 1.0, "public_addr": "127.0.0.1:6802/1", "cluster_addr": "127.0.0.1:6803/1"},
		{"osd": 2, "up": 1, "in": 1, "weight": 1.0, "public_addr": "127.0.0.1:6804/1", "cluster_addr": "127.0.0.1:6805/1"}], "pools": []}`)
	classes := map[string]string{"0": "hdd", "1": "hdd"} // osd.2 is not in CRUSH
	meta := func(id string) (map[string]any, error) {
		return map[string]any{"osd_objectstore": "bluestore", "bluestore_bdev_dev_node": "/dev/sdb", "hostname": "h" + id}, nil
	}
	s := newScrape()
	require.NoError(t, newModule().osdSamples(s, om, classes, nil, meta))
	require.Equal(t, []string{"{osd.0,/dev/sdb,,,h0,N/A,N/A} 1", "{osd.1,/dev/sdb,,,h1,N/A,N/A} 1"}, rendered(s, "disk_occupation"))
	require.Equal(t, []string{"{osd.0,/dev/sdb,h0} 1", "{osd.1,/dev/sdb,h1} 1"}, rendered(s, "disk_occupation_human"))
}

// TestRepairedAndDaemonHealth: pool_objects_repaired per pool of
// pg_dump's pool_stats (label poolid, as Pacific's output has it), and
// the daemons' health metrics by type and daemon.
func TestRepairedAndDaemonHealth(t *testing.T) {
	s := newScrape()
	repairedSamples(s, decodeMap(t, `{"pool_stats": [{"poolid": 3, "stat_sum": {"num_objects_repaired": 0}},
		{"poolid": 1, "stat_sum": {"num_objects_repaired": 7}}, {"poolid": 2, "stat_sum": {}}]}`))
	require.Equal(t, []string{"{1} 7", "{2} 0", "{3} 0"}, rendered(s, "pool_objects_repaired"))

	daemonHealthSamples(s, decodeMap(t, `{"mon.a": [{"type": "SLOW_OPS", "value": 0}],
		"osd.0": [{"type": "SLOW_OPS", "value": 3}, {"type": "PENDING_CREATING_PGS", "value": 1}]}`))
	require.Equal(t, []string{"{PENDING_CREATING_PGS,osd.0} 1", "{SLOW_OPS,mon.a} 0", "{SLOW_OPS,osd.0} 3"}, rendered(s, "daemon_health_metrics"))
	out, err := s.encode()
	require.NoError(t, err)
	require.Contains(t, string(out), "# HELP ceph_pool_objects_repaired Number of objects repaired in a pool Count\n"+
		"# TYPE ceph_pool_objects_repaired counter\nceph_pool_objects_repaired{poolid=\"1\"} 7\n")
	require.Contains(t, string(out), "# HELP ceph_daemon_health_metrics Health metrics for Ceph daemons\n"+
		"# TYPE ceph_daemon_health_metrics gauge\nceph_daemon_health_metrics{ceph_daemon=\"mon.a\",type=\"SLOW_OPS\"} 0\n")
}

// TestFixedNameMetrics: an RGW sync counter is exported under its own
// name and, as Pacific's add_fixed_name_metrics adds it, under the name
// with its zone replaced by "zone" and the zone in source_zone (the zone
// greedy up to the path's last '.'); other counters are not copied.
func TestFixedNameMetrics(t *testing.T) {
	for _, tc := range []struct{ path, fixed, zone string }{
		{"data-sync-from-us-east.fetch_bytes", "data-sync-from-zone.fetch_bytes", "us-east"},
		{"data-sync-from-z1.poll_latency_sum", "data-sync-from-zone.poll_latency_sum", "z1"},
		{"data-sync-from-a.b.fetch_bytes", "data-sync-from-zone.b.fetch_bytes", "a.b"},
		{"rgw.req", "", ""},
		{"data-sync-from-nodot", "", ""},
	} {
		fixed, zone, ok := fixedName(tc.path)
		require.Equal(t, tc.fixed != "", ok, tc.path)
		require.Equal(t, tc.fixed, fixed, tc.path)
		require.Equal(t, tc.zone, zone, tc.path)
	}

	all := decodeMap(t, `{
		"rgw.gw1": {
			"data-sync-from-us-east.fetch_bytes": {"description": "Number of bytes fetched", "type": 10, "value": 100},
			"data-sync-from-us-west.fetch_bytes": {"description": "Number of bytes fetched", "type": 10, "value": 200},
			"data-sync-from-us-east.poll_latency": {"description": "Average latency of replication log requests", "type": 5, "value": 2000000000, "count": 4},
			"rgw.req": {"description": "Requests", "type": 10, "value": 4}}}`)
	s := newScrape()
	newModule().perfSamples(s, typedPerf(t, all))
	out, err := s.encode()
	require.NoError(t, err)
	require.Equal(t, `# HELP ceph_data_sync_from_us_east_fetch_bytes Number of bytes fetched
# TYPE ceph_data_sync_from_us_east_fetch_bytes counter
ceph_data_sync_from_us_east_fetch_bytes{instance_id="gw1"} 100
# HELP ceph_data_sync_from_us_east_poll_latency_count Average latency of replication log requests Count
# TYPE ceph_data_sync_from_us_east_poll_latency_count counter
ceph_data_sync_from_us_east_poll_latency_count{instance_id="gw1"} 4
# HELP ceph_data_sync_from_us_east_poll_latency_sum Average latency of replication log requests Total
# TYPE ceph_data_sync_from_us_east_poll_latency_sum counter
ceph_data_sync_from_us_east_poll_latency_sum{instance_id="gw1"} 2
# HELP ceph_data_sync_from_us_west_fetch_bytes Number of bytes fetched
# TYPE ceph_data_sync_from_us_west_fetch_bytes counter
ceph_data_sync_from_us_west_fetch_bytes{instance_id="gw1"} 200
# HELP ceph_data_sync_from_zone_fetch_bytes Number of bytes fetched
# TYPE ceph_data_sync_from_zone_fetch_bytes counter
ceph_data_sync_from_zone_fetch_bytes{instance_id="gw1",source_zone="us-east"} 100
ceph_data_sync_from_zone_fetch_bytes{instance_id="gw1",source_zone="us-west"} 200
# HELP ceph_data_sync_from_zone_poll_latency_count Average latency of replication log requests Count
# TYPE ceph_data_sync_from_zone_poll_latency_count counter
ceph_data_sync_from_zone_poll_latency_count{instance_id="gw1",source_zone="us-east"} 4
# HELP ceph_data_sync_from_zone_poll_latency_sum Average latency of replication log requests Total
# TYPE ceph_data_sync_from_zone_poll_latency_sum counter
ceph_data_sync_from_zone_poll_latency_sum{instance_id="gw1",source_zone="us-east"} 2
# HELP ceph_rgw_req Requests
# TYPE ceph_rgw_req counter
ceph_rgw_req{instance_id="gw1"} 4
`, string(out))
}
