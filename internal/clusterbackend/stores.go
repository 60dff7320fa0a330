package clusterbackend

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"syscall"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// writeLog remembers which keys this daemon wrote since a refresh began,
// so a refresh whose answer was produced before a local write cannot undo
// that write in the cache.
type writeLog struct {
	seq     uint64
	written map[string]uint64
}

// begin returns the sequence number a refresh starts at.
func (w *writeLog) begin() uint64 { return w.seq }

// mark records a local write of key.
func (w *writeLog) mark(key string) {
	w.seq++
	if w.written == nil {
		w.written = map[string]uint64{}
	}
	w.written[key] = w.seq
}

// settle finishes a refresh that began at start: in fresh (what the
// cluster returned) every key this daemon wrote after start keeps its
// cached value, or stays absent if the write was a delete, and writes the
// refresh has seen are forgotten.
func settle[V any](w *writeLog, start uint64, fresh, cached map[string]V) {
	for k, seq := range w.written {
		if seq <= start {
			delete(w.written, k)
			continue
		}
		if v, ok := cached[k]; ok {
			fresh[k] = v
		} else {
			delete(fresh, k)
		}
	}
}

// withPrefix copies the entries of m whose keys start with prefix.
func withPrefix(m map[string]string, prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}

// ---- configuration database ----

// Section ranks: a more specific section wins, and within a section a
// matching mask wins over no mask (as the monitors compute a daemon's
// configuration).
const (
	rankGlobal = 0
	rankMgr    = 2
	rankDaemon = 4
)

// configDumpEntry is one row of `config dump -f json`.
type configDumpEntry struct {
	Section string `json:"section"`
	Name    string `json:"name"`
	Value   string `json:"value"`
	Mask    string `json:"mask"`
}

// configStore is the monitors' configuration database as seen by mgr.<id>:
// the global, mgr and mgr.<id> sections merged.
type configStore struct {
	b *Backend

	mu   sync.RWMutex
	raw  map[string]map[int]string // name → rank → value
	eff  map[string]string         // effective values
	wlog writeLog
}

func newConfigStore(b *Backend) *configStore {
	return &configStore{b: b, raw: map[string]map[int]string{}, eff: map[string]string{}}
}

// rank returns where an entry applies to this daemon, or -1 if it does not.
func (s *configStore) rank(e configDumpEntry) int {
	r := -1
	switch e.Section {
	case "global":
		r = rankGlobal
	case "mgr":
		r = rankMgr
	case "mgr." + s.b.opts.ID:
		r = rankDaemon
	default:
		return -1
	}
	if e.Mask == "" {
		return r
	}
	// Only host masks can match a mgr; class masks are for OSDs.
	if host, ok := strings.CutPrefix(e.Mask, "host:"); ok && host == s.b.opts.Hostname {
		return r + 1
	}
	return -1
}

func effective(ranks map[int]string) (string, bool) {
	best, val := -1, ""
	for r, v := range ranks {
		if r > best {
			best, val = r, v
		}
	}
	return val, best >= 0
}

// parseConfigDump decodes `config dump -f json` into name → rank → value.
func (s *configStore) parseConfigDump(out []byte) (map[string]map[int]string, error) {
	var entries []configDumpEntry
	if err := json.Unmarshal(out, &entries); err != nil {
		return nil, fmt.Errorf("decode config dump: %w", err)
	}
	raw := map[string]map[int]string{}
	for _, e := range entries {
		r := s.rank(e)
		if r < 0 {
			continue
		}
		if raw[e.Name] == nil {
			raw[e.Name] = map[int]string{}
		}
		raw[e.Name][r] = e.Value
	}
	return raw, nil
}

// refresh loads `config dump` and returns the keys whose effective value
// changed.
func (s *configStore) refresh(ctx context.Context) ([]string, error) {
	s.mu.RLock()
	start := s.wlog.begin()
	s.mu.RUnlock()
	res := s.b.mon(ctx, map[string]any{"prefix": "config dump", "format": "json"}, nil)
	if err := resultError("config dump", res); err != nil {
		return nil, err
	}
	raw, err := s.parseConfigDump(res.Stdout)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	settle(&s.wlog, start, raw, s.raw)
	eff := make(map[string]string, len(raw))
	for k, ranks := range raw {
		if v, ok := effective(ranks); ok {
			eff[k] = v
		}
	}
	var changed []string
	for k, v := range eff {
		if old, ok := s.eff[k]; !ok || old != v {
			changed = append(changed, k)
		}
	}
	for k := range s.eff {
		if _, ok := eff[k]; !ok {
			changed = append(changed, k)
		}
	}
	s.raw, s.eff = raw, eff
	return changed, nil
}

// local applies a write made through this daemon to the mgr section.
func (s *configStore) local(key string, value *string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wlog.mark(key)
	ranks := s.raw[key]
	if value != nil {
		if ranks == nil {
			ranks = map[int]string{}
			s.raw[key] = ranks
		}
		ranks[rankMgr] = *value
	} else if ranks != nil {
		delete(ranks, rankMgr)
		if len(ranks) == 0 {
			delete(s.raw, key)
		}
	}
	if v, ok := effective(s.raw[key]); ok {
		s.eff[key] = v
	} else {
		delete(s.eff, key)
	}
}

func (s *configStore) Get(key string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.eff[key]
	return v, ok
}

func (s *configStore) List(prefix string) map[string]string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return withPrefix(s.eff, prefix)
}

// errUnrecognized is the monitors' answer to `config set` for an option no
// mgr reported (gomgr-only modules on Pacific).
const errUnrecognized = "unrecognized config option"

