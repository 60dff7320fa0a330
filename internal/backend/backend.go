package backend

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/gomgr/gomgr/internal/cephopts"
	"github.com/gomgr/gomgr/internal/objstore"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Backend is where a daemon keeps its state: the embedded on-disk store by
// default, or a real Ceph cluster (the monitors' config database,
// config-key store and maps).
type Backend interface {
	// Config is the configuration database, keyed like Ceph's
	// ("mgr/<module>/<option>", "mgr/<module>/<mgr id>/<option>").
	Config() Store
	// KV is the config-key store ("mgr/<module>/<key>").
	KV() Store
	// Cluster answers cluster-state questions and runs daemon commands.
	Cluster() Cluster
	// Subscribe registers fn for changes: configuration written by someone
	// else, and cluster notifications. fn must not block. The returned
	// function unsubscribes.
	Subscribe(fn func(Event)) (unsubscribe func())
	// Close releases the backend.
	Close() error
}

// Store is a string key/value map. Get answers from memory; Set and Delete
// return once the change is durable.
type Store interface {
	Get(key string) (string, bool)
	Set(ctx context.Context, key, value string) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// List returns the entries whose keys start with prefix.
	List(prefix string) map[string]string
}

// Cluster is the cluster-state side of a backend.
type Cluster interface {
	// FSID is the cluster id.
	FSID() string
	// HaveMonConnection reports whether the monitors currently answer.
	HaveMonConnection() bool
	// Get returns cluster data by name ("osd_map", "health", ...) as
	// decoded JSON; unknown names give (nil, nil), like Python's get().
	Get(ctx context.Context, name string) (any, error)
	// Command sends a command to a daemon and waits for its reply.
	Command(ctx context.Context, target module.Target, cmd map[string]any, inbuf []byte) objectformat.Result
}

// FieldsGetter is implemented by a Cluster that can leave out the parts
// of a Get value a module does not read before they cross to it (the
// bridge: the real mgr's Python side selects them). Its answer may hold
// more than fields names; the module runtime selects again.
type FieldsGetter interface {
	GetFields(ctx context.Context, name string, fields module.Fields) (any, error)
}

// ManyGetter is implemented by a Cluster that can answer several Get
// names (each with the Fields kept, nil for all) in one go: the bridge,
// one crossing to the real mgr for all of them. Its answer may hold more
// than the fields name; the module runtime selects again.
type ManyGetter interface {
	GetMany(ctx context.Context, names map[string]module.Fields) (map[string]any, error)
}

// DaemonState is implemented by a backend that has the state the cluster's
// daemons report to a real ceph-mgr (the bridge, inside one): metadata,
// status, perf schemas and counter series, in Python's shapes (get_metadata,
// get_daemon_status, get_perf_schema, get_counter, list_servers). The
// module runtime asks it rather than the daemons.
type DaemonState interface {
	// DaemonInfo answers kind "metadata", "status" or "perf_schema".
	DaemonInfo(ctx context.Context, kind, svcType, svcID string) (map[string]any, error)
	Counter(ctx context.Context, svcType, svcID, path string) (map[string]any, error)
	// LatestCounter is get_latest_counter, AllPerfCounters
	// get_all_perf_counters(prio_limit, services).
	LatestCounter(ctx context.Context, svcType, svcID, path string) (map[string]any, error)
	AllPerfCounters(ctx context.Context, prioLimit int, services []string) (map[string]any, error)
	ListServers(ctx context.Context) ([]map[string]any, error)
	// DaemonHealthMetrics is get_daemon_health_metrics.
	DaemonHealthMetrics(ctx context.Context) (map[string]any, error)
}

// TypedPerfCounters is implemented by a DaemonState backend that can
// answer module.Handle.PerfCounters itself, typed, without building
// get_all_perf_counters' Python shape (services is never nil). A
// DaemonState backend without it is asked AllPerfCounters and its answer
// converted.
type TypedPerfCounters interface {
	PerfCounters(ctx context.Context, prioLimit int, services []string) ([]module.DaemonPerf, error)
}

