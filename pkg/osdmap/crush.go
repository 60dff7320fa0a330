package osdmap

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// CRUSH is a decoded CRUSH map.
type CRUSH struct {
	raw      map[string]any
	devices  []Device
	types    []BucketType
	buckets  []Bucket // by index: id -1, -2, ... (the C++ order)
	bucketIx map[int]int
	rules    []Rule // in dump order
	rawRules []map[string]any
	names    map[int]string // the name map: devices and buckets
}

// Device is a device (an OSD) of the CRUSH map.
type Device struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Class string `json:"class,omitempty"`
}

// BucketType is a bucket type ("host", "rack", "root"...).
type BucketType struct {
	ID   int    `json:"type_id"`
	Name string `json:"name"`
}

// Bucket is a bucket of the CRUSH map. Weights are 16.16 fixed point
// (0x10000 is 1.0), as in the dump.
type Bucket struct {
	ID       int          `json:"id"`
	Name     string       `json:"name"`
	TypeID   int          `json:"type_id"`
	TypeName string       `json:"type_name"`
	Weight   int64        `json:"weight"`
	Alg      string       `json:"alg"`
	Hash     string       `json:"hash"`
	Items    []BucketItem `json:"items"`
}

// BucketItem is an item of a bucket: a device (id >= 0) or a bucket.
type BucketItem struct {
	ID     int   `json:"id"`
	Weight int64 `json:"weight"` // 16.16 fixed point
	Pos    int   `json:"pos"`
}

// Rule is a CRUSH rule.
type Rule struct {
	ID      int        `json:"rule_id"`
	Name    string     `json:"rule_name"`
	Ruleset int        `json:"ruleset"`
	Type    int        `json:"type"`
	MinSize int        `json:"min_size"`
	MaxSize int        `json:"max_size"`
	Steps   []RuleStep `json:"steps"`
}

// RuleStep is a step of a rule: "take" has Item and ItemName,
// "choose_firstn" and the like Num and Type, the set_* steps Num.
type RuleStep struct {
	Op       string `json:"op"`
	Item     int    `json:"item"`
	ItemName string `json:"item_name,omitempty"`
	Num      int    `json:"num"`
	Type     string `json:"type,omitempty"`
}

type typedCRUSH struct {
	Devices []Device     `json:"devices"`
	Types   []BucketType `json:"types"`
	Buckets []Bucket     `json:"buckets"`
	Rules   []Rule       `json:"rules"`
}

// DecodeCRUSH decodes a CRUSH map from the JSON of `ceph osd crush dump
// -f json`. Empty data (or JSON null) is an empty map.
func DecodeCRUSH(data []byte) (*CRUSH, error) {
	c := &CRUSH{raw: map[string]any{}, bucketIx: map[int]int{}, names: map[int]string{}}
	if len(strings.TrimSpace(string(data))) == 0 {
		return c, nil
	}
	raw, err := decodeObject(data)
	if err != nil {
		return nil, fmt.Errorf("crush map: %w", err)
	}
	if raw == nil {
		return c, nil
	}
	var t typedCRUSH
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("crush map: %w: %w", err, ErrInvalid)
	}
	c.raw, c.devices, c.types, c.rules = raw, t.Devices, t.Types, t.Rules
	for _, d := range t.Devices {
		if d.ID < 0 {
			return nil, fmt.Errorf("crush map: device %q has negative id %d: %w", d.Name, d.ID, ErrInvalid)
		}
		c.names[d.ID] = d.Name
	}
	for _, b := range t.Buckets {
		if b.ID >= 0 {
			return nil, fmt.Errorf("crush map: bucket %q has id %d, not negative: %w", b.Name, b.ID, ErrInvalid)
		}
		if _, dup := c.bucketIx[b.ID]; dup {
			return nil, fmt.Errorf("crush map: two buckets have id %d: %w", b.ID, ErrInvalid)
		}
		c.bucketIx[b.ID] = 0
		c.buckets = append(c.buckets, b)
		c.names[b.ID] = b.Name
	}
	slices.SortFunc(c.buckets, func(a, b Bucket) int { return b.ID - a.ID }) // -1, -2, ...
	for i, b := range c.buckets {
		c.bucketIx[b.ID] = i
	}
	rawRules, _ := raw["rules"].([]any)
	for i := range t.Rules {
		r, _ := rawRules[i].(map[string]any)
		if r == nil {
			return nil, fmt.Errorf("crush map: rule %d is not an object: %w", i, ErrInvalid)
		}
		c.rawRules = append(c.rawRules, r)
	}
	return c, nil
}

