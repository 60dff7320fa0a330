package clusterbackend

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// fakeCluster is a tiny in-memory Ceph: the monitor commands the backend
// uses, and cls_lock semantics for the election. Several fakeConns (RADOS
// clients) can share one.
type fakeCluster struct {
	mu sync.Mutex
	// known lists the mgr/... option names the "real mgr" reported; others
	// are refused without force, as Pacific does.
	known    map[string]bool
	config   []configDumpEntry
	kv       map[string]string
	osdEpoch int
	monEpoch int
	health   string
	pools    []string
	// down makes every monitor command fail with -ETIMEDOUT (after
	// downDelay).
	down      bool
	downDelay time.Duration
	// calls counts monitor commands by prefix.
	calls map[string]int
	// mgrReply answers MgrCommand.
	mgrReply func(cmd map[string]any) ([]byte, string, error)
	// objects and locks of pool ".gomgr" (one pool is enough).
	objects map[string][]byte
	locks   map[string]*fakeLock // oid/name → lock
	// lockErr, if set, fails lock calls (an OSD that does not answer).
	lockErr error
	nextID  int
	// clog is the text of the `log` commands received, in order.
	clog []string
	// hooks run (with mu held) when a monitor command with that prefix
	// arrives, before it is answered.
	hooks map[string]func()
}

type fakeLock struct {
	client, cookie string
	expires        time.Time
}

func newFakeCluster() *fakeCluster {
	return &fakeCluster{known: map[string]bool{}, kv: map[string]string{}, osdEpoch: 5, monEpoch: 1,
		health: `{"status":"HEALTH_OK","checks":{},"mutes":[]}`, pools: []string{"device_health_metrics"},
		calls: map[string]int{}, hooks: map[string]func(){}, objects: map[string][]byte{}, locks: map[string]*fakeLock{}}
}

// errno is an error with Ceph's ErrorCode, like go-ceph's.
type errno int

func (e errno) Error() string {
	return fmt.Sprintf("rados: ret=%d, %s", int(e), syscall.Errno(-e).Error())
}
func (e errno) ErrorCode() int   { return int(e) }
func fail(e syscall.Errno) error { return errno(-int(e)) }

func (f *fakeCluster) conn() *fakeConn {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	return &fakeConn{f: f, client: fmt.Sprintf("client.%d", 4100+f.nextID)}
}

func (f *fakeCluster) count(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[prefix]
}

func (f *fakeCluster) setDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