// OSDPerfQueries is implemented by a backend inside the active ceph-mgr
// (the bridge): the OSDs report the results of OSD perf queries to it
// alone. Each call is on behalf of module mod (its shim's, which removes
// the queries it added when its connection goes away).
type OSDPerfQueries interface {
	AddOSDPerfQuery(ctx context.Context, mod string, q module.OSDPerfQuery) (int, error)
	OSDPerfCounters(ctx context.Context, mod string, id int) (module.OSDPerfCounters, error)
	RemoveOSDPerfQuery(ctx context.Context, mod string, id int) error
}

// PerfCounters is implemented by a backend that collects the perf
// counters of the cluster's daemons itself (attached: internal/perfstate's
// history, fed every mgr_stats_period), in Python's shapes. The module
// runtime asks it for the daemons other than its own.
type PerfCounters interface {
	// PerfSchema is get_perf_schema (svcType or svcID "" for any).
	PerfSchema(svcType, svcID string) map[string]any
	// CounterSeries is get_counter, or get_latest_counter when latest.
	CounterSeries(svcType, svcID, path string, latest bool) map[string]any
}

// TypedCounterSource is implemented by a PerfCounters backend that also
// hands out a daemon's latest counters typed (module.Handle's
// PerfCounters): appended to dst, sorted by path, those of at least
// prioLimit priority.
type TypedCounterSource interface {
	LatestCounters(dst []module.PerfCounter, daemon string, prioLimit int) []module.PerfCounter
}

// CephOptions is implemented by a backend inside a real ceph-mgr (the
// bridge): Ceph option values are that mgr's (get_ceph_option,
// get_foreign_ceph_option for entity != ""), and its get("config") and
// get("config_options") are served by its Cluster().Get.
type CephOptions interface {
	CephOption(ctx context.Context, entity, key string) (any, error)
}

// CephConf is implemented by a backend that read a ceph.conf (attached):
// its values are a Ceph option's below the monitors' configuration.
type CephConf interface {
	CephConf() cephopts.Conf
}

// ClusterLogger is implemented by a backend that can write to a real
// cluster log (attached: through the monitors). ClusterLog must not block:
// entries are queued and sent in order, and dropped, with a warning in the
// daemon log, if the monitors fall too far behind.
type ClusterLogger interface {
	ClusterLog(channel string, prio slog.Level, msg string)
}

// EventKind tells what an Event reports.
type EventKind int

// Event kinds.
const (
	// ConfigChanged: Key of the configuration database changed (from
	// outside this daemon, or through it).
	ConfigChanged EventKind = iota
	// ClusterNotify: a cluster notification for modules.
	ClusterNotify
	// ConnectionChanged: the monitor connection came or went.
	ConnectionChanged
)

// Event is a change reported by a backend.
type Event struct {
	Kind         EventKind
	Key          string
	Notification module.Notification
}

// Subscribers keeps a backend's event subscribers; embed it to implement
// Backend.Subscribe.
type Subscribers struct {
	mu   sync.Mutex
	next int
	subs map[int]func(Event)
}

// Subscribe adds fn and returns a function that removes it.
func (s *Subscribers) Subscribe(fn func(Event)) (unsubscribe func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subs == nil {
		s.subs = map[int]func(Event){}
	}
	id := s.next
	s.next++
	s.subs[id] = fn
	return func() {
		s.mu.Lock()
		delete(s.subs, id)
		s.mu.Unlock()
	}
}

// Emit calls every subscriber with ev, in subscription order.
func (s *Subscribers) Emit(ev Event) {
	s.mu.Lock()
	ids := make([]int, 0, len(s.subs))
	for id := range s.subs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	fns := make([]func(Event), len(ids))
	for i, id := range ids {
		fns[i] = s.subs[id]
	}
	s.mu.Unlock()
	for _, fn := range fns {
		fn(ev)
	}
}