// Dump is the whole CRUSH map as decoded (dump), a fresh copy; {} for an
// empty map.
func (c *CRUSH) Dump() map[string]any { return cloneMap(c.raw) }

// Devices is the map's devices.
func (c *CRUSH) Devices() []Device { return slices.Clone(c.devices) }

// Types is the map's bucket types.
func (c *CRUSH) Types() []BucketType { return slices.Clone(c.types) }

// Buckets is the map's buckets, by id from -1 down.
func (c *CRUSH) Buckets() []Bucket {
	out := slices.Clone(c.buckets)
	for i := range out {
		out[i].Items = slices.Clone(out[i].Items)
	}
	return out
}

// Bucket returns the bucket with the id.
func (c *CRUSH) Bucket(id int) (Bucket, bool) {
	i, ok := c.bucketIx[id]
	if !ok {
		return Bucket{}, false
	}
	b := c.buckets[i]
	b.Items = slices.Clone(b.Items)
	return b, true
}

// Rules is the map's rules in the dump's order.
func (c *CRUSH) Rules() []Rule {
	out := slices.Clone(c.rules)
	for i := range out {
		out[i].Steps = slices.Clone(out[i].Steps)
	}
	return out
}

// ItemName is the name of a device or bucket (get_item_name); false when
// the map has no such item.
func (c *CRUSH) ItemName(id int) (string, bool) {
	n, ok := c.names[id]
	return n, ok
}

// ItemWeight is an item's weight in units of 1.0 (get_item_weight); false
// when the map has no such item. Like the C++ it is the weight of the
// first bucket, in id order from -1 down, that is the item or holds it; an
// item that exists but is in no bucket weighs -ENOENT/0x10000 (the C++
// divides its error code).
func (c *CRUSH) ItemWeight(id int) (float64, bool) {
	if _, ok := c.names[id]; !ok {
		return 0, false
	}
	w := int64(-2) // -ENOENT
found:
	for _, b := range c.buckets {
		if b.ID == id {
			w = b.Weight
			break
		}
		for _, it := range b.Items {
			if it.ID == id {
				w = it.Weight
				break found
			}
		}
	}
	return float64(float32(int32(w)) / float32(0x10000)), true
}