func (f *fakeCluster) configValue(section, name string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.config {
		if e.Section == section && e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// setConfig is `ceph config set` from outside.
func (f *fakeCluster) setConfig(section, name, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setConfigLocked(section, name, value, "")
}

func (f *fakeCluster) setConfigLocked(section, name, value, mask string) {
	for i, e := range f.config {
		if e.Section == section && e.Name == name && e.Mask == mask {
			f.config[i].Value = value
			return
		}
	}
	f.config = append(f.config, configDumpEntry{Section: section, Name: name, Value: value, Mask: mask})
}

func (f *fakeCluster) status() []byte {
	s := fmt.Sprintf(`{"fsid":"fake-fsid","health":%s,"election_epoch":3,"quorum":[0],"quorum_age":%d,`+
		`"monmap":{"epoch":%d,"num_mons":1},"osdmap":{"epoch":%d,"num_osds":1},"pgmap":{"num_pgs":1},`+
		`"fsmap":{"epoch":1},"mgrmap":{"available":true},"servicemap":{"epoch":1}}`,
		f.health, time.Now().Unix(), f.monEpoch, f.osdEpoch)
	return []byte(s)
}

func (f *fakeCluster) mon(cmd, inbuf []byte) ([]byte, string, error) {
	var c map[string]any
	if err := json.Unmarshal(cmd, &c); err != nil {
		return nil, "unparseable JSON", fail(syscall.EINVAL)
	}
	str := func(k string) string { s, _ := c[k].(string); return s }
	f.mu.Lock()
	prefix := str("prefix")
	f.calls[prefix]++
	if h := f.hooks[prefix]; h != nil {
		h()
	}
	if f.down {
		d := f.downDelay
		f.mu.Unlock()
		time.Sleep(d)
		return nil, "timed out", fail(syscall.ETIMEDOUT)
	}
	defer f.mu.Unlock()
	js := func(v any) ([]byte, string, error) { b, _ := json.Marshal(v); return b, "", nil }
	switch prefix {
	case "status":
		return f.status(), "", nil
	case "config dump":
		return js(f.config)
	case "config set":
		name := str("name")
		if strings.HasPrefix(name, "mgr/") && !f.known[name] && c["force"] != true {
			return nil, fmt.Sprintf("unrecognized config option '%s'", name), fail(syscall.EINVAL)
		}
		f.setConfigLocked(str("who"), name, str("value"), "")
		return nil, "", nil
	case "config rm":
		f.config = slices.DeleteFunc(f.config, func(e configDumpEntry) bool { return e.Section == str("who") && e.Name == str("name") })
		return nil, "", nil
	case "config-key dump":
		out := map[string]string{}
		for k, v := range f.kv {
			if strings.HasPrefix(k, str("key")) {
				out[k] = v
			}
		}
		return js(out)
	case "config-key get":
		v, ok := f.kv[str("key")]
		if !ok {
			return nil, "", fail(syscall.ENOENT)
		}
		return []byte(v), "", nil
	case "config-key set":
		v := string(inbuf)
		if _, ok := c["val"]; ok {
			v = str("val")
		}
		f.kv[str("key")] = v
		return nil, "set " + str("key"), nil
	case "config-key rm":
		delete(f.kv, str("key"))
		return nil, "key deleted", nil
	case "osd dump":
		return js(map[string]any{"epoch": f.osdEpoch, "fsid": "fake-fsid", "pools": f.pools})
	case "osd metadata":
		return js([]any{map[string]any{"id": 0, "hostname": "h"}, map[string]any{"id": 1, "hostname": "h"}})
	case "mon dump":
		return js(map[string]any{"epoch": f.monEpoch})
	case "health":
		return []byte(f.health), "", nil
	case "pg dump":
		what, _ := c["dumpcontents"].([]any)
		if len(what) == 1 && what[0] == "pgs_brief" {
			return []byte(`{"pg_ready":true,"pg_stats":[{"pgid":"1.0","state":"active+clean","acting":[0]},` +
				`{"pgid":"2.0","state":"active+clean","acting":[0,1]},{"pgid":"2.1","state":"peering","acting":[1]}]}`), "dumped pgs_brief", nil
		}
		return []byte(`{"pg_ready":true,"pg_map":{"pg_stats_sum":{"num_objects":3},"pg_stats_delta":{"x":1}}}`), "dumped all", nil
	case "osd pool ls":
		if str("detail") != "" {
			var out []any
			for _, p := range f.pools {
				out = append(out, map[string]any{"pool_name": p, "size": 3, "min_size": 2})
			}
			return js(out)
		}
		return js(f.pools)
	case "osd pool create":
		if !slices.Contains(f.pools, str("pool")) {
			f.pools = append(f.pools, str("pool"))
			f.osdEpoch++
		}
		return nil, fmt.Sprintf("pool '%s' created", str("pool")), nil
	case "osd pool application enable", "osd pool set":
		return nil, "", nil
	case "osd stat":
		return js(map[string]any{"num_osds": 1, "num_in_osds": 1})
	case "log":
		text, _ := c["logtext"].([]any)
		for _, t := range text {
			s, _ := t.(string)
			f.clog = append(f.clog, s)
		}
		return nil, "", nil
	}
	return nil, "command not known", fail(syscall.EINVAL)
}

// fakeConn is one RADOS client of a fakeCluster.
type fakeConn struct {
	f      *fakeCluster
	client string
	closed bool
	// dead makes this client's lock calls fail (a crashed daemon whose
	// renewals stopped reaching the OSD).
	dead bool
}

func (c *fakeConn) MonCommand(cmd, inbuf []byte) ([]byte, string, error) { return c.f.mon(cmd, inbuf) }

func (c *fakeConn) MgrCommand(cmd, _ []byte) ([]byte, string, error) {
	var m map[string]any
	_ = json.Unmarshal(cmd, &m)
	if c.f.mgrReply != nil {
		return c.f.mgrReply(m)
	}
	return nil, fmt.Sprintf("No handler found for '%v'", m["prefix"]), fail(syscall.EINVAL)
}

func (c *fakeConn) OsdCommand(osd int, cmd, _ []byte) ([]byte, string, error) {
	if osd != 0 {
		return nil, "", fail(syscall.ENXIO)
	}
	return append([]byte("osd.0:"), cmd...), "", nil
}

func (c *fakeConn) PGCommand(pgid string, cmd, _ []byte) ([]byte, string, error) {
	return append([]byte(pgid+":"), cmd...), "", nil
}

func (c *fakeConn) FSID() string { return "fake-fsid" }
func (c *fakeConn) Close()       { c.closed = true }

func (c *fakeConn) Pool(name string) (Pool, error) {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	if !slices.Contains(c.f.pools, name) {
		return nil, fail(syscall.ENOENT)
	}
	return &fakePool{c: c}, nil
}

type fakePool struct{ c *fakeConn }

// live returns the unexpired lock on oid/name (cls_lock trims expired
// lockers when it reads a lock).
func (p *fakePool) live(key string) *fakeLock {
	l := p.c.f.locks[key]
	if l != nil && !l.expires.IsZero() && time.Now().After(l.expires) {
		delete(p.c.f.locks, key)
		return nil
	}
	return l
}

func (p *fakePool) LockExclusive(oid, name, cookie, _ string, d time.Duration, flags LockFlags) error {
	f := p.c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lockErr != nil {
		return f.lockErr
	}
	if p.c.dead {
		return fail(syscall.ETIMEDOUT)
	}
	key := oid + "/" + name
	l := p.live(key)
	mine := l != nil && l.client == p.c.client && l.cookie == cookie
	switch {
	case mine && flags == 0:
		return fail(syscall.EEXIST)
	case !mine && flags&LockMustRenew != 0:
		return fail(syscall.ENOENT)
	case l != nil && !mine:
		return fail(syscall.EBUSY)
	}
	f.locks[key] = &fakeLock{client: p.c.client, cookie: cookie, expires: time.Now().Add(d)}
	if _, ok := f.objects[oid]; !ok {
		f.objects[oid] = nil
	}
	return nil
}

func (p *fakePool) Unlock(oid, name, cookie string) error {
	f := p.c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	key := oid + "/" + name
	if l := p.live(key); l != nil && l.client == p.c.client && l.cookie == cookie {
		delete(f.locks, key)
	}
	return nil
}

func (p *fakePool) LockerCookies(oid, name string) ([]string, error) {
	f := p.c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if l := p.live(oid + "/" + name); l != nil {
		return []string{l.cookie}, nil
	}
	return nil, nil
}

func (p *fakePool) WriteFull(oid string, data []byte) error {
	f := p.c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	f.objects[oid] = slices.Clone(data)
	return nil
}

func (p *fakePool) Read(oid string) ([]byte, error) {
	f := p.c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.objects[oid]
	if !ok {
		return nil, fail(syscall.ENOENT)
	}
	return slices.Clone(d), nil
}
