package bridge

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/cephconn"
	"github.com/gomgr/gomgr/internal/jsonval"
	"github.com/gomgr/gomgr/internal/objstore"
)

var _ backend.Objects = (*mgrBackend)(nil)

// radosRetry is how long a failed connection is not tried again: a
// module's calls meanwhile fail at once with the same error (a variable
// for the tests).
var radosRetry = 5 * time.Second

// radosClient is the bridge's librados connection for the modules'
// Handle.Rados: the gomgr-rados helper, dialed on first use with the real
// mgr's cephx identity (mgr.<id>, its keyring and monitors, which an
// active shim reports: op rados_identity), as Python's self.rados
// connects with the mgr's own context. Like self.rados, the connection's
// addresses are registered with the mgr (register_client), so the
// monitors blocklist them when this mgr fails over, and unregistered when
// it closes.
type radosClient struct {
	b    *mgrBackend
	dial cephconn.DialFunc
	log  *slog.Logger

	mu      sync.Mutex
	conn    cephconn.Conn
	store   objstore.Store
	addrs   string
	failed  error
	retryAt time.Time
}

// radosIdentity is the reply to rados_identity.
type radosIdentity struct {
	Name string            `json:"name"`
	Conf map[string]string `json:"conf"`
}

// Objects implements backend.Objects.
func (b *mgrBackend) Objects() objstore.Store {
	if b.rados == nil {
		return nil
	}
	return b.rados
}

// Objects implements objstore.Store.
func (r *radosClient) Objects(ctx context.Context, op objstore.Op) (objstore.Result, error) {
	if op.Kind == objstore.PoolStat {
		return r.poolStats(ctx, op.Pool)
	}
	s, err := r.connect(ctx)
	if err != nil {
		return objstore.Result{}, err
	}
	return s.Objects(ctx, op)
}

func (r *radosClient) connect(ctx context.Context) (objstore.Store, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.store != nil {
		return r.store, nil
	}
	if r.failed != nil && time.Now().Before(r.retryAt) {
		return nil, r.failed
	}
	conn, err := r.dialMgr(ctx)
	if err != nil {
		r.failed, r.retryAt = err, time.Now().Add(radosRetry)
		return nil, err
	}
	r.conn, r.store, r.failed = conn, cephconn.Objects(conn), nil
	return r.store, nil
}

func (r *radosClient) dialMgr(ctx context.Context) (cephconn.Conn, error) {
	fail := func(err error) error {
		return fmt.Errorf("gomgr bridge: librados for the modules: %w", err)
	}
	p, err := r.b.activePeer()
	if err != nil {
		return nil, fail(err)
	}
	var id radosIdentity
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	err = p.call(cctx, "rados_identity", map[string]any{}, &id)
	cancel()
	if err != nil {
		return nil, fail(fmt.Errorf("ask the real mgr for its identity: %w", err))
	}
	if id.Name == "" || id.Conf["mon_host"] == "" {
		return nil, fail(objstore.Fail(objstore.ListPools, syscall.EINVAL, "the real mgr reported no identity or monitors (%+v)", id))
	}
	conn, err := r.dial(ctx, cephconn.DialOptions{Name: id.Name, Config: id.Conf, OpTimeout: 10 * time.Second, MountTimeout: 10 * time.Second})
	if err != nil {
		return nil, fail(fmt.Errorf("connect as %s: %w", id.Name, err))
	}
	if a, ok := conn.(cephconn.AddrsReporter); ok {
		addrs, err := a.Addrs()
		if err == nil {
			cctx, cancel := context.WithTimeout(ctx, callTimeout)
			err = p.call(cctx, "register_client", map[string]any{"addrs": addrs}, nil)
			cancel()
		}
		if err != nil {
			// As Python's self.rados would fail: a client the monitors
			// would not blocklist on failover is not used.
			conn.Close()
			return nil, fail(fmt.Errorf("register the client with the mgr: %w", err))
		}
		r.addrs = addrs
	}
	r.log.Info("librados connected for the modules", "name", id.Name, "addrs", r.addrs)
	return conn, nil
}

// close unregisters the client (through any shim still connected) and
// shuts the connection down.
func (r *radosClient) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn == nil {
		return
	}
	if r.addrs != "" {
		if p, err := r.b.activePeer(); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := p.call(ctx, "unregister_client", map[string]any{"addrs": r.addrs}, nil); err != nil {
				r.log.Warn("unregister the librados client", "err", err)
			}
			cancel()
		}
	}
	r.conn.Close()
	r.conn, r.store = nil, nil
}

// poolStats answers PoolStat from the real mgr's own statistics,
// get("df"): librados asks the monitors (MGetPoolStats), which need "pg r"
// caps the mgr's cephx identity does not have (they drop the request, and
// the call times out, for Python's self.rados as well).
func (r *radosClient) poolStats(ctx context.Context, pool string) (objstore.Result, error) {
	v, err := mgrCluster{r.b}.Get(ctx, "df")
	if err != nil {
		return objstore.Result{}, fmt.Errorf("get(df): %w", err)
	}
	df, _ := v.(map[string]any)
	pools, _ := df["pools"].([]any)
	for _, p := range pools {
		pm, _ := p.(map[string]any)
		if name, _ := pm["name"].(string); name != pool {
			continue
		}
		st, _ := pm["stats"].(map[string]any)
		num := func(k string) uint64 {
			if i, ok := jsonval.Int(st[k]); ok && i > 0 {
				return uint64(i)
			}
			return 0
		}
		stored := num("stored")
		return objstore.Result{Stats: objstore.PoolStats{Bytes: stored, KB: (stored + 1023) / 1024, Objects: num("objects")}}, nil
	}
	return objstore.Result{}, objstore.Fail(objstore.PoolStat, syscall.ENOENT, "pool '%s' does not exist", pool)
}

// activePeer is an active module's shim (a standby one cannot answer
// rados_identity).
func (b *mgrBackend) activePeer() (*peer, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for name, p := range b.peers {
		if !b.standby[name] {
			return p, nil
		}
	}
	return nil, fmt.Errorf("no active module of the real mgr is connected: %w", syscall.ENOTCONN)
}
