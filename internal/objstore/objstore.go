// Package objstore is the contract of the RADOS object store modules use
// (module.Handle.Rados): one operation type, Op, that every backend
// answers with a Result, so the same request travels unchanged from the
// module API to the embedded backend's bbolt store (internal/embedded), or
// over the pipe to the gomgr-rados helper (internal/radosproc) and into
// librados (internal/cephrados).
//
// Check validates an Op before any backend sees it, so a bad request
// (an empty object name, a write past MaxObjectSize, an omap listing of
// more than MaxList keys) fails with the same negative errno in every
// mode. Errors carry Ceph's negative errno, as librados reports it: an
// ErrorCode() int method (objectformat.ErrnoOf reads it), -ENOENT for a
// missing pool or object, -ENODATA for a missing xattr, -EEXIST for a pool
// that exists, -EOPNOTSUPP for an object class the store does not have.
package objstore

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Kind names an operation.
type Kind string

// The operations. Pool-level ones need only Pool (and CreatePool/ListPools
// not even that); object-level ones need Pool and OID.
const (
	ListPools  Kind = "pools"       // -> Pools
	CreatePool Kind = "pool_create" // Pool; -EEXIST if it exists
	PoolStat   Kind = "pool_stat"   // Pool -> Stats

	Read      Kind = "read"       // Offset, Length (0: to the end) -> Data
	Write     Kind = "write"      // Offset, Data
	WriteFull Kind = "write_full" // Data
	Append    Kind = "append"     // Data
	Stat      Kind = "stat"       // -> Size, Mtime
	Remove    Kind = "remove"
	List      Kind = "list" // Namespace (AllNamespaces for every one) -> Objects

	OmapGetByKeys Kind = "omap_get_keys" // Keys -> Vals (the keys that exist)
	OmapGet       Kind = "omap_get"      // StartAfter, Prefix, Max -> Vals, More
	OmapSet       Kind = "omap_set"      // Vals
	OmapRemove    Kind = "omap_rm"       // Keys

	XattrGet    Kind = "xattr_get"  // Name -> Data; -ENODATA if unset
	XattrSet    Kind = "xattr_set"  // Name, Data
	XattrList   Kind = "xattr_list" // -> Vals
	XattrRemove Kind = "xattr_rm"   // Name

	Exec Kind = "exec" // Class, Method, Data -> Data
)

// AllNamespaces as an Op's Namespace makes List list every namespace
// (librados' LIBRADOS_ALL_NSPACES); other operations refuse it.
const AllNamespaces = "\x01"

// Bounds every mode enforces (Check).
const (
	// MaxObjectSize is the largest object: a write or append that would
	// make one larger fails with -EFBIG (Ceph's osd_max_object_size is
	// 128 MiB; gomgr keeps module objects smaller so a whole object fits
	// in one reply).
	MaxObjectSize = 64 << 20
	// MaxNameLen bounds object names (Ceph's osd_max_object_name_len),
	// MaxNamespaceLen namespaces (osd_max_object_namespace_len),
	// MaxXattrNameLen xattr names (osd_max_attr_name_len) and
	// MaxPoolNameLen pool names; longer ones fail with -ENAMETOOLONG.
	MaxNameLen      = 2048
	MaxNamespaceLen = 256
	MaxXattrNameLen = 100
	MaxPoolNameLen  = 256
	// MaxXattrSize bounds an xattr value (-E2BIG).
	MaxXattrSize = 64 << 10
	// MaxOmapKeyLen bounds an omap key (-ENAMETOOLONG).
	MaxOmapKeyLen = 4096
	// MaxList bounds the keys of one omap call (Keys, Vals, Max) and the
	// objects List returns: a pool with more fails List with -E2BIG.
	MaxList = 100000
)

// Op is one request.
type Op struct {
	Kind      Kind   `json:"kind"`
	Pool      string `json:"pool,omitempty"`
	Namespace string `json:"ns,omitempty"`
	OID       string `json:"oid,omitempty"`
	Offset    uint64 `json:"off,omitempty"`
	Length    uint64 `json:"len,omitempty"`
	Data      []byte `json:"data,omitempty"`
	// Keys are the omap keys of OmapGetByKeys and OmapRemove.
	Keys []string `json:"keys,omitempty"`
	// Vals are the omap entries of OmapSet.
	Vals map[string][]byte `json:"vals,omitempty"`
	// StartAfter, Prefix and Max select OmapGet's keys: those after
	// StartAfter that start with Prefix, at most Max (1..MaxList).
	StartAfter string `json:"after,omitempty"`
	Prefix     string `json:"prefix,omitempty"`
	Max        int    `json:"max,omitempty"`
	// Name is an xattr's name.
	Name string `json:"name,omitempty"`
	// Class and Method name an object-class method (Exec).
	Class  string `json:"class,omitempty"`
	Method string `json:"method,omitempty"`
}