// StringMap is a string map safe for concurrent use: the in-memory side
// of a Store (Get and List), for backends to embed.
type StringMap struct {
	mu sync.RWMutex
	m  map[string]string
}

// Get returns the value of key.
func (s *StringMap) Get(key string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.m[key]
	return v, ok
}

// List returns the entries whose keys start with prefix.
func (s *StringMap) List(prefix string) map[string]string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string]string{}
	for k, v := range s.m {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}

// Put sets key.
func (s *StringMap) Put(key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]string{}
	}
	s.m[key] = value
}

// Remove deletes key and reports whether it was there.
func (s *StringMap) Remove(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[key]
	delete(s.m, key)
	return ok
}

// Replace swaps the whole content for m (which the map then owns).
func (s *StringMap) Replace(m map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m = m
}

// MemoryStore is an in-memory Store, safe for concurrent use.
type MemoryStore struct {
	StringMap
	// OnChange, if set, is called after every Set and Delete.
	OnChange func(key string)
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// Set implements Store.
func (s *MemoryStore) Set(ctx context.Context, key, value string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.Put(key, value)
	if s.OnChange != nil {
		s.OnChange(key)
	}
	return nil
}

// Delete implements Store.
func (s *MemoryStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.Remove(key)
	if s.OnChange != nil {
		s.OnChange(key)
	}
	return nil
}

// MemoryBackend is a Backend held in memory, with no cluster: for tests of
// modules and of the runtime. Its Cluster reports no monitor connection and
// answers Get from the Maps field.
type MemoryBackend struct {
	ConfigStore *MemoryStore
	KVStore     *MemoryStore
	// Maps holds what Cluster().Get returns, by name.
	Maps map[string]any
	// ObjectStore, if set, is its object store (Objects); moduletest
	// sets an embedded one.
	ObjectStore objstore.Store

	Subscribers
	mu sync.Mutex
}

// NewMemoryBackend returns an empty MemoryBackend.
func NewMemoryBackend() *MemoryBackend {
	b := &MemoryBackend{ConfigStore: NewMemoryStore(), KVStore: NewMemoryStore(), Maps: map[string]any{}}
	b.ConfigStore.OnChange = func(key string) { b.Emit(Event{Kind: ConfigChanged, Key: key}) }
	return b
}

// Config implements Backend.
func (b *MemoryBackend) Config() Store { return b.ConfigStore }

// KV implements Backend.
func (b *MemoryBackend) KV() Store { return b.KVStore }

// Cluster implements Backend.
func (b *MemoryBackend) Cluster() Cluster { return memoryCluster{b} }

// Close implements Backend.
func (b *MemoryBackend) Close() error { return nil }

// Objects implements Objects: the ObjectStore field.
func (b *MemoryBackend) Objects() objstore.Store { return b.ObjectStore }

// SetMap sets what Cluster().Get(name) returns.
func (b *MemoryBackend) SetMap(name string, value any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.Maps[name] = value
}

type memoryCluster struct{ b *MemoryBackend }

func (c memoryCluster) FSID() string            { return "00000000-0000-0000-0000-000000000000" }
func (c memoryCluster) HaveMonConnection() bool { return false }
func (c memoryCluster) Get(_ context.Context, name string) (any, error) {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	if v, ok := c.b.Maps[name]; ok {
		return v, nil
	}
	return EmptyClusterMap(name, c.FSID()), nil
}
func (c memoryCluster) Command(ctx context.Context, t module.Target, cmd map[string]any, inbuf []byte) objectformat.Result {
	if t.Type == "mon" {
		if res, ok := LocalMonCommand(ctx, c.b.ConfigStore, c.b.KVStore, cmd, inbuf); ok {
			return res
		}
	}
	return NoMonitor(t, cmd)
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range maps.Keys(m) {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
