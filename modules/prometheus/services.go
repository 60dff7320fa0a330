package prometheus

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// The label sets of this file's families, as Pacific names them.
var (
	fsMetadataLabels        = []string{"data_pools", "fs_id", "metadata_pool", "name"}
	mdsMetadataLabels       = []string{"ceph_daemon", "fs_id", "hostname", "public_addr", "rank", "ceph_version"}
	rgwMetadataLabels       = []string{"ceph_daemon", "hostname", "ceph_version", "instance_id"}
	rbdMirrorMetadataLabels = []string{"ceph_daemon", "id", "instance_id", "hostname", "ceph_version"}
	diskOccupationLabels    = []string{"ceph_daemon", "device", "db_device", "wal_device", "instance", "devices", "device_ids"}
	// diskOccupationHumanLabels are what Pacific's group_by keeps of
	// diskOccupationLabels: the grouping keys (device, instance) and the
	// joined one (ceph_daemon), in diskOccupationLabels' order.
	diskOccupationHumanLabels = []string{"ceph_daemon", "device", "instance"}
)

// serviceFamilies are the families of the file system, the other daemons'
// metadata, disk occupation, repaired objects and daemon health. Their
// help texts are those Pacific's output carries: disk_occupation_human's
// is disk_occupation's (Pacific's group_by makes the family anew from
// disk_occupation at every collection, help text included), and
// pool_objects_repaired's is the one of the family Pacific writes per
// pool (its declared family, labelled pool_id, never has a sample).
var serviceFamilies = []struct {
	name, help string
	typ        prometheus.ValueType
	labels     []string
}{
	{"fs_metadata", "FS Metadata", untyped, fsMetadataLabels},
	{"mds_metadata", "MDS Metadata", untyped, mdsMetadataLabels},
	{"rgw_metadata", "RGW Metadata", untyped, rgwMetadataLabels},
	{"rbd_mirror_metadata", "RBD Mirror Metadata", untyped, rbdMirrorMetadataLabels},
	{"disk_occupation", "Associate Ceph daemon with disk used", untyped, diskOccupationLabels},
	{"disk_occupation_human", "Associate Ceph daemon with disk used", untyped, diskOccupationHumanLabels},
	{"pool_objects_repaired", "Number of objects repaired in a pool Count", counter, []string{"poolid"}},
	{"daemon_health_metrics", "Health metrics for Ceph daemons", gauge, []string{"type", "ceph_daemon"}},
}

func init() {
	for i := range serviceFamilies {
		d := &serviceFamilies[i]
		f := newFamily(d.name, d.help, d.typ, d.labels)
		if families[f.name] != nil {
			panic("prometheus: family " + f.name + " declared twice")
		}
		families[f.name] = f
	}
}

// getFS is Pacific's get_fs: fs_metadata for every file system,
// mds_metadata for every MDS of their maps and for the standbys (fs_id
// "-1").
func (m *Module) getFS(ctx context.Context, s *scrape) error {
	fsMap, err := s.getMap(ctx, m.mgr, "fs_map")
	if err != nil {
		return err
	}
	servers, err := s.serviceList(ctx, m.mgr)
	if err != nil {
		return err
	}
	fsSamples(s, fsMap, servers)
	return nil
}

// fsSamples is getFS's part after its get()s. Like Pacific's, an MDS
// that list_servers does not know has an empty hostname and version, and
// public_addr is the MDS's address as the map has it (not cut at its
// port, as the monitors' and OSDs' are).
func fsSamples(s *scrape, fsMap map[string]any, servers map[serviceKey]service) {
	for _, sb := range asList(fsMap["standbys"]) {
		mds := asMap(sb)
		id := asString(mds["name"])
		svc := servers[serviceKey{id, "mds"}]
		s.set("mds_metadata", 1, "mds."+id, "-1", svc.host, asString(mds["addr"]), asString(mds["rank"]), svc.version)
	}
	for _, f := range asList(fsMap["filesystems"]) {
		fs := asMap(f)
		mdsMap := asMap(fs["mdsmap"])
		var pools []string
		for _, p := range asList(mdsMap["data_pools"]) {
			pools = append(pools, asString(p))
		}
		fsID := asString(fs["id"])
		s.set("fs_metadata", 1, strings.Join(pools, ","), fsID, asString(mdsMap["metadata_pool"]), asString(mdsMap["fs_name"]))
		for _, d := range asMap(mdsMap["info"]) {
			mds := asMap(d)
			id := asString(mds["name"])
			svc := servers[serviceKey{id, "mds"}]
			s.set("mds_metadata", 1, "mds."+id, fsID, svc.host, asString(mds["addr"]), asString(mds["rank"]), svc.version)
		}
	}
}

// serviceSamples is the end of Pacific's get_metadata_and_osd_status:
// rgw_metadata for every RGW list_servers knows, rbd_mirror_metadata for
// every rbd-mirror daemon with metadata (read by metadata).
func serviceSamples(s *scrape, servers map[serviceKey]service, metadata func(typ, id string) (map[string]any, error)) error {
	for key, svc := range servers {
		switch key.typ {
		case "rgw":
			s.set("rgw_metadata", 1, "rgw."+svc.name, svc.host, svc.version, key.id)
		case "rbd-mirror":
			meta, err := metadata("rbd-mirror", key.id)
			if err != nil {
				return fmt.Errorf("rbd-mirror.%s metadata: %w", key.id, err)
			}
			if meta == nil {
				continue
			}
			labels := make([]string, len(rbdMirrorMetadataLabels))
			labels[0] = "rbd-mirror." + key.id
			for i, k := range rbdMirrorMetadataLabels[1:] {
				labels[i+1] = asString(meta[k])
			}
			s.set("rbd_mirror_metadata", 1, labels...)
		}
	}
	return nil
}

