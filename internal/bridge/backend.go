package bridge

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// callTimeout bounds a call into the real mgr that has no deadline of its
// own (a Store's Get has none; Set and Delete have their ctx too).
const callTimeout = 30 * time.Second

// mgrBackend is the Backend of Go modules running under a real ceph-mgr:
// each module's options and KV store are those the real mgr keeps for the
// module of the same name (its shim's get/set_module_option and
// get/set_store), cached here as the shims report them; cluster state and
// commands go through any connected shim (the real mgr's get and
// mon_command/send_command).
type mgrBackend struct {
	backend.Subscribers
	mgrID string

	config, kv backend.StringMap
	local      backend.StringMap // the runtime's own keys (mgr/.gomgr/...)

	mu      sync.Mutex
	peers   map[string]*peer // Go module name -> its shim's connection
	standby map[string]bool  // Go module name -> its shim is a standby one
	fsid    string

	standbyGets sync.Map // Go module name -> *sync.Mutex: its get_store calls

	// rados is the modules' librados (Objects); nil without one.
	rados *radosClient
}

func newMgrBackend(mgrID string) *mgrBackend {
	return &mgrBackend{mgrID: mgrID, peers: map[string]*peer{}, standby: map[string]bool{}}
}

// isStandby reports whether module's shim is a standby module's.
func (b *mgrBackend) isStandby(mod string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.standby[mod]
}

// peerOf is the connection of module's shim.
func (b *mgrBackend) peerOf(mod string) (*peer, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p := b.peers[mod]; p != nil {
		return p, nil
	}
	return nil, objectformat.NewErrorResponseCode(fmt.Sprintf("gomgr bridge: module %s is not enabled in the real mgr", mod), -int(syscall.ENOTCONN))
}

// attached is how many modules' shims are connected.
func (b *mgrBackend) attached() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.peers)
}

// anyPeer is some connected shim, for calls about the cluster: an active
// module's if there is one (a standby module's answers get only).
func (b *mgrBackend) anyPeer() (*peer, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var standby *peer
	for name, p := range b.peers {
		if !b.standby[name] {
			return p, nil
		}
		standby = p
	}
	if standby != nil {
		return standby, nil
	}
	return nil, objectformat.NewErrorResponseCode("gomgr bridge: no module of the real mgr is connected", -int(syscall.ENOTCONN))
}

func (b *mgrBackend) Config() backend.Store    { return &optionStore{b} }
func (b *mgrBackend) KV() backend.Store        { return &kvStore{b} }
func (b *mgrBackend) Cluster() backend.Cluster { return mgrCluster{b} }
func (b *mgrBackend) Close() error             { return nil }

// splitKey splits "mgr/<module>/<rest>".
func splitKey(key string) (mod, rest string, ok bool) {
	r, ok := strings.CutPrefix(key, "mgr/")
	if !ok {
		return "", "", false
	}
	mod, rest, ok = strings.Cut(r, "/")
	return mod, rest, ok && mod != "" && rest != ""
}

// optionStore is the modules' options: "mgr/<module>/<option>" and, for
// this mgr, "mgr/<module>/<mgr id>/<option>".
type optionStore struct{ b *mgrBackend }

func (s *optionStore) Get(key string) (string, bool)                { return s.b.config.Get(key) }
func (s *optionStore) List(prefix string) map[string]string         { return s.b.config.List(prefix) }
func (s *optionStore) Delete(ctx context.Context, key string) error { return s.set(ctx, key, nil) }
func (s *optionStore) Set(ctx context.Context, key, value string) error {
	return s.set(ctx, key, &value)
}

