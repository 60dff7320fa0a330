package prometheus

import (
	"strings"
	"sync"
)

// maxCached bounds each of the module's caches kept from one scrape to
// the next (promethize's names, the declared families): a cluster's
// counters are few and the same scrape after scrape; past the bound,
// what is not cached is worked out each time.
const maxCached = 1 << 14

// boundedCache is a map safe for concurrent use that stops taking
// entries at maxCached.
type boundedCache[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
}

// get returns the value cached for k, or work()'s, cached if there is
// room.
func (c *boundedCache[K, V]) get(k K, work func() V) V { return c.getStoring(k, work, nil) }

// getStoring is get, calling stored (if not nil) with work()'s value
// when it is cached, before any other caller sees it.
func (c *boundedCache[K, V]) getStoring(k K, work func() V, stored func(V)) V {
	c.mu.Lock()
	v, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return v
	}
	v = work()
	c.mu.Lock()
	if c.m == nil {
		c.m = map[K]V{}
	}
	if cached, ok := c.m[k]; ok { // another caller's, first
		v = cached
	} else if len(c.m) < maxCached {
		if stored != nil {
			stored(v)
		}
		c.m[k] = v
	}
	c.mu.Unlock()
	return v
}

// labelsKey is label names as part of a comparable key: their number and
// their text joined by NULs (no allocation for one name).
type labelsKey struct {
	n      int
	joined string
}

func keyOfLabels(names []string) labelsKey {
	switch len(names) {
	case 0:
		return labelsKey{}
	case 1:
		return labelsKey{1, names[0]}
	}
	return labelsKey{len(names), strings.Join(names, "\x00")}
}
