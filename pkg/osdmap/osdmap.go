package osdmap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"syscall"
)

// Pool types (pg_pool_t::TYPE_*), the "type" of a pool in the dump.
const (
	PoolTypeReplicated = 1
	PoolTypeErasure    = 3
)

// OSDMap is a decoded OSD map with its CRUSH map.
type OSDMap struct {
	raw          map[string]any
	epoch        int64
	crushVersion int64
	fsid         string
	maxOSD       int64
	flags        string
	flagsSet     []string
	release      string
	pools        []Pool // in dump order
	poolByID     map[int64]int
	poolByName   map[string]int
	osds         []OSD // in dump order
	osdByID      map[int]int
	upmap        []PGUpmap
	upmapItems   []PGUpmapItem
	ecProfiles   map[string]map[string]string
	crush        *CRUSH
}

// Pool is one pool of the map, an element of the dump's "pools".
type Pool struct {
	ID                 int64  `json:"pool"`
	Name               string `json:"pool_name"`
	Type               int    `json:"type"` // PoolTypeReplicated or PoolTypeErasure
	Size               int    `json:"size"`
	MinSize            int    `json:"min_size"`
	CrushRule          int    `json:"crush_rule"`
	PGNum              int    `json:"pg_num"`
	PGPlacementNum     int    `json:"pg_placement_num"`
	ErasureCodeProfile string `json:"erasure_code_profile"`
	Flags              uint64 `json:"flags"`
	FlagsNames         string `json:"flags_names"`
	raw                map[string]any
}

// Raw is the pool's entry of the dump, with the fields Pool does not type.
func (p Pool) Raw() map[string]any { return cloneMap(p.raw) }

// OSD is one OSD of the map, an element of the dump's "osds".
type OSD struct {
	ID              int     `json:"osd"`
	UUID            string  `json:"uuid"`
	Up              flag01  `json:"up"`
	In              flag01  `json:"in"`
	Weight          float64 `json:"weight"` // the reweight, 0..1
	PrimaryAffinity float64 `json:"primary_affinity"`
	LastCleanBegin  int64   `json:"last_clean_begin"`
	LastCleanEnd    int64   `json:"last_clean_end"`
	UpFrom          int64   `json:"up_from"`
	UpThru          int64   `json:"up_thru"`
	DownAt          int64   `json:"down_at"`
	LostAt          int64   `json:"lost_at"`
	// The address vectors, and the legacy single addresses as text.
	PublicAddrs         AddrVec  `json:"public_addrs"`
	ClusterAddrs        AddrVec  `json:"cluster_addrs"`
	HeartbeatBackAddrs  AddrVec  `json:"heartbeat_back_addrs"`
	HeartbeatFrontAddrs AddrVec  `json:"heartbeat_front_addrs"`
	PublicAddr          string   `json:"public_addr"`
	ClusterAddr         string   `json:"cluster_addr"`
	HeartbeatBackAddr   string   `json:"heartbeat_back_addr"`
	HeartbeatFrontAddr  string   `json:"heartbeat_front_addr"`
	State               []string `json:"state"`
	raw                 map[string]any
}

// Raw is the OSD's entry of the dump.
func (o OSD) Raw() map[string]any { return cloneMap(o.raw) }

// IsUp reports whether the OSD is up.
func (o OSD) IsUp() bool { return bool(o.Up) }

// IsIn reports whether the OSD is in.
func (o OSD) IsIn() bool { return bool(o.In) }

// flag01 is a bool the dump writes as 0 or 1.
type flag01 bool

func (f *flag01) UnmarshalJSON(b []byte) error {
	switch s := string(bytes.TrimSpace(b)); s {
	case "true":
		*f = true
	case "false", "null":
		*f = false
	default:
		n, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("want 0, 1 or a bool, not %s", s)
		}
		*f = n != 0
	}
	return nil
}

// MarshalJSON writes the flag as the dump does, 0 or 1.
func (f flag01) MarshalJSON() ([]byte, error) {
	if f {
		return []byte("1"), nil
	}
	return []byte("0"), nil
}

// AddrVec is an entity_addrvec_t of the dump ({"addrvec": [...]}).
type AddrVec struct {
	Addrs []Addr `json:"addrvec"`
}

