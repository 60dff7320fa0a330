package osdmap

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fixtures: osd_dump.json and crush_dump.json are `ceph osd dump -f
// json` and `ceph osd crush dump -f json` of a loopback Pacific cluster
// (scripts/ceph-cluster.sh) after
//
//	ceph osd pool create rpool 8 8 replicated
//	ceph osd pool set rpool size 2 --yes-i-really-mean-it
//	ceph osd erasure-code-profile set ec21 k=2 m=1 crush-failure-domain=osd
//	ceph osd pool create ecpool 4 4 erasure ec21
//	ceph osd set noout
//	ceph osd create                     # osd.1, then again for osd.2
//	ceph osd crush add osd.1 0.5 host=h2 root=default
//	ceph osd crush add-bucket r1 rack; ceph osd crush move r1 root=default
//	ceph osd crush set-device-class ssd osd.1
//	ceph osd crush rule create-replicated ssdrule default host ssd
//	ceph osd pool create spool 4 4 replicated ssdrule
//	ceph osd set-require-min-compat-client luminous
//	ceph osd pg-upmap-items 1.0 1 0; ceph osd pg-upmap 2.1 1 0
//	ceph osd primary-affinity osd.0 0.5; ceph osd reweight 1 0.75
//
// crush_large.json is hand-made: racks r1 (hosts a, b) and r2 (hosts c,
// d) under default, osd.1 in both a and b with different weights, osd.9
// named but in no bucket, a root "broken" holding a bucket that does not
// exist, a root "zero" of weight 0, default's entry for r2 with a stale
// weight (1), rules with one take, two takes and none.

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func realMap(t testing.TB) *OSDMap {
	t.Helper()
	m, err := Decode(readFixture(t, "osd_dump.json"), readFixture(t, "crush_dump.json"))
	require.NoError(t, err)
	return m
}

func largeCRUSH(t testing.TB) *CRUSH {
	t.Helper()
	c, err := DecodeCRUSH(readFixture(t, "crush_large.json"))
	require.NoError(t, err)
	return c
}

func errno(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}

func TestOSDMapScalars(t *testing.T) {
	m := realMap(t)
	assert.Equal(t, int64(37), m.Epoch())
	assert.Equal(t, int64(10), m.CrushVersion())
	assert.Equal(t, "d6bcb89d-e46b-429d-b16e-84bb1dc059bd", m.FSID())
	assert.Equal(t, int64(3), m.MaxOSD())
	assert.Equal(t, "pacific", m.RequireOSDRelease())
	assert.Equal(t, "noout,sortbitwise,recovery_deletes,purged_snapdirs,pglog_hardlimit", m.Flags())
	assert.Equal(t, []string{"noout", "pglog_hardlimit", "purged_snapdirs", "recovery_deletes", "sortbitwise"}, m.FlagsSet())
	for flag, want := range map[string]bool{"noout": true, "sortbitwise": true, "noin": false, "": false} {
		assert.Equal(t, want, m.HasFlag(flag), flag)
	}
	d := m.Dump()
	assert.Equal(t, int64(37), d["epoch"])
	assert.Equal(t, 0.85000002384185791, d["nearfull_ratio"])
	xinfo := d["osd_xinfo"].([]any)[0].(map[string]any)
	assert.Equal(t, int64(4540138314316775423), xinfo["features"], "integers stay exact")
	d["epoch"] = "changed"
	assert.Equal(t, int64(37), m.Dump()["epoch"], "Dump is a copy")
}