// Pool is a pool, as ListPools lists it.
type Pool struct {
	Name string `json:"name"`
	ID   int64  `json:"id"`
}

// PoolStats are a pool's usage, as librados' rados_ioctx_pool_stat
// reports it. On a cluster they come from the OSDs' PG statistics, so they
// trail writes by a few seconds; the embedded store counts exactly.
type PoolStats struct {
	Bytes   uint64 `json:"num_bytes"`
	KB      uint64 `json:"num_kb"`
	Objects uint64 `json:"num_objects"`
}

// Object names an object in a listing.
type Object struct {
	Namespace string `json:"ns,omitempty"`
	OID       string `json:"oid"`
}

// Result is an operation's answer; only the fields of its Kind are set.
type Result struct {
	Data    []byte            `json:"data,omitempty"`
	Pools   []Pool            `json:"pools,omitempty"`
	Stats   PoolStats         `json:"stats,omitempty"`
	Size    uint64            `json:"size,omitempty"`
	Mtime   time.Time         `json:"mtime,omitempty"`
	Objects []Object          `json:"objects,omitempty"`
	Vals    map[string][]byte `json:"vals,omitempty"`
	More    bool              `json:"more,omitempty"`
}

// Store runs operations. Implementations call Check first (Do does it
// for them) and return errors with Ceph's errno.
type Store interface {
	Objects(ctx context.Context, op Op) (Result, error)
}

// Error is an object-store failure: the operation, the negative errno and
// a text.
type Error struct {
	Kind Kind
	Code int
	Msg  string
}

func (e *Error) Error() string {
	if e.Msg == "" {
		return fmt.Sprintf("rados %s: %s (%s)", e.Kind, objectformat.Strerror(e.Code), objectformat.ErrnoName(e.Code))
	}
	return fmt.Sprintf("rados %s: %s (%s)", e.Kind, e.Msg, objectformat.ErrnoName(e.Code))
}

// ErrorCode is the negative errno.
func (e *Error) ErrorCode() int { return e.Code }

// Is makes errors.Is(err, syscall.ENOENT) work.
func (e *Error) Is(target error) bool {
	var errno syscall.Errno
	return errors.As(target, &errno) && -int(errno) == e.Code
}

// Fail returns an *Error for op with errno e.
func Fail(k Kind, e syscall.Errno, format string, args ...any) error {
	return &Error{Kind: k, Code: -int(e), Msg: fmt.Sprintf(format, args...)}
}

// Wrap gives err (a librados error, or a context's) the operation's name,
// keeping its errno.
func Wrap(k Kind, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	code := objectformat.ErrnoOf(err)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		code = -int(syscall.ETIMEDOUT)
	case errors.Is(err, context.Canceled):
		code = -int(syscall.ECANCELED)
	}
	return &Error{Kind: k, Code: code, Msg: err.Error()}
}

// poolOps and objectOps are the kinds by what they need.
var (
	poolOps = map[Kind]bool{ListPools: true, CreatePool: true, PoolStat: true}
	objOps  = map[Kind]bool{Read: true, Write: true, WriteFull: true, Append: true, Stat: true, Remove: true,
		OmapGetByKeys: true, OmapGet: true, OmapSet: true, OmapRemove: true,
		XattrGet: true, XattrSet: true, XattrList: true, XattrRemove: true, Exec: true}
)

