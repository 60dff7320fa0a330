package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// This file answers module.Handle.PerfCounters inside the real mgr. A
// shim with the perf_counters feature answers "perf_counters": for each
// daemon of get_all_perf_counters a token naming its counters (the
// version of its schema in the shim's cache, and the priority limit), the
// counters themselves only when the token is not one this side already
// knows, and every counter's latest value (a long-running average's value
// and count) in their order. The counters' descriptions then cross once,
// not on every call, and this side hands out the same PerfCounterInfos
// while a daemon's schema does not change. A shim without the feature is
// asked get_all_perf_counters, and its answer converted.

// featurePerfCounters is the hello feature of a shim that answers
// "perf_counters" (PROTOCOL.md).
const featurePerfCounters = "perf_counters"

var _ backend.TypedPerfCounters = (*mgrBackend)(nil)

// perfSchemas is a shim connection's cache of perf_counters' counters,
// by daemon and priority limit.
type perfSchemas struct {
	mu      sync.Mutex
	entries map[perfKey]*perfSchema
}

type perfKey struct {
	daemon string
	prio   int
}

// perfSchema is the counters of one token, sorted by path.
type perfSchema struct {
	token string
	infos []module.PerfCounterInfo
	pairs int // how many of them are long-running averages
}

// perfDaemon is one daemon of perf_counters' reply.
type perfDaemon struct {
	Name     string              `json:"name"`
	Token    string              `json:"token"`
	Counters [][]json.RawMessage `json:"counters"`
	Values   []uint64            `json:"values"`
}

// PerfCounters implements backend.TypedPerfCounters.
func (b *mgrBackend) PerfCounters(ctx context.Context, prioLimit int, services []string) ([]module.DaemonPerf, error) {
	p, err := b.anyPeer()
	if err != nil {
		return nil, err
	}
	if !p.features[featurePerfCounters] {
		all, err := b.AllPerfCounters(ctx, prioLimit, services)
		if err != nil {
			return nil, err
		}
		return module.PerfCountersFromPython(all)
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	cache := p.perfSchemas()
	for attempt := 0; ; attempt++ {
		known := map[string]string{}
		if attempt == 0 {
			known = cache.known(prioLimit)
		}
		var reply struct {
			Daemons []perfDaemon `json:"daemons"`
		}
		if err := p.call(ctx, "perf_counters", map[string]any{"prio_limit": prioLimit, "services": services, "known": known}, &reply); err != nil {
			return nil, err
		}
		out, stale, err := cache.apply(prioLimit, services, reply.Daemons)
		if err != nil {
			return nil, err
		}
		if !stale || attempt > 0 {
			return out, nil
		}
		// Another call replaced a schema this one's reply refers to:
		// once more, asking for every daemon's counters.
	}
}

// perfSchemas is p's cache (made on first use: a new shim connection
// starts without one, its tokens being its own).
func (p *peer) perfSchemas() *perfSchemas {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.perf == nil {
		p.perf = &perfSchemas{entries: map[perfKey]*perfSchema{}}
	}
	return p.perf
}

// known is the tokens of prio's entries, by daemon.
func (c *perfSchemas) known(prio int) map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	known := map[string]string{}
	for k, e := range c.entries {
		if k.prio == prio {
			known[k.daemon] = e.token
		}
	}
	return known
}

// apply turns a reply into PerfCounters' answer, keeping the counters it
// sends (and forgetting the daemons of prio and of the types asked for,
// services, that it no longer lists). stale reports a daemon whose token
// this cache no longer has the counters of.
func (c *perfSchemas) apply(prio int, services []string, daemons []perfDaemon) (out []module.DaemonPerf, stale bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	listed := make(map[string]bool, len(daemons))
	out = make([]module.DaemonPerf, 0, len(daemons))
	for _, d := range daemons {
		if listed[d.Name] {
			return nil, false, perfReplyError(d.Name, "listed twice")
		}
		listed[d.Name] = true
		key := perfKey{d.Name, prio}
		s := c.entries[key]
		if d.Counters != nil {
			if s, err = newPerfSchema(d); err != nil {
				return nil, false, err
			}
			c.entries[key] = s
		} else if s == nil || s.token != d.Token {
			stale = true
			continue
		}
		if len(d.Values) != len(s.infos)+s.pairs {
			return nil, false, perfReplyError(d.Name, fmt.Sprintf("%d values for %d counters (%d averages)", len(d.Values), len(s.infos), s.pairs))
		}
		dp := module.DaemonPerf{Daemon: d.Name, Counters: make([]module.PerfCounter, len(s.infos))}
		v := d.Values
		for i := range s.infos {
			pc := module.PerfCounter{PerfCounterInfo: &s.infos[i], Value: v[0]}
			v = v[1:]
			if s.infos[i].Type&module.PerfCounterLongRunAvg != 0 {
				pc.Count, v = v[0], v[1:]
			}
			dp.Counters[i] = pc
		}
		out = append(out, dp)
	}
	for k := range c.entries {
		typ, _, _ := strings.Cut(k.daemon, ".")
		if k.prio == prio && !listed[k.daemon] && slices.Contains(services, typ) {
			delete(c.entries, k)
		}
	}
	slices.SortFunc(out, func(a, b module.DaemonPerf) int { return strings.Compare(a.Daemon, b.Daemon) })
	return out, stale, nil
}

// newPerfSchema is d's counters: [path, description, nick, type,
// priority, units] each.
func newPerfSchema(d perfDaemon) (*perfSchema, error) {
	s := &perfSchema{token: d.Token, infos: make([]module.PerfCounterInfo, len(d.Counters))}
	for i, c := range d.Counters {
		info := &s.infos[i]
		if len(c) != 6 {
			return nil, perfReplyError(d.Name, fmt.Sprintf("a counter of %d fields", len(c)))
		}
		for j, dst := range []*string{&info.Path, &info.Description, &info.Nick} {
			if err := json.Unmarshal(c[j], dst); err != nil {
				return nil, perfReplyError(d.Name, "counter field "+strconv.Itoa(j)+": "+err.Error())
			}
		}
		for j, dst := range []*int{&info.Type, &info.Priority, &info.Units} {
			if err := json.Unmarshal(c[3+j], dst); err != nil {
				return nil, perfReplyError(d.Name, info.Path+": "+err.Error())
			}
		}
		if info.Type&module.PerfCounterLongRunAvg != 0 {
			s.pairs++
		}
	}
	if !slices.IsSortedFunc(s.infos, func(a, b module.PerfCounterInfo) int { return strings.Compare(a.Path, b.Path) }) {
		return nil, perfReplyError(d.Name, "the counters are not sorted by path")
	}
	return s, nil
}

func perfReplyError(daemon, what string) error {
	return objectformat.NewErrorResponseCode(fmt.Sprintf("gomgr bridge: a bad perf_counters reply for %s: %s", daemon, what), -int(syscall.EIO))
}
