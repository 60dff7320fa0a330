// Package notes is a small example module that keeps its state in RADOS
// objects (module.Handle.Rados), as Python modules do with self.rados:
// each note is an object, an omap index lists them, an xattr records
// which mgr wrote one. The same code runs embedded (the objects live in
// the daemon's data file), attached to a cluster and bridged into a real
// ceph-mgr, where they are ordinary RADOS objects:
//
//	ceph notes add shopping milk and eggs
//	ceph notes append shopping bread
//	ceph notes get shopping
//	ceph notes ls
//	ceph notes rm shopping
//	rados -p .mgr -N notes ls     # on a cluster: note/shopping, index
//
// The pool (option pool, default ".mgr", the pool Ceph's own modules use
// from Quincy on) is created on first write if it does not exist; the
// notes live in the namespace of option namespace (default "notes").
package notes

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Config is the module's options.
type Config struct {
	Pool      string `option:"pool" default:".mgr" desc:"the RADOS pool of the notes (created if missing)" runtime:"true"`
	Namespace string `option:"namespace" default:"notes" desc:"the RADOS namespace of the notes in the pool" runtime:"true"`
}

var options = module.NewOptions[Config]()

func init() {
	module.Register(module.Info{
		Name:    "notes",
		Desc:    "Notes kept in RADOS objects (an example of Handle.Rados)",
		New:     func() module.Module { return &Module{} },
		Options: options.Declare(),
	})
}

const (
	// indexObject's omap lists the notes: name -> last update (RFC 3339).
	indexObject = "index"
	notePrefix  = "note/"
	authorXattr = "author"
	// maxNote bounds a note (-EFBIG beyond): notes are small.
	maxNote = 1 << 20
)

// Module is the notes module.
type Module struct {
	mgr *module.Handle
}

// Init keeps the handle.
func (m *Module) Init(h *module.Handle) error {
	m.mgr = h
	return nil
}

type addArgs struct {
	clicommand.Write `prefix:"notes add" desc:"Add a note"`
	Name             string
	Text             []string
}

type appendArgs struct {
	clicommand.Write `prefix:"notes append" desc:"Add a line to a note (creating it)"`
	Name             string
	Text             []string
}

type getArgs struct {
	clicommand.Read `prefix:"notes get" desc:"Show a note"`
	Name            string
}

type lsArgs struct {
	clicommand.Read `prefix:"notes ls" desc:"List the notes (whose names start with start)"`
	// Start, not Prefix: "prefix" is the command's own name in the
	// command's JSON.
	Start *string
}

type rmArgs struct {
	clicommand.Write `prefix:"notes rm" desc:"Remove a note"`
	Name             string
}

// Commands lists the module's commands.
func (m *Module) Commands() []*clicommand.Command {
	return []*clicommand.Command{
		clicommand.EmptyResponder(m.add),
		clicommand.EmptyResponder(m.append),
		clicommand.ErrorResponseHandler(m.get),
		clicommand.Responder(m.ls),
		clicommand.EmptyResponder(m.rm),
	}
}

// ioctx opens the notes' pool and namespace.
func (m *Module) ioctx() *module.IOContext {
	cfg := options.Get(m.mgr)
	io := m.mgr.Rados().IOContext(cfg.Pool)
	io.SetNamespace(cfg.Namespace)
	return io
}

// writable is ioctx for a write: it creates the pool if it is missing.
func (m *Module) writable(ctx context.Context) (*module.IOContext, error) {
	io := m.ioctx()
	_, err := io.Stat(ctx, indexObject)
	if errors.Is(err, syscall.ENOENT) {
		if _, perr := m.mgr.Rados().PoolStats(ctx, io.Pool()); errors.Is(perr, syscall.ENOENT) {
			m.mgr.Log().Info("creating the notes pool", "pool", io.Pool())
			if cerr := m.mgr.Rados().CreatePool(ctx, io.Pool()); cerr != nil && !errors.Is(cerr, syscall.EEXIST) {
				return nil, fmt.Errorf("create pool %s: %w", io.Pool(), cerr)
			}
		}
		err = nil
	}
	return io, err
}

// maxName bounds a note's name.
const maxName = 200

func checkName(name string) error {
	switch {
	case name == "" || strings.ContainsAny(name, "\x00\n"):
		return objectformat.NewErrorResponse(fmt.Sprintf("invalid note name %q", name))
	case len(name) > maxName:
		return objectformat.NewErrorResponseCode(fmt.Sprintf("a note's name is at most %d bytes", maxName), -int(syscall.ENAMETOOLONG))
	}
	return nil
}