// Addr is one entity_addr_t: its type ("v2", "v1"), "ip:port" and nonce.
type Addr struct {
	Type  string `json:"type"`
	Addr  string `json:"addr"`
	Nonce uint64 `json:"nonce"`
}

// PGUpmap is a pg_upmap entry: the PG's explicit up set.
type PGUpmap struct {
	PGID string `json:"pgid"`
	OSDs []int  `json:"osds"`
}

// PGUpmapItem is a pg_upmap_items entry: OSD replacements for a PG.
type PGUpmapItem struct {
	PGID     string         `json:"pgid"`
	Mappings []UpmapMapping `json:"mappings"`
}

// UpmapMapping replaces OSD From by OSD To.
type UpmapMapping struct {
	From int `json:"from"`
	To   int `json:"to"`
}

// typedMap is the part of the dump decoded into types.
type typedMap struct {
	Epoch        int64                        `json:"epoch"`
	FSID         string                       `json:"fsid"`
	CrushVersion int64                        `json:"crush_version"`
	MaxOSD       int64                        `json:"max_osd"`
	Flags        string                       `json:"flags"`
	FlagsSet     []string                     `json:"flags_set"`
	Release      string                       `json:"require_osd_release"`
	Pools        []json.RawMessage            `json:"pools"`
	OSDs         []json.RawMessage            `json:"osds"`
	PGUpmap      []PGUpmap                    `json:"pg_upmap"`
	PGUpmapItems []PGUpmapItem                `json:"pg_upmap_items"`
	ECProfiles   map[string]map[string]string `json:"erasure_code_profiles"`
}

// Errors the decoders and accessors wrap (errors.Is works on them, and
// their errno is what a command returns for them).
var (
	// ErrNotFound: the pool, item or bucket does not exist (ENOENT).
	ErrNotFound = syscall.ENOENT
	// ErrInvalid: the input is not a map dump, or the map cannot answer
	// (EINVAL).
	ErrInvalid = syscall.EINVAL
)

// Decode decodes an OSD map from the JSON of `ceph osd dump -f json` and
// its CRUSH map from the JSON of `ceph osd crush dump -f json`. Empty
// crushJSON (or JSON null) gives an empty CRUSH map.
func Decode(osdJSON, crushJSON []byte) (*OSDMap, error) {
	c, err := DecodeCRUSH(crushJSON)
	if err != nil {
		return nil, err
	}
	raw, err := decodeObject(osdJSON)
	if err != nil {
		return nil, fmt.Errorf("osd map: %w", err)
	}
	if raw == nil {
		return nil, fmt.Errorf("osd map: no map (null): %w", ErrInvalid)
	}
	var t typedMap
	if err := json.Unmarshal(osdJSON, &t); err != nil {
		return nil, fmt.Errorf("osd map: %w: %w", err, ErrInvalid)
	}
	m := &OSDMap{
		raw: raw, epoch: t.Epoch, crushVersion: t.CrushVersion, fsid: t.FSID, maxOSD: t.MaxOSD,
		flags: t.Flags, flagsSet: t.FlagsSet, release: t.Release,
		poolByID: map[int64]int{}, poolByName: map[string]int{}, osdByID: map[int]int{},
		upmap: t.PGUpmap, upmapItems: t.PGUpmapItems, ecProfiles: t.ECProfiles, crush: c,
	}
	rawPools, _ := raw["pools"].([]any)
	for i, b := range t.Pools {
		var p Pool
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("osd map: pool %d: %w: %w", i, err, ErrInvalid)
		}
		p.raw, _ = rawPools[i].(map[string]any)
		if p.raw == nil {
			return nil, fmt.Errorf("osd map: pool %d is not an object: %w", i, ErrInvalid)
		}
		m.poolByID[p.ID] = len(m.pools) // the last of a duplicate wins, as in Python's dict()
		m.poolByName[p.Name] = len(m.pools)
		m.pools = append(m.pools, p)
	}
	rawOSDs, _ := raw["osds"].([]any)
	for i, b := range t.OSDs {
		var o OSD
		if err := json.Unmarshal(b, &o); err != nil {
			return nil, fmt.Errorf("osd map: osd %d: %w: %w", i, err, ErrInvalid)
		}
		o.raw, _ = rawOSDs[i].(map[string]any)
		if o.raw == nil {
			return nil, fmt.Errorf("osd map: osd %d is not an object: %w", i, ErrInvalid)
		}
		m.osdByID[o.ID] = len(m.osds)
		m.osds = append(m.osds, o)
	}
	return m, nil
}

