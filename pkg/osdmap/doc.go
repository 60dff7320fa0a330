// Package osdmap is the OSD map as a value: the Go counterpart of the
// OSDMap and CRUSHMap objects Python modules get from self.get_osdmap()
// (mgr_module.py, backed by src/mgr/PyOSDMap.cc in Ceph).
//
// An OSDMap is decoded from the JSON of `ceph osd dump -f json` (what the
// mgr's get("osd_map") returns) and its CRUSH map from `ceph osd crush dump
// -f json` (get("osd_map_crush")). The parts modules read most are typed
// (epoch, pools, OSDs with their state and addresses, flags, pg_upmap and
// pg_upmap_items entries; the CRUSH map's devices, buckets and rules); the
// whole decoded dump stays available through Dump for anything else.
//
// The accessors follow the Python methods and the C++ behind them:
//
//	Python (mgr_module.py)            Go
//	OSDMap.get_epoch()                OSDMap.Epoch
//	OSDMap.get_crush_version()        OSDMap.CrushVersion
//	OSDMap.dump()                     OSDMap.Dump
//	OSDMap.get_pools()                OSDMap.Pools
//	OSDMap.get_pools_by_name()        OSDMap.PoolsByName
//	OSDMap.get_pools_by_take(take)    OSDMap.PoolsByTake
//	OSDMap.pool_raw_used_rate(id)     OSDMap.PoolRawUsedRate
//	OSDMap.get_ec_profile(name)       OSDMap.ErasureCodeProfile
//	OSDMap.get_require_osd_release()  OSDMap.RequireOSDRelease
//	OSDMap.get_crush()                OSDMap.CRUSH
//	CRUSHMap.dump()                   CRUSH.Dump
//	CRUSHMap.get_item_name(id)        CRUSH.ItemName
//	CRUSHMap.get_item_weight(id)      CRUSH.ItemWeight
//	CRUSHMap.find_takes()             CRUSH.FindTakes
//	CRUSHMap.find_roots()             CRUSH.FindRoots
//	CRUSHMap.get_rule(name)           CRUSH.Rule
//	CRUSHMap.get_rule_by_id(id)       CRUSH.RuleByID
//	CRUSHMap.get_rule_root(name)      CRUSH.RuleRoot
//	CRUSHMap.get_take_weight_osd_map  CRUSH.TakeWeightOSDMap
//	CRUSHMap.get_osds_under(root)     CRUSH.OSDsUnder
//
// Where Python returns None (an item that does not exist, a rule that is
// not there) the Go method returns (zero, false). Where the C++ returns
// NULL without an exception (pool_raw_used_rate of a pool that does not
// exist, get_take_weight_osd_map of an item that does not exist; Python
// raises SystemError) or would crash the mgr (an erasure-code profile with
// k = 0), the Go method returns an error wrapping the errno (ENOENT,
// EINVAL). Floating-point results are computed in single precision, as
// the C++ does, so they equal Python's to the last bit.
//
// An OSDMap and everything it returns are values: the accessors return
// copies, so callers may modify what they get, and an OSDMap is safe for
// concurrent use. An OSDMapIncremental (new_incremental, calc_pg_upmaps)
// and the PG mapping functions (map_pool_pgs_up, pg_to_up_acting_osds),
// which need the CRUSH algorithm itself, are not provided.
package osdmap
