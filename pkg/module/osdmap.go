package module

import (
	"context"
	"fmt"

	"github.com/gomgr/gomgr/pkg/osdmap"
)

// OSDMap returns the cluster's OSD map as a value (Python's get_osdmap()),
// decoded from Get("osd_map") with its CRUSH map (m.CRUSH()) from
// Get("osd_map_crush"). Where the daemon has no CRUSH map the map's CRUSH
// is empty, not nil; in embedded mode the map is the empty skeleton of
// Get("osd_map") (epoch 0, no pools or OSDs). A daemon without an OSD map
// is an -ENOENT error; one that does not decode, -EINVAL. Integers are
// exact (Get keeps Python's number types), osd_xinfo's 64-bit features
// included.
func (h *Handle) OSDMap(ctx context.Context) (*osdmap.OSDMap, error) {
	om, err := h.Get(ctx, "osd_map")
	if err != nil {
		return nil, fmt.Errorf("get_osdmap: %w", err)
	}
	crush, err := h.Get(ctx, "osd_map_crush")
	if err != nil {
		return nil, fmt.Errorf("get_osdmap: crush map: %w", err)
	}
	m, err := osdmap.FromValues(om, crush)
	if err != nil {
		return nil, fmt.Errorf("get_osdmap: %w", err)
	}
	return m, nil
}