func (s *optionStore) set(ctx context.Context, key string, value *string) error {
	mod, rest, ok := splitKey(key)
	if !ok {
		return objectformat.NewErrorResponseCode(fmt.Sprintf("gomgr bridge: %q is not a module option", key), -int(syscall.EINVAL))
	}
	opt, localized := rest, false
	if who, o, ok := strings.Cut(rest, "/"); ok {
		if who != s.b.mgrID {
			return objectformat.NewErrorResponseCode(fmt.Sprintf("gomgr bridge: %s: the real mgr sets localized options of its own id (%s) only", key, s.b.mgrID), -int(syscall.EINVAL))
		}
		opt, localized = o, true
	}
	p, err := s.b.peerOf(mod)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := p.call(ctx, "set_module_option", map[string]any{"key": opt, "value": value, "localized": localized}, nil); err != nil {
		return err
	}
	if value == nil {
		s.b.config.Remove(key)
	} else {
		s.b.config.Put(key, *value)
	}
	s.b.Emit(backend.Event{Kind: backend.ConfigChanged, Key: key})
	return nil
}

// kvStore is the modules' KV stores: "mgr/<module>/<key>".
type kvStore struct{ b *mgrBackend }

func (s *kvStore) Get(key string) (string, bool) {
	if strings.HasPrefix(key, "mgr/.") {
		return s.b.local.Get(key)
	}
	if mod, rest, ok := splitKey(key); ok && s.b.isStandby(mod) {
		return s.b.standbyGet(mod, rest)
	}
	return s.b.kv.Get(key)
}

