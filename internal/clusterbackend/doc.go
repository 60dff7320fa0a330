// Package clusterbackend attaches gomgr to a real Ceph cluster
// (`ceph-mgr -c ceph.conf`): a backend.Backend whose state lives in the
// monitors, and a daemon.Election between gomgr daemons on any hosts
// through a RADOS lock. It is pure Go: it talks to the cluster through the
// small Conn interface, implemented with go-ceph (cgo) by
// internal/cephrados, which the binaries reach through the gomgr-rados
// helper process (internal/radosproc), and by a fake in the tests.
//
// # Module options: the configuration database
//
// Options live where the Python mgr keeps them: in the monitors'
// configuration database, section "mgr", names mgr/<module>/<option> and
// mgr/<module>/<mgr id>/<option>. Config().Get answers from a cache of
// `config dump` (the global, mgr and mgr.<id> sections merged, most
// specific first, host masks honoured) refreshed every PollInterval; keys
// whose value changed there emit backend.Event{Kind: ConfigChanged}, so
// `ceph config set` reaches a running module within about a second. Set
// is `config set mgr <name> <value>` and Delete `config rm mgr <name>`.
//
// The monitors check option names against the options the real ceph-mgr
// daemons reported. On Pacific (16.2) an option of a gomgr-only module
// (mgr/hello/place, or selftest's rwoption7 which Pacific's Python
// selftest lacks) is refused with EINVAL "unrecognized config option";
// Set then repeats the command with force=true (`ceph config set ...
// --force`), which Pacific accepts without validation. Such values are
// stored under the same name and key as any other
// (config/mgr/mgr/<module>/<option> in the monitors' key store) and listed
// by `ceph config dump` and `ceph config get mgr` (level "unknown"). For
// these options, from the ceph CLI:
//
//   - `ceph config set mgr mgr/hello/place Mars` is refused (EINVAL); add
//     --force: `ceph config set mgr mgr/hello/place Mars --force` works and
//     the module sees it at run time;
//   - `ceph config get mgr mgr/hello/place` fails with ENOENT
//     "unrecognized key"; `ceph config dump` and `ceph config get mgr`
//     (without a key) show the value;
//   - `ceph config rm mgr mgr/hello/place` works;
//   - `ceph config-key set config/mgr/mgr/hello/place Mars` also works (it
//     is how the monitors store it).
//
// Options the real mgr knows (a gomgr module with the name and options of
// a Python module that ships with the cluster) need no --force and are
// validated by the monitors as usual.
//
// # The KV store: config-key
//
// Module stores use the real mgr's key names, mgr/<module>/<key>, in the
// config-key store. Everything under mgr/ is cached: loaded with
// `config-key dump mgr/`, written through (`config-key set` with the value
// as input buffer, `config-key rm`), and reloaded every KVRefresh so keys
// changed from outside are seen. Keys outside mgr/ are not cached: Get and
// List ask the monitors on each call.
//
// The daemon keeps its enabled module list there too, under mgr/.gomgr/
// (kvkeys.ReservedKVPrefix), shared by every gomgr daemon of the cluster.
// The daemon's own config-key commands hide that prefix and refuse to
// write it, but `ceph config-key set` on the cluster can: a value the
// manager cannot parse keeps the module names it can read and raises
// MGR_ENABLED_MODULES_CORRUPT. A write of the list that fails (the
// monitors are down) changes nothing in the daemon and is repeated once
// they answer again, since a timed-out write may still have landed.
//
// # Daemons: metadata and performance counters
//
// The module API's get_metadata, get_daemon_status and list_servers use
// `osd metadata` (with an integer id), `mon metadata`, `mgr metadata` and
// `mds metadata` (with "who"), and the service map for other daemons; a
// daemon the cluster does not know gives nil, as Python's None.
// The perf counters (get_perf_schema, get_counter, get_latest_counter)
// are collected as the real mgr receives them (perf.go, the
// backend.PerfCounters contract): every mgr_stats_period, `perf dump` of
// each up OSD, each monitor and each MDS (addressed by name), into a
// bounded history per counter (internal/perfstate). librados reaches the
// active mgr only without naming it, so the module runtime answers
// -EOPNOTSUPP for the mgrs (other than the daemon itself) and for other
// daemon types.
//
// # Cluster state: Get, notifications, commands
//
// Cluster().Get answers the names of Python's get(): osd_map (`osd dump`),
// osd_map_tree, osd_map_crush, osd_metadata (keyed by id), mon_map (`mon
// dump`), mon_status (`quorum_status`), fs_map (`fs dump`), mds_metadata,
// mgr_map (`mgr dump`), service_map, health (`health detail`), df (`df
// detail`), pg_summary (by_osd/by_pool/all state counts and pg_stats_sum,
// from `pg dump pgs_brief` and `pg dump summary`), pg_status (`pg stat`),
// pg_dump, pg_stats, osd_stats, osd_pool_stats, io_rate and config (this
// daemon's effective configuration). Values are decoded JSON, a fresh copy
// per call. Maps are cached and fetched again only when `status`, polled
// every PollInterval, shows that their epoch (or the health / PG summary)
// changed; then modules get the matching notification (osd_map, mon_map,
// fs_map, mgr_map, health, pg_summary).
//
// Cluster().Command sends mon, mgr, osd and pg commands through librados;
// a failure keeps the cluster's errno and status text.
//
// # Losing the monitors
//
// HaveMonConnection is true while `status` answers. librados' operation
// timeouts are kept short (DefaultOpTimeout) so a dead monitor is noticed
// within PollInterval + OpTimeout; a ConnectionChanged event is emitted
// each way. Meanwhile modules keep working on the cached state: Get
// serves the last maps, option and store reads come from the caches, and
// writes and monitor commands fail with the errno librados reports
// (-ETIMEDOUT). librados reconnects by itself when a monitor answers again;
// the next poll notices and refreshes everything.
//
// # Active and standby
//
// See Election: a cls_lock exclusive lock, renewed with LockMustRenew,
// on an object in a dedicated pool (--lock-pool, default .gomgr, created
// on first use). A standby runs its standby modules on this same backend
// (read-only by construction: the standby handle cannot write).
//
// The daemon id is claimed the same way (see claimID): a lock on
// gomgr.id.<ID> in the same pool, held for the daemon's life, so a second
// daemon calling itself mgr.<ID> on the cluster is refused (-EEXIST).
package clusterbackend