func (m *Module) add(ctx context.Context, a *addArgs) error {
	return m.write(ctx, a.Name, strings.Join(a.Text, " "), false)
}

func (m *Module) append(ctx context.Context, a *appendArgs) error {
	return m.write(ctx, a.Name, strings.Join(a.Text, " "), true)
}

func (m *Module) write(ctx context.Context, name, text string, appending bool) error {
	if err := checkName(name); err != nil {
		return err
	}
	io, err := m.writable(ctx)
	if err != nil {
		return err
	}
	oid := notePrefix + name
	st, err := io.Stat(ctx, oid)
	switch {
	case err == nil && !appending:
		return objectformat.NewErrorResponseCode(fmt.Sprintf("note '%s' exists: notes append to it, or notes rm it first", name), -int(syscall.EEXIST))
	case err == nil:
		if st.Size+uint64(len(text))+1 > maxNote {
			return objectformat.NewErrorResponseCode(fmt.Sprintf("note '%s' would be longer than %d bytes", name, maxNote), -int(syscall.EFBIG))
		}
		err = io.Append(ctx, oid, []byte("\n"+text))
	case errors.Is(err, syscall.ENOENT):
		if len(text) > maxNote {
			return objectformat.NewErrorResponseCode(fmt.Sprintf("a note is at most %d bytes", maxNote), -int(syscall.EFBIG))
		}
		err = io.WriteFull(ctx, oid, []byte(text))
	}
	if err != nil {
		return fmt.Errorf("write note '%s': %w", name, err)
	}
	if err := io.SetXattr(ctx, oid, authorXattr, []byte("mgr."+m.mgr.MgrID())); err != nil {
		return fmt.Errorf("write note '%s': %w", name, err)
	}
	now := time.Now().UTC().Format(time.RFC3339)
	if err := io.SetOmap(ctx, indexObject, map[string][]byte{name: []byte(now)}); err != nil {
		return fmt.Errorf("index note '%s': %w", name, err)
	}
	return nil
}

func (m *Module) get(ctx context.Context, a *getArgs) (objectformat.Result, error) {
	data, err := m.ioctx().Read(ctx, notePrefix+a.Name, 0, 0)
	if errors.Is(err, syscall.ENOENT) {
		return objectformat.Result{}, objectformat.NewErrorResponseCode(fmt.Sprintf("no note '%s'", a.Name), -int(syscall.ENOENT))
	}
	if err != nil {
		return objectformat.Result{}, fmt.Errorf("read note '%s': %w", a.Name, err)
	}
	return objectformat.OK(string(data)), nil
}

// noteInfo is one line of notes ls.
type noteInfo struct {
	Name    string `json:"name"`
	Updated string `json:"updated"`
	Author  string `json:"author"`
	Size    uint64 `json:"size"`
}

// ls lists the notes from the index, a page of omap entries at a time.
func (m *Module) ls(ctx context.Context, a *lsArgs) ([]noteInfo, error) {
	io := m.ioctx()
	prefix := ""
	if a.Start != nil {
		prefix = *a.Start
	}
	out := []noteInfo{}
	const page = 100
	for after := ""; ; {
		vals, more, err := io.GetOmapVals(ctx, indexObject, after, prefix, page)
		if errors.Is(err, syscall.ENOENT) {
			break // no note yet (or no pool)
		}
		if err != nil {
			return nil, fmt.Errorf("list notes: %w", err)
		}
		keys := slices.Sorted(maps.Keys(vals))
		for _, name := range keys {
			info := noteInfo{Name: name, Updated: string(vals[name])}
			st, err := io.Stat(ctx, notePrefix+name)
			if err != nil {
				return nil, fmt.Errorf("list notes: note '%s': %w", name, err)
			}
			info.Size = st.Size
			if author, err := io.GetXattr(ctx, notePrefix+name, authorXattr); err == nil {
				info.Author = string(author)
			}
			out = append(out, info)
		}
		if !more || len(keys) == 0 {
			break
		}
		after = keys[len(keys)-1]
	}
	return out, nil
}

func (m *Module) rm(ctx context.Context, a *rmArgs) error {
	io := m.ioctx()
	err := io.Remove(ctx, notePrefix+a.Name)
	if errors.Is(err, syscall.ENOENT) {
		return objectformat.NewErrorResponseCode(fmt.Sprintf("no note '%s'", a.Name), -int(syscall.ENOENT))
	}
	if err != nil {
		return fmt.Errorf("remove note '%s': %w", a.Name, err)
	}
	if err := io.RemoveOmapKeys(ctx, indexObject, []string{a.Name}); err != nil {
		return fmt.Errorf("unindex note '%s': %w", a.Name, err)
	}
	return nil
}