// FromValues builds an OSDMap from the decoded values get("osd_map") and
// get("osd_map_crush") return (maps, slices and numbers, as
// module.Handle.Get gives them). A nil crush gives an empty CRUSH map.
func FromValues(osdMap, crush any) (*OSDMap, error) {
	if osdMap == nil {
		return nil, fmt.Errorf("osd map: no map: %w", ErrNotFound)
	}
	ob, err := json.Marshal(osdMap)
	if err != nil {
		return nil, fmt.Errorf("osd map: encode: %w: %w", err, ErrInvalid)
	}
	var cb []byte
	if crush != nil {
		if cb, err = json.Marshal(crush); err != nil {
			return nil, fmt.Errorf("crush map: encode: %w: %w", err, ErrInvalid)
		}
	}
	return Decode(ob, cb)
}

// Epoch is the map's epoch (get_epoch).
func (m *OSDMap) Epoch() int64 { return m.epoch }

// CrushVersion is the CRUSH map's version (get_crush_version).
func (m *OSDMap) CrushVersion() int64 { return m.crushVersion }

// FSID is the cluster's fsid.
func (m *OSDMap) FSID() string { return m.fsid }

// MaxOSD is the map's max_osd: OSD ids are below it.
func (m *OSDMap) MaxOSD() int64 { return m.maxOSD }

// Dump is the whole map as decoded from its JSON (dump): a fresh copy,
// with integers as int64 (uint64 beyond), other numbers as float64.
func (m *OSDMap) Dump() map[string]any { return cloneMap(m.raw) }

// Flags is the map's flags as the dump writes them, comma-separated
// ("noout,sortbitwise,...").
func (m *OSDMap) Flags() string { return m.flags }

// FlagsSet is the set flags ("flags_set"), sorted.
func (m *OSDMap) FlagsSet() []string {
	s := slices.Clone(m.flagsSet)
	slices.Sort(s)
	return s
}

// HasFlag reports whether the flag (e.g. "noout") is set.
func (m *OSDMap) HasFlag(name string) bool { return slices.Contains(m.flagsSet, name) }

// RequireOSDRelease is require_osd_release (get_require_osd_release).
func (m *OSDMap) RequireOSDRelease() string { return m.release }

// PoolList is the pools in the dump's order (by id).
func (m *OSDMap) PoolList() []Pool { return slices.Clone(m.pools) }

// Pools is the pools by id (get_pools).
func (m *OSDMap) Pools() map[int64]Pool {
	out := make(map[int64]Pool, len(m.poolByID))
	for id, i := range m.poolByID {
		out[id] = m.pools[i]
	}
	return out
}

// PoolsByName is the pools by name (get_pools_by_name).
func (m *OSDMap) PoolsByName() map[string]Pool {
	out := make(map[string]Pool, len(m.poolByName))
	for name, i := range m.poolByName {
		out[name] = m.pools[i]
	}
	return out
}

// Pool returns the pool with the id.
func (m *OSDMap) Pool(id int64) (Pool, bool) {
	i, ok := m.poolByID[id]
	if !ok {
		return Pool{}, false
	}
	return m.pools[i], true
}

// PoolByName returns the pool with the name.
func (m *OSDMap) PoolByName(name string) (Pool, bool) {
	i, ok := m.poolByName[name]
	if !ok {
		return Pool{}, false
	}
	return m.pools[i], true
}

// OSDs is the OSDs of the map in the dump's order (by id).
func (m *OSDMap) OSDs() []OSD { return slices.Clone(m.osds) }

// OSD returns the OSD with the id.
func (m *OSDMap) OSD(id int) (OSD, bool) {
	i, ok := m.osdByID[id]
	if !ok {
		return OSD{}, false
	}
	return m.osds[i], true
}

// PGUpmap is the pg_upmap entries.
func (m *OSDMap) PGUpmap() []PGUpmap {
	out := slices.Clone(m.upmap)
	for i := range out {
		out[i].OSDs = slices.Clone(out[i].OSDs)
	}
	return out
}

