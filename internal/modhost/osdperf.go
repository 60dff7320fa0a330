package modhost

import (
	"context"
	"fmt"
	"slices"
	"syscall"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// The OSD perf queries of a module: only a backend inside the active
// ceph-mgr (backend.OSDPerfQueries, the bridge) has them. The runtime
// keeps the ids each module instance added, so that a module reads and
// removes only its own, and removes those left when it stops.

func (h *handle) osdPerf() (backend.OSDPerfQueries, error) {
	if q, ok := h.m.cfg.Backend.(backend.OSDPerfQueries); ok && h.inst != nil {
		return q, nil
	}
	return nil, module.ErrOSDPerfQueryUnsupported
}

func (h *handle) AddOSDPerfQuery(ctx context.Context, q module.OSDPerfQuery) (int, error) {
	b, err := h.osdPerf()
	if err != nil {
		return 0, err
	}
	h.inst.perfMu.Lock()
	defer h.inst.perfMu.Unlock()
	if h.inst.stopping.Load() {
		// dropOSDPerfQueries may have run: the query would leak.
		return 0, objectformat.NewErrorResponseCode("the module is stopping", -int(syscall.ESHUTDOWN))
	}
	id, err := b.AddOSDPerfQuery(ctx, h.name, q)
	if err != nil {
		return 0, fmt.Errorf("add_osd_perf_query: %w", err)
	}
	if h.inst.perfQueries == nil {
		h.inst.perfQueries = map[int]bool{}
	}
	h.inst.perfQueries[id] = true
	return id, nil
}

// ownQuery fails with -ENOENT unless id is one of the module's queries.
func (h *handle) ownQuery(id int) error {
	h.inst.perfMu.Lock()
	defer h.inst.perfMu.Unlock()
	if !h.inst.perfQueries[id] {
		return objectformat.NewErrorResponseCode(fmt.Sprintf("no OSD perf query %d of module %s", id, h.name), -int(syscall.ENOENT))
	}
	return nil
}

func (h *handle) OSDPerfCounters(ctx context.Context, id int) (module.OSDPerfCounters, error) {
	b, err := h.osdPerf()
	if err != nil {
		return module.OSDPerfCounters{}, err
	}
	if err := h.ownQuery(id); err != nil {
		return module.OSDPerfCounters{}, err
	}
	c, err := b.OSDPerfCounters(ctx, h.name, id)
	if err != nil {
		return module.OSDPerfCounters{}, fmt.Errorf("get_osd_perf_counters %d: %w", id, err)
	}
	return c, nil
}

func (h *handle) RemoveOSDPerfQuery(ctx context.Context, id int) error {
	b, err := h.osdPerf()
	if err != nil {
		return err
	}
	if err := h.ownQuery(id); err != nil {
		return err
	}
	// Forgotten whatever the answer: a query the mgr no longer has (its
	// shim's connection was closed) is not tried again at stop; one
	// whose removal failed otherwise, the shim removes when its
	// connection closes.
	err = b.RemoveOSDPerfQuery(ctx, h.name, id)
	h.inst.perfMu.Lock()
	delete(h.inst.perfQueries, id)
	h.inst.perfMu.Unlock()
	if err != nil {
		return fmt.Errorf("remove_osd_perf_query %d: %w", id, err)
	}
	return nil
}

// dropOSDPerfQueries removes the queries a stopping module left (its
// stopping flag is set: it adds no more); a failure is logged (bridged,
// the shim removes them when its connection goes away).
func (m *Manager) dropOSDPerfQueries(ctx context.Context, inst *instance) {
	inst.perfMu.Lock()
	ids := make([]int, 0, len(inst.perfQueries))
	for id := range inst.perfQueries {
		ids = append(ids, id)
	}
	inst.perfQueries = nil
	inst.perfMu.Unlock()
	b, ok := m.cfg.Backend.(backend.OSDPerfQueries)
	if !ok || len(ids) == 0 {
		return
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := b.RemoveOSDPerfQuery(ctx, inst.name, id); err != nil {
			m.cfg.Log.Warn("cannot remove the OSD perf query of a stopped module", "module", inst.name, "query", id, "err", err)
		}
	}
}
