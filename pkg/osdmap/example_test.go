package osdmap_test

import (
	"fmt"
	"os"

	"github.com/gomgr/gomgr/pkg/osdmap"
)

// A module reads the map with module.Handle.OSDMap; here it is decoded
// from the dumps of a small real cluster.
func Example() {
	osdJSON, err := os.ReadFile("testdata/osd_dump.json")
	if err != nil {
		panic(err)
	}
	crushJSON, err := os.ReadFile("testdata/crush_dump.json")
	if err != nil {
		panic(err)
	}
	m, err := osdmap.Decode(osdJSON, crushJSON)
	if err != nil {
		panic(err)
	}
	fmt.Println("epoch", m.Epoch(), "noout:", m.HasFlag("noout"))
	for _, p := range m.PoolList() {
		rate, _ := m.PoolRawUsedRate(p.ID)
		fmt.Printf("pool %d %s: raw used rate %g\n", p.ID, p.Name, rate)
	}
	for _, o := range m.OSDs() {
		name, inCRUSH := m.CRUSH().ItemName(o.ID)
		fmt.Printf("osd.%d up=%v in=%v crush name %q (%v)\n", o.ID, o.IsUp(), o.IsIn(), name, inCRUSH)
	}
	c := m.CRUSH()
	root, _ := c.RuleRoot("replicated_rule")
	under, _ := c.OSDsUnder(root)
	fmt.Println("replicated_rule takes", root, "with OSDs", under, "used by pools", m.PoolsByTake(root))
	// Output:
	// epoch 37 noout: true
	// pool 1 device_health_metrics: raw used rate 1
	// pool 2 rpool: raw used rate 2
	// pool 3 ecpool: raw used rate 1.5
	// pool 4 spool: raw used rate 1
	// osd.0 up=true in=true crush name "osd.0" (true)
	// osd.1 up=false in=true crush name "osd.1" (true)
	// osd.2 up=false in=true crush name "" (false)
	// replicated_rule takes -1 with OSDs [0 1] used by pools [1 2 3]
}