// PGUpmapItems is the pg_upmap_items entries.
func (m *OSDMap) PGUpmapItems() []PGUpmapItem {
	out := slices.Clone(m.upmapItems)
	for i := range out {
		out[i].Mappings = slices.Clone(out[i].Mappings)
	}
	return out
}

// ErasureCodeProfile is the named erasure-code profile (get_ec_profile).
func (m *OSDMap) ErasureCodeProfile(name string) (map[string]string, bool) {
	p, ok := m.ecProfiles[name]
	return maps.Clone(p), ok
}

// CRUSH is the map's CRUSH map (get_crush); never nil (empty when the map
// came without one).
func (m *OSDMap) CRUSH() *CRUSH { return m.crush }

// PoolsByTake is the ids of the pools whose CRUSH rule has a take step of
// the item take (get_pools_by_take), in pool id order. A pool whose rule
// is not in the CRUSH map has no take.
func (m *OSDMap) PoolsByTake(take int) []int64 {
	out := []int64{}
	for _, p := range m.sortedPools() {
		if m.crush.ruleHasTake(p.CrushRule, take) {
			out = append(out, p.ID)
		}
	}
	return out
}

// sortedPools is one pool per id, by id (the mgr's pool map).
func (m *OSDMap) sortedPools() []Pool {
	ids := slices.Sorted(maps.Keys(m.poolByID))
	out := make([]Pool, len(ids))
	for i, id := range ids {
		out[i] = m.pools[m.poolByID[id]]
	}
	return out
}

// PoolRawUsedRate is how many bytes of raw space a byte stored in the pool
// takes (pool_raw_used_rate): its size for a replicated pool, (k+m)/k of
// its erasure-code profile for an erasure-coded one (0 when the profile
// lacks k or m). A pool that does not exist is ErrNotFound; k = 0, k+m =
// 0 or another pool type is ErrInvalid (the C++ asserts).
func (m *OSDMap) PoolRawUsedRate(id int64) (float64, error) {
	p, ok := m.Pool(id)
	if !ok {
		return 0, fmt.Errorf("pool_raw_used_rate: pool %d: %w", id, ErrNotFound)
	}
	switch p.Type {
	case PoolTypeReplicated:
		return float64(float32(uint32(p.Size))), nil
	case PoolTypeErasure:
		prof := m.ecProfiles[p.ErasureCodeProfile]
		ks, okk := prof["k"]
		ms, okm := prof["m"]
		if !okk || !okm {
			return 0, nil
		}
		k, mm := atoi(ks), atoi(ms)
		if k == 0 || k+mm == 0 {
			return 0, fmt.Errorf("pool_raw_used_rate: pool %d: erasure-code profile %q has k=%q m=%q: %w", id, p.ErasureCodeProfile, ks, ms, ErrInvalid)
		}
		return float64(float32(k+mm) / float32(k)), nil
	}
	return 0, fmt.Errorf("pool_raw_used_rate: pool %d has unknown type %d: %w", id, p.Type, ErrInvalid)
}

// atoi is C's atoi: optional spaces and sign, then the leading digits (0
// if none); it wraps like a 32-bit int.
func atoi(s string) int32 {
	i := 0
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var n int64
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int64(s[i]-'0')
		if n > math.MaxInt32+1 {
			n = math.MaxInt32 + 1 // atoi's result is undefined past int; saturate
		}
	}
	if neg {
		n = -n
	}
	return int32(n)
}

// ---- JSON helpers ----

// decodeObject decodes a JSON object keeping numbers exact; JSON null is
// (nil, nil).
func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON value: %w", ErrInvalid)
	}
	if v == nil {
		return nil, nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want a JSON object, not %s: %w", jsonKind(v), ErrInvalid)
	}
	return normalize(obj).(map[string]any), nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a bool"
	}
	return fmt.Sprintf("%T", v)
}

// normalize turns json.Numbers into int64, uint64 or float64.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return u
		}
		f, err := x.Float64()
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return string(x) // cannot happen for a number the decoder accepted
		}
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	}
	return v
}

// cloneMap deep-copies decoded JSON.
func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return cloneValue(m).(map[string]any)
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = cloneValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	}
	return v
}