// FindTakes is the items the map's rules take, sorted (find_takes).
func (c *CRUSH) FindTakes() []int {
	set := map[int]bool{}
	for _, r := range c.rules {
		for _, s := range r.Steps {
			if s.Op == "take" {
				set[s.Item] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// FindRoots is the buckets that no bucket holds, sorted (find_roots).
func (c *CRUSH) FindRoots() []int {
	held := map[int]bool{}
	for _, b := range c.buckets {
		for _, it := range b.Items {
			held[it.ID] = true
		}
	}
	out := []int{}
	for _, b := range c.buckets {
		if !held[b.ID] {
			out = append(out, b.ID)
		}
	}
	slices.Sort(out)
	return out
}

// Rule returns the first rule with the name (get_rule) and its entry of
// the dump.
func (c *CRUSH) Rule(name string) (Rule, map[string]any, bool) {
	for i, r := range c.rules {
		if r.Name == name {
			r.Steps = slices.Clone(r.Steps)
			return r, cloneMap(c.rawRules[i]), true
		}
	}
	return Rule{}, nil, false
}

// RuleByID returns the first rule with the id (get_rule_by_id) and its
// entry of the dump.
func (c *CRUSH) RuleByID(id int) (Rule, map[string]any, bool) {
	for i, r := range c.rules {
		if r.ID == id {
			r.Steps = slices.Clone(r.Steps)
			return r, cloneMap(c.rawRules[i]), true
		}
	}
	return Rule{}, nil, false
}

// RuleRoot is the item of the first take step of the named rule
// (get_rule_root); false when there is no such rule or it takes nothing.
func (c *CRUSH) RuleRoot(name string) (int, bool) {
	r, _, ok := c.Rule(name)
	if !ok {
		return 0, false
	}
	for _, s := range r.Steps {
		if s.Op == "take" {
			return s.Item, true
		}
	}
	return 0, false
}

// ruleHasTake reports whether the rule with the id (the rule's number,
// which pools name as crush_rule) has a take step of the item.
func (c *CRUSH) ruleHasTake(ruleID, take int) bool {
	for _, r := range c.rules {
		if r.ID != ruleID {
			continue
		}
		for _, s := range r.Steps {
			if s.Op == "take" && s.Item == take {
				return true
			}
		}
		return false
	}
	return false
}

// maxVisits bounds the items (devices and buckets) a walk of the map goes
// through: a bucket held by several others is walked once per path to it,
// and buckets that hold each other would be walked for ever.
const maxVisits = 1 << 17

// TakeWeightOSDMap is the OSDs under the bucket root with their share of
// its weight, the OSD's weight divided by the sum of the weights of all
// OSDs under root (get_take_weight_osd_map). As in the C++ it walks the
// buckets breadth first; an OSD found twice keeps the weight seen last
// and counts in the sum each time; a sum of 0 gives NaN shares. root not
// in the map is ErrNotFound; a device, or a bucket that holds a bucket
// that is not in the map, is ErrInvalid (the C++ asserts).
func (c *CRUSH) TakeWeightOSDMap(root int) (map[int]float64, error) {
	if _, ok := c.names[root]; !ok {
		return nil, fmt.Errorf("get_take_weight_osd_map: item %d: %w", root, ErrNotFound)
	}
	weights := map[int]float32{}
	var sum int32
	queue := []int{root}
	visits := 0
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		i, ok := c.bucketIx[id]
		if !ok {
			return nil, fmt.Errorf("get_take_weight_osd_map: item %d is not a bucket of the map: %w", id, ErrInvalid)
		}
		if visits += len(c.buckets[i].Items); visits > maxVisits {
			return nil, fmt.Errorf("get_take_weight_osd_map: more than %d items under item %d (do buckets hold each other?): %w", maxVisits, root, ErrInvalid)
		}
		for _, it := range c.buckets[i].Items {
			if it.ID >= 0 {
				w := float32(int32(it.Weight))
				weights[it.ID] = w
				sum = int32(float32(sum) + w)
			} else {
				queue = append(queue, it.ID)
			}
		}
	}
	out := make(map[int]float64, len(weights))
	fsum := float32(sum)
	for id, w := range weights {
		out[id] = float64(w / fsum)
	}
	return out, nil
}

// OSDsUnder is the OSDs under the bucket root, depth first in item order,
// an OSD once for each place it appears (get_osds_under). Items that are
// buckets not in the map are skipped. root not a bucket of the map is
// ErrNotFound (Python raises KeyError); buckets that hold each other are
// ErrInvalid.
func (c *CRUSH) OSDsUnder(root int) ([]int, error) {
	if _, ok := c.bucketIx[root]; !ok {
		return nil, fmt.Errorf("get_osds_under: bucket %d: %w", root, ErrNotFound)
	}
	out := []int{}
	onPath := map[int]bool{}
	visits := 0
	var walk func(id int) error
	walk = func(id int) error {
		if onPath[id] {
			return fmt.Errorf("get_osds_under: bucket %d holds itself: %w", id, ErrInvalid)
		}
		items := c.buckets[c.bucketIx[id]].Items
		if visits += len(items); visits > maxVisits {
			return fmt.Errorf("get_osds_under: more than %d items under bucket %d: %w", maxVisits, root, ErrInvalid)
		}
		onPath[id] = true
		defer delete(onPath, id)
		for _, it := range items {
			if it.ID >= 0 {
				out = append(out, it.ID)
			} else if _, ok := c.bucketIx[it.ID]; ok {
				if err := walk(it.ID); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(root); err != nil {
		return nil, err
	}
	return out, nil
}