func TestOSDMapPools(t *testing.T) {
	m := realMap(t)
	for _, tc := range []struct {
		id        int64
		name      string
		typ, size int
		rule      int
		profile   string
		rate      float64
	}{
		{1, "device_health_metrics", PoolTypeReplicated, 1, 0, "", 1},
		{2, "rpool", PoolTypeReplicated, 2, 0, "", 2},
		{3, "ecpool", PoolTypeErasure, 3, 1, "ec21", 1.5},
		{4, "spool", PoolTypeReplicated, 1, 2, "", 1},
	} {
		p, ok := m.Pool(tc.id)
		require.True(t, ok, tc.name)
		assert.Equal(t, [5]any{tc.name, tc.typ, tc.size, tc.rule, tc.profile}, [5]any{p.Name, p.Type, p.Size, p.CrushRule, p.ErasureCodeProfile})
		q, ok := m.PoolByName(tc.name)
		assert.True(t, ok)
		assert.Equal(t, tc.id, q.ID)
		assert.Equal(t, tc.name, m.Pools()[tc.id].Name)
		assert.Equal(t, tc.id, m.PoolsByName()[tc.name].ID)
		assert.Equal(t, tc.name, p.Raw()["pool_name"])
		rate, err := m.PoolRawUsedRate(tc.id)
		assert.NoError(t, err)
		assert.Equal(t, tc.rate, rate, "pool_raw_used_rate(%d)", tc.id)
	}
	assert.Len(t, m.Pools(), 4)
	assert.Len(t, m.PoolList(), 4)
	_, ok := m.Pool(5)
	assert.False(t, ok)
	_, ok = m.PoolByName("nope")
	assert.False(t, ok)
	_, err := m.PoolRawUsedRate(999)
	assert.Equal(t, syscall.ENOENT, errno(err), "%v", err)
	assert.True(t, errors.Is(err, ErrNotFound))

	prof, ok := m.ErasureCodeProfile("ec21")
	assert.True(t, ok)
	assert.Equal(t, "1", prof["m"])
	_, ok = m.ErasureCodeProfile("nope")
	assert.False(t, ok)

	for take, want := range map[int][]int64{-1: {1, 2, 3}, -12: {4}, -5: {}, 0: {}} {
		assert.Equal(t, want, m.PoolsByTake(take), "get_pools_by_take(%d)", take)
	}
}

func TestOSDMapOSDs(t *testing.T) {
	m := realMap(t)
	osds := m.OSDs()
	require.Len(t, osds, 3)
	o0, ok := m.OSD(0)
	require.True(t, ok)
	assert.True(t, o0.IsUp())
	assert.True(t, o0.IsIn())
	assert.Equal(t, 1.0, o0.Weight)
	assert.Equal(t, 0.5, o0.PrimaryAffinity)
	assert.Equal(t, []Addr{{"v2", "127.0.0.1:6800", 31123}, {"v1", "127.0.0.1:6801", 31123}}, o0.PublicAddrs.Addrs)
	assert.Equal(t, "127.0.0.1:6802", o0.ClusterAddrs.Addrs[0].Addr)
	assert.Equal(t, "127.0.0.1:6806", o0.HeartbeatBackAddrs.Addrs[0].Addr)
	assert.Equal(t, "127.0.0.1:6804", o0.HeartbeatFrontAddrs.Addrs[0].Addr)
	assert.Equal(t, "127.0.0.1:6801/31123", o0.PublicAddr)
	assert.Equal(t, []string{"exists", "up"}, o0.State)
	assert.Equal(t, "933d9a4d-9f0b-4b7d-9f73-c4b585a3756d", o0.Raw()["uuid"])
	o1, _ := m.OSD(1)
	assert.False(t, o1.IsUp())
	assert.True(t, o1.IsIn())
	assert.Equal(t, 0.75, o1.Weight)
	assert.Empty(t, o1.PublicAddrs.Addrs)
	o2, _ := m.OSD(2)
	assert.Equal(t, []string{"exists", "new"}, o2.State)
	_, ok = m.OSD(3)
	assert.False(t, ok)

	assert.Equal(t, []PGUpmap{{"2.1", []int{1, 0}}}, m.PGUpmap())
	assert.Equal(t, []PGUpmapItem{{"1.0", []UpmapMapping{{From: 1, To: 0}}}}, m.PGUpmapItems())
	m.PGUpmap()[0].OSDs[0] = 7
	assert.Equal(t, 1, m.PGUpmap()[0].OSDs[0], "PGUpmap is a copy")
}

