package module

import (
	"context"
	"fmt"
	"syscall"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Fields selects the parts of a value of Get that a module reads, for
// GetFields: each key keeps that key of an object, and its Fields, when
// not empty, select within the key's value in turn. A list is selected
// element by element; anything else (a string, a number) is kept whole.
// Keys the value lacks are left out, as is every key Fields does not
// name. For example, the mgr map's active mgr, the standbys' names and
// the modules that can run:
//
//	module.Fields{
//		"active_name":       nil,
//		"standbys":          {"name": nil},
//		"available_modules": {"name": nil, "can_run": nil},
//	}
type Fields map[string]Fields

// MaxFieldsDepth is how deeply Fields may nest; deeper Fields are an
// -EINVAL error of GetFields and GetMany.
const MaxFieldsDepth = 16

// MaxGetMany is how many names one GetMany takes; more are an -EINVAL
// error.
const MaxGetMany = 64

// Select returns the parts of v that f names (v itself when f is empty),
// sharing v's leaves: what GetFields answers, done in this process. v is
// decoded JSON (maps, slices, scalars), or holds map[string]string (as
// some of Get's answers do), selected as its JSON form; v is not modified.
func (f Fields) Select(v any) any {
	if len(f) == 0 {
		return v
	}
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, min(len(f), len(t)))
		for k, sub := range f {
			if e, ok := t[k]; ok {
				out[k] = sub.Select(e)
			}
		}
		return out
	case map[string]string: // Get("config") attached, the runtime's mgr map's "services"
		out := make(map[string]string, min(len(f), len(t)))
		for k := range f {
			if e, ok := t[k]; ok {
				out[k] = e
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = f.Select(e)
		}
		return out
	}
	return v
}

// deeper reports whether f nests more than n deep (it stops looking
// there, so Fields that contain themselves end too).
func (f Fields) deeper(n int) bool {
	if len(f) == 0 {
		return false
	}
	if n == 0 {
		return true
	}
	for _, sub := range f {
		if sub.deeper(n - 1) {
			return true
		}
	}
	return false
}

// GetFields is Get(name) reduced to the parts fields names (see Fields):
// the same answer as fields.Select of Get's, in every mode. Bridged into
// a real ceph-mgr, the mgr's Python side drops the other parts before
// they are encoded, so the parts left out cost neither the encoding nor
// the crossing: the mgr map's description of every module's options, for
// example, is most of its 100 KB.
func (h *Handle) GetFields(ctx context.Context, name string, fields Fields) (any, error) {
	if fields.deeper(MaxFieldsDepth) {
		return nil, objectformat.NewErrorResponseCode(fmt.Sprintf("get(%s): the fields nest more than %d deep", name, MaxFieldsDepth), -int(syscall.EINVAL))
	}
	return h.rt.GetFields(ctx, name, fields)
}

// GetMany is GetFields of several names at once: names maps each name
// to the Fields kept of it (nil: all of it), and the answer maps each to
// its value (nil for a name that does not exist, as Get). Bridged into a
// real ceph-mgr it is one crossing for all of them, not one a name: a
// module that reads several maps on each pass (an exporter's scrape)
// saves most of the bridge's cost. The values are each read at once, one
// after the other, as Get would.
func (h *Handle) GetMany(ctx context.Context, names map[string]Fields) (map[string]any, error) {
	if len(names) > MaxGetMany {
		return nil, objectformat.NewErrorResponseCode(fmt.Sprintf("get: %d names, more than %d at once", len(names), MaxGetMany), -int(syscall.EINVAL))
	}
	for name, fields := range names {
		if fields.deeper(MaxFieldsDepth) {
			return nil, objectformat.NewErrorResponseCode(fmt.Sprintf("get(%s): the fields nest more than %d deep", name, MaxFieldsDepth), -int(syscall.EINVAL))
		}
	}
	return h.rt.GetMany(ctx, names)
}
