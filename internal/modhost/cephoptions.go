package modhost

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/cephopts"
	"github.com/gomgr/gomgr/pkg/module"
)

// This file answers Python's get_ceph_option, get_foreign_ceph_option,
// get("config") and get("config_options"): from the real mgr when the
// backend is inside one (backend.CephOptions), else from Ceph's option
// table (internal/cephopts) with the backend's configuration, ceph.conf
// and the values the daemon fixes itself.

// cephSource is where this daemon's Ceph option values come from.
func (m *Manager) cephSource() cephopts.Source {
	host, _ := os.Hostname()
	host, _, _ = strings.Cut(host, ".")
	fixed := map[string]string{}
	for k, v := range m.cfg.CephOptions {
		fixed[k] = v
	}
	if fsid := m.cfg.Backend.Cluster().FSID(); fsid != "" {
		if _, ok := fixed["fsid"]; !ok {
			fixed["fsid"] = fsid
		}
	}
	var conf cephopts.Conf
	if cf, ok := m.cfg.Backend.(backend.CephConf); ok {
		conf = cf.CephConf()
	}
	return cephopts.Source{
		Daemon:  cephopts.Daemon{Type: "mgr", ID: m.cfg.MgrID, Host: host},
		Fixed:   fixed,
		Central: m.cfg.Backend.Config().Get,
		Conf:    conf,
	}
}

func (h *handle) CephOption(ctx context.Context, entity, key string) (any, error) {
	m := h.m
	if co, ok := m.cfg.Backend.(backend.CephOptions); ok {
		return co.CephOption(ctx, entity, key)
	}
	o, ok := cephopts.Lookup(key)
	if !ok {
		return nil, cephopts.NotFound(key)
	}
	if entity == "" || entity == "mgr."+m.cfg.MgrID || !m.cfg.Backend.Cluster().HaveMonConnection() {
		return m.cephSource().Value(o.Name)
	}
	// Another daemon: the monitors' configuration for it, with Ceph's
	// default for what is not set (`config get <who> <key>`).
	res := m.cfg.Backend.Cluster().Command(ctx, module.Target{Type: "mon"},
		map[string]any{"prefix": "config get", "who": entity, "key": o.Name}, nil)
	if res.Retval != 0 {
		return nil, fmt.Errorf("get_foreign_ceph_option(%s, %s): %w", entity, key, res.Err())
	}
	return o.Typed(strings.TrimSpace(string(res.Stdout)))
}

// cephConfigGet answers get("config") and get("config_options") for a
// backend that is not inside a real mgr.
func (m *Manager) cephConfigGet(name string) (any, bool) {
	if _, inMgr := m.cfg.Backend.(backend.CephOptions); inMgr {
		return nil, false
	}
	switch name {
	case "config":
		out := map[string]any{}
		for k, v := range m.cephSource().ShowConfig() {
			out[k] = v
		}
		return out, true
	case "config_options":
		v, err := cephopts.ConfigOptions()
		if err != nil {
			m.cfg.Log.Error("ceph option table", "err", err)
			return nil, false
		}
		return v, true
	}
	return nil, false
}