// standbyGet reads a standby module's key from the real mgr: a standby
// shim cannot list the store, and the active mgr may change it. Each is a
// monitor round trip in the real mgr, so a module's reads go one at a time
// (a standby polling its store queues here, not in the mgr's threads).
func (b *mgrBackend) standbyGet(mod, key string) (string, bool) {
	l, _ := b.standbyGets.LoadOrStore(mod, &sync.Mutex{})
	l.(*sync.Mutex).Lock()
	defer l.(*sync.Mutex).Unlock()
	p, err := b.peerOf(mod)
	if err != nil {
		return "", false
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	var v *string
	if err := p.call(ctx, "get_store", map[string]any{"key": key}, &v); err != nil || v == nil {
		return "", false
	}
	return *v, true
}

func (s *kvStore) List(prefix string) map[string]string {
	out := s.b.kv.List(prefix)
	for k, v := range s.b.local.List(prefix) {
		out[k] = v
	}
	return out
}

func (s *kvStore) Set(ctx context.Context, key, value string) error { return s.set(ctx, key, &value) }
func (s *kvStore) Delete(ctx context.Context, key string) error     { return s.set(ctx, key, nil) }

func (s *kvStore) set(ctx context.Context, key string, value *string) error {
	if strings.HasPrefix(key, "mgr/.") { // the runtime's: the real mgr keeps the enabled list
		if value == nil {
			s.b.local.Remove(key)
		} else {
			s.b.local.Put(key, *value)
		}
		return nil
	}
	mod, rest, ok := splitKey(key)
	if !ok {
		return objectformat.NewErrorResponseCode(fmt.Sprintf("gomgr bridge: %q is not a module's key (mgr/<module>/<key>)", key), -int(syscall.EINVAL))
	}
	p, err := s.b.peerOf(mod)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := p.call(ctx, "set_store", map[string]any{"key": rest, "value": value}, nil); err != nil {
		return err
	}
	if value == nil {
		s.b.kv.Remove(key)
	} else {
		s.b.kv.Put(key, *value)
	}
	return nil
}

// load replaces module's cached options and store with a shim's report
// and emits ConfigChanged for each option that changed.
func (b *mgrBackend) load(mod string, options, localized map[string]*string, store map[string]string) {
	want := map[string]string{}
	for name, v := range options {
		if v != nil {
			want["mgr/"+mod+"/"+name] = *v
		}
	}
	for name, v := range localized {
		if v != nil {
			want["mgr/"+mod+"/"+b.mgrID+"/"+name] = *v
		}
	}
	prefix := "mgr/" + mod + "/"
	have := b.config.List(prefix)
	var changed []string
	for k := range have {
		if _, ok := want[k]; !ok {
			b.config.Remove(k)
			changed = append(changed, k)
		}
	}
	for k, w := range want {
		if v, ok := have[k]; !ok || v != w {
			b.config.Put(k, w)
			changed = append(changed, k)
		}
	}
	if store != nil {
		for k := range b.kv.List(prefix) {
			if _, ok := store[strings.TrimPrefix(k, prefix)]; !ok {
				b.kv.Remove(k)
			}
		}
		for k, v := range store {
			b.kv.Put(prefix+k, v)
		}
	}
	for _, k := range changed {
		b.Emit(backend.Event{Kind: backend.ConfigChanged, Key: k})
	}
}

// mgrCluster answers cluster questions through the real mgr.
type mgrCluster struct{ b *mgrBackend }

func (c mgrCluster) FSID() string {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	return c.b.fsid
}

func (c mgrCluster) HaveMonConnection() bool {
	p, err := c.b.anyPeer()
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var ok bool
	return p.call(ctx, "have_mon_connection", map[string]any{}, &ok) == nil && ok
}

func (c mgrCluster) Get(ctx context.Context, name string) (any, error) {
	return c.GetFields(ctx, name, nil)
}

// featureGetFields is the hello feature of a shim whose get takes
// "fields" (module.Fields) and answers only those parts (PROTOCOL.md).
const featureGetFields = "get_fields"

var _ backend.FieldsGetter = mgrCluster{}

// GetFields implements backend.FieldsGetter: the shim selects the fields
// before it encodes the value; a shim without the feature sends it whole
// (the module runtime selects).
func (c mgrCluster) GetFields(ctx context.Context, name string, fields module.Fields) (any, error) {
	p, err := c.b.anyPeer()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	args := map[string]any{"name": name}
	if p.features[featureGetFields] && len(fields) > 0 {
		args["fields"] = fields
	}
	var v any
	if err := p.call(ctx, "get", args, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// featureGetMany is the hello feature of a shim that answers
// "get_many": several gets (each with its fields) in one request.
const featureGetMany = "get_many"

var _ backend.ManyGetter = mgrCluster{}

// GetMany implements backend.ManyGetter: one crossing for every name
// (one a name to a shim without the feature).
func (c mgrCluster) GetMany(ctx context.Context, names map[string]module.Fields) (map[string]any, error) {
	p, err := c.b.anyPeer()
	if err != nil {
		return nil, err
	}
	if !p.features[featureGetMany] {
		out := make(map[string]any, len(names))
		for name, fields := range names {
			if out[name], err = c.GetFields(ctx, name, fields); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var v map[string]any
	if err := p.call(ctx, "get_many", map[string]any{"names": names}, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// commandReply is a command's result on the wire: stdout in base64, or
// (raw_stdout) the reply's raw bytes.
type commandReply struct {
	Retval int    `json:"retval"`
	Stdout string `json:"stdout_b64"`
	Stderr string `json:"stderr"`

	raw []byte
}

func (r *commandReply) setRaw(b []byte) { r.raw = b }

// featureRawStdout is the hello feature of a shim that takes a command's
// stdout as raw bytes after the reply's frame (PROTOCOL.md).
const featureRawStdout = "raw_stdout"

// rawStdoutMin is the smallest stdout sent raw to a shim that takes it:
// below it, base64 in the frame costs less than a second read.
const rawStdoutMin = 64 << 10

// encodeRawCommandReply is res as a reply whose stdout follows its frame
// raw (for a shim with the raw_stdout feature): no base64 on either side.
func encodeRawCommandReply(res objectformat.Result) rawReply {
	stderr, _ := json.Marshal(res.Stderr) // a string always encodes
	b := make([]byte, 0, 32+len(stderr))
	b = append(b, `{"retval":`...)
	b = strconv.AppendInt(b, int64(res.Retval), 10)
	b = append(b, `,"stderr":`...)
	b = append(b, stderr...)
	return rawReply{ok: append(b, '}'), data: res.Stdout}
}

// encodeCommandReply is res as a commandReply's JSON, its stdout encoded
// straight into it (json.Marshal would scan the base64 text for escapes
// once more).
func encodeCommandReply(res objectformat.Result) preencoded {
	stderr, _ := json.Marshal(res.Stderr) // a string always encodes
	b := make([]byte, 0, 40+base64.StdEncoding.EncodedLen(len(res.Stdout))+len(stderr))
	b = append(b, `{"retval":`...)
	b = strconv.AppendInt(b, int64(res.Retval), 10)
	b = append(b, `,"stdout_b64":"`...)
	b = base64.StdEncoding.AppendEncode(b, res.Stdout)
	b = append(b, `","stderr":`...)
	b = append(b, stderr...)
	return append(b, '}')
}

func (c mgrCluster) Command(ctx context.Context, t module.Target, cmd map[string]any, inbuf []byte) objectformat.Result {
	p, err := c.b.anyPeer()
	if err != nil {
		return objectformat.ResultOf(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if t.Type == "mgr" { // Python's send_command: ValueError "unknown service type: mgr"
		return objectformat.Failed(-int(syscall.EOPNOTSUPP),
			fmt.Sprintf("cannot send '%v' to the mgr: inside a real ceph-mgr a module's send_command has no mgr target (call another module with Remote)", cmd["prefix"]))
	}
	args := map[string]any{"cmd": cmd, "inbuf_b64": base64.StdEncoding.EncodeToString(inbuf)}
	op := "mon_command"
	if t.Type != "mon" || t.ID != "" { // a named monitor is send_command's
		op = "send_command"
		args["type"], args["id"] = t.Type, t.ID
	}
	var r commandReply
	if err := p.call(ctx, op, args, &r); err != nil {
		return objectformat.ResultOf(err)
	}
	out, err := base64.StdEncoding.DecodeString(r.Stdout)
	if err != nil {
		return objectformat.Failed(-int(syscall.EIO), "gomgr bridge: a bad reply: "+err.Error())
	}
	return objectformat.Result{Retval: r.Retval, Stdout: out, Stderr: r.Stderr}
}

var _ backend.DaemonState = (*mgrBackend)(nil)

// ask calls op on some shim and decodes its reply into out.
func (b *mgrBackend) ask(ctx context.Context, op string, args map[string]any, out any) error {
	p, err := b.anyPeer()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return p.call(ctx, op, args, out)
}

// DaemonInfo is the real mgr's get_metadata, get_daemon_status or
// get_perf_schema.
func (b *mgrBackend) DaemonInfo(ctx context.Context, kind, svcType, svcID string) (map[string]any, error) {
	op := map[string]string{"metadata": "get_metadata", "status": "get_daemon_status", "perf_schema": "get_perf_schema"}[kind]
	if op == "" {
		return nil, objectformat.NewErrorResponseCode("gomgr bridge: no daemon information "+kind, -int(syscall.EINVAL))
	}
	var v map[string]any
	err := b.ask(ctx, op, map[string]any{"svc_type": svcType, "svc_id": svcID}, &v)
	return v, err
}

// Counter is the real mgr's get_counter: the stored series.
func (b *mgrBackend) Counter(ctx context.Context, svcType, svcID, path string) (map[string]any, error) {
	var v map[string]any
	err := b.ask(ctx, "get_counter", map[string]any{"svc_type": svcType, "svc_id": svcID, "path": path}, &v)
	return v, err
}

// LatestCounter is the real mgr's get_latest_counter: the newest sample.
func (b *mgrBackend) LatestCounter(ctx context.Context, svcType, svcID, path string) (map[string]any, error) {
	var v map[string]any
	err := b.ask(ctx, "get_latest_counter", map[string]any{"svc_type": svcType, "svc_id": svcID, "path": path}, &v)
	return v, err
}

// AllPerfCounters is the real mgr's get_all_perf_counters.
func (b *mgrBackend) AllPerfCounters(ctx context.Context, prioLimit int, services []string) (map[string]any, error) {
	var v map[string]any
	err := b.ask(ctx, "get_all_perf_counters", map[string]any{"prio_limit": prioLimit, "services": services}, &v)
	return v, err
}

// ListServers is the real mgr's list_servers.
func (b *mgrBackend) ListServers(ctx context.Context) ([]map[string]any, error) {
	var v []map[string]any
	err := b.ask(ctx, "list_servers", map[string]any{}, &v)
	return v, err
}

// DaemonHealthMetrics is the real mgr's get_daemon_health_metrics.
func (b *mgrBackend) DaemonHealthMetrics(ctx context.Context) (map[string]any, error) {
	var v map[string]any
	err := b.ask(ctx, "get_daemon_health_metrics", map[string]any{}, &v)
	return v, err
}

// loadNative takes the values of a module's NATIVE_OPTIONS as its shim
// read them from the real mgr, and reports each that changed as a
// ConfigChanged of the option's name: the module runtime calls the
// ConfigNotify of the modules that list it. The values are kept under
// the option's bare name in the backend's configuration (no module option
// is stored there without its mgr/<module>/ prefix).
func (b *mgrBackend) loadNative(mod string, native map[string]*string) {
	var changed []string
	for name, v := range native {
		if strings.Contains(name, "/") {
			continue // not a Ceph option's name
		}
		old, had := b.config.Get(name)
		switch {
		case v == nil && had:
			b.config.Remove(name)
			changed = append(changed, name)
		case v != nil && (!had || old != *v):
			b.config.Put(name, *v)
			if had { // the first value is not a change
				changed = append(changed, name)
			}
		}
	}
	for _, k := range changed {
		b.Emit(backend.Event{Kind: backend.ConfigChanged, Key: k})
	}
}

// CephOption implements backend.CephOptions: the real mgr's value
// (get_ceph_option, or get_foreign_ceph_option for another entity),
// through any of its shims.
func (b *mgrBackend) CephOption(ctx context.Context, entity, key string) (any, error) {
	op, args := "get_ceph_option", map[string]any{"key": key}
	if entity != "" {
		op, args["entity"] = "get_foreign_ceph_option", entity
	}
	var v any
	if err := b.ask(ctx, op, args, &v); err != nil {
		return nil, fmt.Errorf("%s(%s): %w", op, key, err)
	}
	return v, nil
}

// askModule is ask on module mod's own shim.
func (b *mgrBackend) askModule(ctx context.Context, mod, op string, args map[string]any, out any) error {
	p, err := b.peerOf(mod)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return p.call(ctx, op, args, out)
}

// AddOSDPerfQuery is the real mgr's add_osd_perf_query, through mod's
// shim (which removes the query when its connection goes away).
func (b *mgrBackend) AddOSDPerfQuery(ctx context.Context, mod string, q module.OSDPerfQuery) (int, error) {
	var id int
	err := b.askModule(ctx, mod, "add_osd_perf_query", map[string]any{"query": q}, &id)
	return id, err
}

// OSDPerfCounters is the real mgr's get_osd_perf_counters.
func (b *mgrBackend) OSDPerfCounters(ctx context.Context, mod string, id int) (module.OSDPerfCounters, error) {
	var c module.OSDPerfCounters
	err := b.askModule(ctx, mod, "get_osd_perf_counters", map[string]any{"query_id": id}, &c)
	return c, err
}

// RemoveOSDPerfQuery is the real mgr's remove_osd_perf_query.
func (b *mgrBackend) RemoveOSDPerfQuery(ctx context.Context, mod string, id int) error {
	return b.askModule(ctx, mod, "remove_osd_perf_query", map[string]any{"query_id": id}, nil)
}
