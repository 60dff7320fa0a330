package osdmap

import (
	"testing"
)

// FuzzDecode: no input makes the decoders or an accessor of what they
// decode panic or hang (seed corpus in testdata/fuzz/FuzzDecode, plus the
// real fixtures).
func FuzzDecode(f *testing.F) {
	f.Add(readFixture(f, "osd_dump.json"), readFixture(f, "crush_dump.json"))
	f.Add([]byte(`{"epoch": 1}`), readFixture(f, "crush_large.json"))
	f.Fuzz(func(t *testing.T, osdJSON, crushJSON []byte) {
		m, err := Decode(osdJSON, crushJSON)
		if err != nil {
			if errno(err) == 0 {
				t.Fatalf("an error without errno: %v", err)
			}
			return
		}
		_ = m.Dump()
		_, _ = m.FlagsSet(), m.HasFlag("noout")
		for _, p := range m.PoolList() {
			_, _ = m.PoolRawUsedRate(p.ID)
			_ = p.Raw()
			_ = m.PoolsByTake(p.CrushRule)
		}
		_, _ = m.Pools(), m.PoolsByName()
		for _, o := range m.OSDs() {
			_ = o.Raw()
		}
		_, _ = m.PGUpmap(), m.PGUpmapItems()
		c := m.CRUSH()
		_ = c.Dump()
		ids := []int{0, 1, -1, -2}
		for _, b := range c.Buckets() {
			ids = append(ids, b.ID)
			for _, it := range b.Items {
				ids = append(ids, it.ID)
			}
		}
		for _, d := range c.Devices() {
			ids = append(ids, d.ID)
		}
		for _, id := range ids {
			_, _ = c.ItemName(id)
			_, _ = c.ItemWeight(id)
			_, _ = c.TakeWeightOSDMap(id)
			_, _ = c.OSDsUnder(id)
		}
		_, _ = c.FindTakes(), c.FindRoots()
		for _, r := range c.Rules() {
			_, _ = c.RuleRoot(r.Name)
			_, _, _ = c.RuleByID(r.ID)
		}
	})
}