// diskOccupation is the disk_occupation sample of one OSD (Pacific's,
// in get_metadata_and_osd_status): its data device, DB and WAL devices
// (filestore: its journal) on its host, and the devices and their ids;
// an OSD whose data device or host is unknown has none (reported by
// returning false).
func diskOccupation(s *scrape, f *family, daemon string, meta map[string]any) bool {
	str := func(k string) string {
		if v, ok := meta[k]; ok {
			return asString(v)
		}
		return ""
	}
	var dev, db, wal string
	switch str("osd_objectstore") {
	case "filestore":
		dev, wal = str("backend_filestore_dev_node"), str("osd_journal")
	case "bluestore":
		dev, db, wal = str("bluestore_bdev_dev_node"), str("bluefs_db_dev_node"), str("bluefs_wal_dev_node")
	}
	if dev == "unknown" {
		dev = ""
	}
	devs, ids := str("devices"), str("device_ids")
	if devs == "" {
		devs = "N/A"
	}
	if ids == "" {
		ids = "N/A"
	}
	host := str("hostname")
	if dev == "" || host == "" {
		return false
	}
	s.add(f, 1, []string{daemon, dev, db, wal, host, devs, ids})
	return true
}

// diskOccupationHuman is Pacific's disk_occupation_human:
// disk_occupation grouped by (device, instance), the daemons of a group
// joined by ", " in the order they were recorded, the value the group's
// first.
func diskOccupationHuman(s *scrape) {
	type group struct {
		device, instance string
		first            string   // the first daemon
		more             []string // the others, if any
		value            float64
	}
	f := families["disk_occupation"]
	slot := s.slotOf(f)
	if slot == 0 {
		return
	}
	groups := make([]group, 0, s.counts[slot])
	byKey := make(map[[2]string]int, s.counts[slot])
	for _, smp := range s.samples {
		if int(smp.slot) != slot {
			continue
		}
		labels := s.labelsOf(smp)
		key := [2]string{labels[1], labels[4]} // device, instance
		if i, ok := byKey[key]; ok {
			groups[i].more = append(groups[i].more, labels[0])
			continue
		}
		byKey[key] = len(groups)
		groups = append(groups, group{device: key[0], instance: key[1], first: labels[0], value: smp.value})
	}
	human := families["disk_occupation_human"]
	for _, g := range groups {
		daemons := g.first
		if len(g.more) > 0 {
			daemons = strings.Join(append([]string{g.first}, g.more...), ", ")
		}
		s.add(human, g.value, []string{daemons, g.device, g.instance})
	}
}

// getPoolRepairedObjects is Pacific's get_pool_repaired_objects: the
// objects repaired in each pool, from pg_dump's pool_stats.
func (m *Module) getPoolRepairedObjects(ctx context.Context, s *scrape) error {
	dump, err := s.getMapFields(ctx, m.mgr, "pg_dump", scrapeGets("")["pg_dump"])
	if err != nil {
		return err
	}
	repairedSamples(s, dump)
	return nil
}

// repairedSamples is getPoolRepairedObjects' part after get("pg_dump").
func repairedSamples(s *scrape, dump map[string]any) {
	for _, p := range asList(dump["pool_stats"]) {
		st := asMap(p)
		s.set("pool_objects_repaired", asFloat(asMap(st["stat_sum"])["num_objects_repaired"]), asString(st["poolid"]))
	}
}

// fixedNameRE is the RGW sync counters' paths, whose zone Pacific's
// add_fixed_name_metrics moves to a label (greedy as Pacific's: the zone
// is everything up to the path's last '.').
// fixedNamePrefix starts every path fixedNameRE matches.
const fixedNamePrefix = "data-sync-from-"

var (
	fixedNameRE     = regexp.MustCompile(`^data-sync-from-(.*)\.`)
	fixedNameZoneRE = regexp.MustCompile(`from-([^.]*)`)
)

// fixedName is Pacific's add_fixed_name_metrics for one perf counter
// path: for "data-sync-from-<zone>.<counter>", the path with the zone
// replaced by "zone" and the zone, which becomes the copy's source_zone
// label.
func fixedName(path string) (newPath, zone string, ok bool) {
	m := fixedNameRE.FindStringSubmatch(path)
	if m == nil {
		return "", "", false
	}
	return fixedNameZoneRE.ReplaceAllString(path, "from-zone"), m[1], true
}

// getDaemonHealthMetrics is Pacific's get_all_daemon_health_metrics: the
// health metrics the daemons report to the mgr (SLOW_OPS,
// PENDING_CREATING_PGS), by type and daemon. Only bridged into a real
// ceph-mgr are there any (Handle.GetDaemonHealthMetrics).
func (m *Module) getDaemonHealthMetrics(ctx context.Context, s *scrape) error {
	metrics, err := m.mgr.GetDaemonHealthMetrics(ctx)
	if err != nil {
		return fmt.Errorf("get_daemon_health_metrics: %w", err)
	}
	daemonHealthSamples(s, metrics)
	return nil
}

// daemonHealthSamples is getDaemonHealthMetrics' part after its call.
func daemonHealthSamples(s *scrape, metrics map[string]any) {
	for daemon, list := range metrics {
		for _, hm := range asList(list) {
			metric := asMap(hm)
			s.set("daemon_health_metrics", asFloat(metric["value"]), asString(metric["type"]), daemon)
		}
	}
}