// Check validates op: a known kind with the fields it needs, within the
// bounds above. Its errors are *Error with -EINVAL, -ENAMETOOLONG,
// -EFBIG or -E2BIG.
func Check(op Op) error {
	k := op.Kind
	bad := func(e syscall.Errno, format string, args ...any) error { return Fail(k, e, format, args...) }
	if !poolOps[k] && !objOps[k] && k != List {
		return bad(syscall.EINVAL, "unknown operation %q", string(k))
	}
	// Names travel as JSON strings to the helper and as Go strings to
	// modules; one that is not UTF-8 would not survive the trip.
	for what, name := range map[string]string{"pool": op.Pool, "namespace": op.Namespace, "object": op.OID, "xattr": op.Name, "class": op.Class, "method": op.Method} {
		if !utf8.ValidString(name) {
			return bad(syscall.EINVAL, "%s name %q is not valid UTF-8", what, name)
		}
	}
	if k != ListPools {
		if op.Pool == "" {
			return bad(syscall.EINVAL, "no pool named")
		}
		if len(op.Pool) > MaxPoolNameLen {
			return bad(syscall.ENAMETOOLONG, "pool name of %d bytes (at most %d)", len(op.Pool), MaxPoolNameLen)
		}
	}
	if poolOps[k] {
		return nil
	}
	if len(op.Namespace) > MaxNamespaceLen {
		return bad(syscall.ENAMETOOLONG, "namespace of %d bytes (at most %d)", len(op.Namespace), MaxNamespaceLen)
	}
	if k == List {
		return nil
	}
	if op.Namespace == AllNamespaces {
		return bad(syscall.EINVAL, "the all-namespaces selector only lists objects; set a namespace for %s", k)
	}
	switch {
	case op.OID == "":
		return bad(syscall.EINVAL, "no object named")
	case len(op.OID) > MaxNameLen:
		return bad(syscall.ENAMETOOLONG, "object name of %d bytes (at most %d)", len(op.OID), MaxNameLen)
	}
	switch k {
	case Read:
		if op.Length > MaxObjectSize {
			return bad(syscall.EINVAL, "read of %d bytes (at most %d)", op.Length, MaxObjectSize)
		}
	case Write, WriteFull, Append:
		off := op.Offset
		if k != Write {
			off = 0
		}
		if off > MaxObjectSize || uint64(len(op.Data)) > MaxObjectSize-off {
			return bad(syscall.EFBIG, "the object would be larger than %d bytes", MaxObjectSize)
		}
	case OmapGetByKeys, OmapRemove:
		if len(op.Keys) > MaxList {
			return bad(syscall.E2BIG, "%d keys (at most %d)", len(op.Keys), MaxList)
		}
		for _, key := range op.Keys {
			if err := checkKey(k, key); err != nil {
				return err
			}
		}
	case OmapGet:
		if op.Max < 1 || op.Max > MaxList {
			return bad(syscall.EINVAL, "max %d keys: must be 1 to %d", op.Max, MaxList)
		}
	case OmapSet:
		if len(op.Vals) > MaxList {
			return bad(syscall.E2BIG, "%d keys (at most %d)", len(op.Vals), MaxList)
		}
		total := 0
		for key, v := range op.Vals {
			if err := checkKey(k, key); err != nil {
				return err
			}
			total += len(key) + len(v)
		}
		if total > MaxObjectSize {
			return bad(syscall.E2BIG, "%d bytes of omap entries in one call (at most %d)", total, MaxObjectSize)
		}
	case XattrGet, XattrSet, XattrRemove:
		switch {
		case op.Name == "":
			return bad(syscall.EINVAL, "no xattr named")
		case len(op.Name) > MaxXattrNameLen:
			return bad(syscall.ENAMETOOLONG, "xattr name of %d bytes (at most %d)", len(op.Name), MaxXattrNameLen)
		case k == XattrSet && len(op.Data) > MaxXattrSize:
			return bad(syscall.E2BIG, "xattr value of %d bytes (at most %d)", len(op.Data), MaxXattrSize)
		}
	case Exec:
		switch {
		case op.Class == "" || op.Method == "":
			return bad(syscall.EINVAL, "exec needs a class and a method")
		case len(op.Data) > MaxObjectSize:
			return bad(syscall.E2BIG, "exec input of %d bytes (at most %d)", len(op.Data), MaxObjectSize)
		}
	}
	return nil
}

func checkKey(k Kind, key string) error {
	switch {
	case key == "":
		return Fail(k, syscall.EINVAL, "empty omap key")
	case len(key) > MaxOmapKeyLen:
		return Fail(k, syscall.ENAMETOOLONG, "omap key of %d bytes (at most %d)", len(key), MaxOmapKeyLen)
	case !utf8.ValidString(key):
		return Fail(k, syscall.EINVAL, "omap key %q is not valid UTF-8", key)
	}
	return nil
}

// Do checks op and runs it on s, giving errors the operation's name.
func Do(ctx context.Context, s Store, op Op) (Result, error) {
	if err := Check(op); err != nil {
		return Result{}, err
	}
	if s == nil {
		return Result{}, Fail(op.Kind, syscall.EOPNOTSUPP, "this daemon's backend has no object store")
	}
	if err := ctx.Err(); err != nil {
		return Result{}, Wrap(op.Kind, err)
	}
	res, err := s.Objects(ctx, op)
	return res, Wrap(op.Kind, err)
}