// Set stores key in the mgr section with `config set`. The monitors
// validate mgr/<module>/<option> names against the options the real
// ceph-mgr daemons reported; a name they do not know (an option of a
// gomgr-only module) is refused with EINVAL "unrecognized config option",
// and is then stored with `config set ... --force`, which skips that
// validation and keeps the value under the same name in the same database.
func (s *configStore) Set(ctx context.Context, key, value string) error {
	if key == "" {
		return objectformat.NewErrorResponseCode("empty key", -int(syscall.EINVAL))
	}
	cmd := map[string]any{"prefix": "config set", "who": "mgr", "name": key, "value": value}
	res := s.b.mon(ctx, cmd, nil)
	if res.Retval == -int(syscall.EINVAL) && strings.Contains(res.Stderr, errUnrecognized) {
		cmd["force"] = true
		res = s.b.mon(ctx, cmd, nil)
	}
	if err := resultError("config set mgr "+key, res); err != nil {
		return err
	}
	s.local(key, &value)
	s.b.Emit(backend.Event{Kind: backend.ConfigChanged, Key: key})
	return nil
}

// Delete removes key from the mgr section with `config rm`.
func (s *configStore) Delete(ctx context.Context, key string) error {
	_, existed := s.Get(key)
	res := s.b.mon(ctx, map[string]any{"prefix": "config rm", "who": "mgr", "name": key}, nil)
	if err := resultError("config rm mgr "+key, res); err != nil {
		return err
	}
	s.local(key, nil)
	if existed {
		s.b.Emit(backend.Event{Kind: backend.ConfigChanged, Key: key})
	}
	return nil
}

// ---- config-key store ----

// kvPrefix is the part of the config-key store that is cached: the real
// mgr's module store (mgr/<module>/<key>) and gomgr's own keys under
// mgr/.gomgr/.
const kvPrefix = "mgr/"

// kvStore is the config-key store. Keys under mgr/ are cached: loaded with
// `config-key dump mgr/`, refreshed periodically, written through. Other
// keys are passed to the monitors on each call.
type kvStore struct {
	b *Backend

	mu   sync.RWMutex
	m    map[string]string
	wlog writeLog
}

func newKVStore(b *Backend) *kvStore { return &kvStore{b: b, m: map[string]string{}} }

func cached(key string) bool { return strings.HasPrefix(key, kvPrefix) }

func (s *kvStore) dump(ctx context.Context, prefix string) (map[string]string, error) {
	cmd := map[string]any{"prefix": "config-key dump", "format": "json"}
	if prefix != "" {
		cmd["key"] = prefix
	}
	res := s.b.mon(ctx, cmd, nil)
	if err := resultError("config-key dump "+prefix, res); err != nil {
		return nil, err
	}
	m := map[string]string{}
	if err := json.Unmarshal(res.Stdout, &m); err != nil {
		return nil, fmt.Errorf("decode config-key dump: %w", err)
	}
	return m, nil
}

// refresh reloads the cached part of the store.
func (s *kvStore) refresh(ctx context.Context) error {
	s.mu.RLock()
	start := s.wlog.begin()
	s.mu.RUnlock()
	m, err := s.dump(ctx, kvPrefix)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	settle(&s.wlog, start, m, s.m)
	s.m = m
	return nil
}

// Get answers keys under mgr/ from the cache and asks the monitors for
// others.
func (s *kvStore) Get(key string) (string, bool) {
	if cached(key) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		v, ok := s.m[key]
		return v, ok
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.b.opts.OpTimeout)
	defer cancel()
	res := s.b.mon(ctx, map[string]any{"prefix": "config-key get", "key": key}, nil)
	if res.Retval != 0 {
		if res.Retval != -int(syscall.ENOENT) {
			s.b.log.Warn("config-key get failed", "key", key, "err", resultError("config-key get "+key, res))
		}
		return "", false
	}
	return string(res.Stdout), true
}

// List answers prefixes under mgr/ from the cache and asks the monitors for
// others (falling back to the cache if they do not answer).
func (s *kvStore) List(prefix string) map[string]string {
	if !cached(prefix) {
		ctx, cancel := context.WithTimeout(context.Background(), s.b.opts.OpTimeout)
		defer cancel()
		m, err := s.dump(ctx, prefix)
		if err == nil {
			return m
		}
		s.b.log.Warn("config-key dump failed; listing the cached keys only", "prefix", prefix, "err", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return withPrefix(s.m, prefix)
}

// Set writes the value with `config-key set`, passing it as the input
// buffer so any bytes survive.
func (s *kvStore) Set(ctx context.Context, key, value string) error {
	if key == "" {
		return objectformat.NewErrorResponseCode("empty key", -int(syscall.EINVAL))
	}
	res := s.b.mon(ctx, map[string]any{"prefix": "config-key set", "key": key}, []byte(value))
	if err := resultError("config-key set "+key, res); err != nil {
		return err
	}
	if cached(key) {
		s.mu.Lock()
		s.m[key] = value
		s.wlog.mark(key)
		s.mu.Unlock()
	}
	return nil
}

// Delete removes the key with `config-key rm` (a missing key is not an
// error, as with the monitors).
func (s *kvStore) Delete(ctx context.Context, key string) error {
	res := s.b.mon(ctx, map[string]any{"prefix": "config-key rm", "key": key}, nil)
	if err := resultError("config-key rm "+key, res); err != nil {
		return err
	}
	if cached(key) {
		s.mu.Lock()
		delete(s.m, key)
		s.wlog.mark(key)
		s.mu.Unlock()
	}
	return nil
}