func TestPoolRawUsedRateErasure(t *testing.T) {
	// Handcrafted profiles (the real cluster's ec21 is above): the rate is
	// (k+m)/k in single precision, atoi's parsing, 0 without k or m.
	for _, tc := range []struct {
		name    string
		profile string
		want    float64
		errno   syscall.Errno
	}{
		{"k3m2", `{"k": "3", "m": "2"}`, 1.6666666269302368, 0},
		{"k4m2", `{"k": "4", "m": "2"}`, 1.5, 0},
		{"atoi", `{"k": " 2xyz", "m": "+1"}`, 1.5, 0},
		{"no m", `{"k": "2"}`, 0, 0},
		{"k0", `{"k": "0", "m": "1"}`, 0, syscall.EINVAL},
		{"k+m=0", `{"k": "1", "m": "-1"}`, 0, syscall.EINVAL},
		{"no profile", `null`, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			profiles := `{}`
			if tc.profile != "null" {
				profiles = `{"p": ` + tc.profile + `}`
			}
			m, err := Decode([]byte(`{"epoch": 1, "pools": [{"pool": 7, "pool_name": "e", "type": 3, "size": 5, "erasure_code_profile": "p"}], "erasure_code_profiles": `+profiles+`}`), nil)
			require.NoError(t, err)
			rate, err := m.PoolRawUsedRate(7)
			assert.Equal(t, tc.errno, errno(err), "%v", err)
			assert.Equal(t, tc.want, rate)
		})
	}
	m, err := Decode([]byte(`{"pools": [{"pool": 1, "pool_name": "x", "type": 2, "size": 3}]}`), nil)
	require.NoError(t, err)
	_, err = m.PoolRawUsedRate(1)
	assert.Equal(t, syscall.EINVAL, errno(err), "an unknown pool type: %v", err)
}

func TestCRUSHReal(t *testing.T) {
	c := realMap(t).CRUSH()
	for _, tc := range []struct {
		id     int
		name   string
		weight float64
		ok     bool
	}{
		{0, "osd.0", 0.0009918212890625, true},
		{1, "osd.1", 0.5, true},
		{-1, "default", 0.5009918212890625, true},
		{-12, "default~ssd", 0.5, true},
		{-7, "r1", 0, true},
		{2, "", 0, false}, // osd.2 is not in the CRUSH map
		{-13, "", 0, false},
	} {
		name, ok := c.ItemName(tc.id)
		assert.Equal(t, [2]any{tc.name, tc.ok}, [2]any{name, ok}, "get_item_name(%d)", tc.id)
		w, ok := c.ItemWeight(tc.id)
		assert.Equal(t, [2]any{tc.weight, tc.ok}, [2]any{w, ok}, "get_item_weight(%d)", tc.id)
	}
	assert.Equal(t, []int{-12, -1}, c.FindTakes())
	assert.Equal(t, []int{-12, -2, -1}, c.FindRoots())
	r, raw, ok := c.Rule("ssdrule")
	require.True(t, ok)
	assert.Equal(t, 2, r.ID)
	assert.Equal(t, RuleStep{Op: "take", Item: -12, ItemName: "default~ssd"}, r.Steps[0])
	assert.Equal(t, "ssdrule", raw["rule_name"])
	r, _, ok = c.RuleByID(1)
	assert.True(t, ok)
	assert.Equal(t, "ecpool", r.Name)
	_, _, ok = c.RuleByID(9)
	assert.False(t, ok)
	for name, want := range map[string]int{"replicated_rule": -1, "ecpool": -1, "ssdrule": -12} {
		root, ok := c.RuleRoot(name)
		assert.True(t, ok)
		assert.Equal(t, want, root, name)
	}
	_, ok = c.RuleRoot("nope")
	assert.False(t, ok)
	wm, err := c.TakeWeightOSDMap(-1)
	require.NoError(t, err)
	assert.Equal(t, map[int]float64{0: 0.00197971542365849, 1: 0.9980202913284302}, wm)
	wm, err = c.TakeWeightOSDMap(-7)
	require.NoError(t, err)
	assert.Empty(t, wm)
	under, err := c.OSDsUnder(-1)
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1}, under)
	under, err = c.OSDsUnder(-12)
	require.NoError(t, err)
	assert.Equal(t, []int{1}, under)
	assert.Len(t, c.Devices(), 2)
	assert.Len(t, c.Buckets(), 12)
	assert.Equal(t, -1, c.Buckets()[0].ID)
	assert.Equal(t, "jewel", c.Dump()["tunables"].(map[string]any)["profile"])
}

func TestCRUSHLarge(t *testing.T) {
	c := largeCRUSH(t)
	for _, tc := range []struct {
		root  int
		want  map[int]float64
		errno syscall.Errno
	}{
		{-1, map[int]float64{0: 0.12121212482452393, 1: 0.03030303120613098, 2: 0.1818181872367859, 3: 0.12121212482452393,
			4: 0.24242424964904785, 5: 0.12121212482452393, 6: 0, 7: 0.12121212482452393}, 0},
		{-2, map[int]float64{0: 0.23529411852359772, 1: 0.05882352963089943, 2: 0.3529411852359772, 3: 0.23529411852359772}, 0},
		{-3, map[int]float64{4: 0.5, 5: 0.25, 6: 0, 7: 0.25}, 0},
		{-6, map[int]float64{4: 0.6666666865348816, 5: 0.3333333432674408}, 0},
		{-7, map[int]float64{6: 0, 7: 1}, 0},
		{-8, nil, syscall.EINVAL}, // holds bucket -99, not in the map
		{0, nil, syscall.EINVAL},  // a device
		{-99, nil, syscall.ENOENT},
		{42, nil, syscall.ENOENT},
	} {
		wm, err := c.TakeWeightOSDMap(tc.root)
		assert.Equal(t, tc.errno, errno(err), "get_take_weight_osd_map(%d): %v", tc.root, err)
		assert.Equal(t, tc.want, wm, "get_take_weight_osd_map(%d)", tc.root)
	}
	wm, err := c.TakeWeightOSDMap(-10)
	require.NoError(t, err)
	assert.True(t, math.IsNaN(wm[6]), "a root of weight 0: %v", wm)

	for _, tc := range []struct {
		root  int
		want  []int
		errno syscall.Errno
	}{
		{-1, []int{0, 1, 2, 3, 1, 4, 5, 6, 7}, 0},
		{-5, []int{2, 3, 1}, 0},
		{-8, []int{4, 5}, 0}, // the missing bucket is skipped
		{-10, []int{6}, 0},
		{-99, nil, syscall.ENOENT},
		{3, nil, syscall.ENOENT},
	} {
		got, err := c.OSDsUnder(tc.root)
		assert.Equal(t, tc.errno, errno(err), "get_osds_under(%d): %v", tc.root, err)
		assert.Equal(t, tc.want, got, "get_osds_under(%d)", tc.root)
	}

	for _, tc := range []struct {
		id   int
		want float64
		ok   bool
	}{
		{1, 0.5, true},                // first found in host a (-4), not b (-5)
		{-3, 1.52587890625e-05, true}, // default's stale entry for r2, before r2 itself
		{-2, 4.25, true},              // a (1.5) + b (2.75)
		{-10, 0, true},
		{9, -3.0517578125e-05, true}, // named, in no bucket: -ENOENT / 0x10000
		{8, 0, false},
	} {
		w, ok := c.ItemWeight(tc.id)
		assert.Equal(t, [2]any{tc.want, tc.ok}, [2]any{w, ok}, "get_item_weight(%d)", tc.id)
	}
	assert.Equal(t, []int{-3, -2, -1}, c.FindTakes())
	assert.Equal(t, []int{-10, -8, -1}, c.FindRoots())
	_, ok := c.RuleRoot("notake")
	assert.False(t, ok, "a rule without take")
	root, ok := c.RuleRoot("multi")
	assert.True(t, ok)
	assert.Equal(t, -2, root, "the first take")
}

func TestCRUSHLoops(t *testing.T) {
	c, err := DecodeCRUSH([]byte(`{"devices": [{"id": 0, "name": "osd.0"}], "buckets": [
		{"id": -1, "name": "a", "items": [{"id": -2, "weight": 1}, {"id": 0, "weight": 1}]},
		{"id": -2, "name": "b", "items": [{"id": -1, "weight": 1}]}]}`))
	require.NoError(t, err)
	_, err = c.TakeWeightOSDMap(-1)
	assert.Equal(t, syscall.EINVAL, errno(err), "%v", err)
	_, err = c.OSDsUnder(-1)
	assert.Equal(t, syscall.EINVAL, errno(err), "%v", err)
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, osd, crush, msg string
	}{
		{"not JSON", `{`, ``, "osd map"},
		{"array", `[]`, ``, "want a JSON object, not an array"},
		{"null", `null`, ``, "no map"},
		{"trailing", `{} {}`, ``, "trailing data"},
		{"epoch a string", `{"epoch": "1"}`, ``, "osd map"},
		{"pool not an object", `{"pools": [1]}`, ``, "osd map"},
		{"pool null", `{"pools": [null]}`, ``, "pool 0 is not an object"},
		{"osd up a string", `{"osds": [{"osd": 0, "up": "yes"}]}`, ``, "osd 0"},
		{"crush string", `{}`, `"x"`, "crush map: want a JSON object"},
		{"bucket id positive", `{}`, `{"buckets": [{"id": 1}]}`, "not negative"},
		{"bucket id twice", `{}`, `{"buckets": [{"id": -1}, {"id": -1}]}`, "two buckets"},
		{"device negative", `{}`, `{"devices": [{"id": -1, "name": "x"}]}`, "negative id"},
		{"rule null", `{}`, `{"rules": [null]}`, "rule 0 is not an object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.osd), []byte(tc.crush))
			require.Error(t, err)
			assert.Equal(t, syscall.EINVAL, errno(err), "%v", err)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestFromValues(t *testing.T) {
	// The embedded backend's skeleton and no CRUSH map: an empty map, not
	// nil, and every accessor answers.
	m, err := FromValues(map[string]any{"epoch": 0, "fsid": "f", "osds": []any{}, "pools": []any{}, "pg_upmap": []any{}, "gomgr_embedded": true}, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(0), m.Epoch())
	assert.Equal(t, true, m.Dump()["gomgr_embedded"])
	c := m.CRUSH()
	require.NotNil(t, c)
	assert.Empty(t, c.FindTakes())
	assert.Empty(t, c.FindRoots())
	assert.Equal(t, map[string]any{}, c.Dump())
	_, ok := c.ItemName(0)
	assert.False(t, ok)
	_, err = c.TakeWeightOSDMap(-1)
	assert.Equal(t, syscall.ENOENT, errno(err))
	assert.Empty(t, m.PoolsByTake(-1))

	// Decoded values (float64 numbers) as Handle.Get gives them.
	m, err = FromValues(map[string]any{"epoch": float64(12), "pools": []any{map[string]any{"pool": float64(3), "pool_name": "p", "type": float64(1), "size": float64(3)}}},
		map[string]any{"devices": []any{map[string]any{"id": float64(0), "name": "osd.0"}}})
	require.NoError(t, err)
	assert.Equal(t, int64(12), m.Epoch())
	rate, err := m.PoolRawUsedRate(3)
	assert.NoError(t, err)
	assert.Equal(t, 3.0, rate)
	name, _ := m.CRUSH().ItemName(0)
	assert.Equal(t, "osd.0", name)

	_, err = FromValues(nil, nil)
	assert.Equal(t, syscall.ENOENT, errno(err))
	_, err = FromValues(map[string]any{"x": math.NaN()}, nil)
	assert.Equal(t, syscall.EINVAL, errno(err))
	assert.True(t, strings.Contains(err.Error(), "encode"), "%v", err)
}
