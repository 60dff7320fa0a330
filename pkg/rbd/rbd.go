// Package rbd lists RBD images and namespaces from the omaps where
// librbd keeps them, through a module's RADOS I/O context
// (module.IOContext), so a gomgr module needs no librbd in any mode
// (embedded, attached, bridged).
//
// librbd's layout (format 2 images, the only ones Pacific creates): in
// each namespace of a pool, the object rbd_directory has the omap keys
// name_<image name> -> the image id and id_<image id> -> the name, each
// value a Ceph-encoded string (a little-endian uint32 length, then the
// bytes); in the pool's default namespace, the object rbd_namespace has
// the keys name_<namespace> (empty values). A missing object is an empty
// list, as librbd answers.
//
// Not listed, unlike librbd's list2: format 1 images (rbd_directory's
// tmap, not omap; Ceph has not created them since Jewel) and images in
// the trash that are being removed.
package rbd

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"

	"github.com/gomgr/gomgr/pkg/module"
)

// Omap is what the listings read: *module.IOContext, in the namespace
// to list.
type Omap interface {
	GetOmapVals(ctx context.Context, oid, startAfter, prefix string, max int) (map[string][]byte, bool, error)
	GetOmapValsByKeys(ctx context.Context, oid string, keys []string) (map[string][]byte, error)
}

var _ Omap = (*module.IOContext)(nil)

// The objects and key prefixes of librbd's layout.
const (
	DirectoryObject = "rbd_directory"
	NamespaceObject = "rbd_namespace"
	namePrefix      = "name_"
)

// MaxEntries bounds a listing: a directory or namespace list with more
// entries fails with -E2BIG rather than growing without bound.
const MaxEntries = 1 << 20

// pageSize is the omap keys asked for at a time.
const pageSize = 4096

// Image is one image: its id (the part of its object names after
// rbd_data.) and name.
type Image struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// decodeString decodes a Ceph-encoded string that fills b.
func decodeString(b []byte) (string, error) {
	if len(b) < 4 {
		return "", fmt.Errorf("%d bytes, too short for an encoded string", len(b))
	}
	n := binary.LittleEndian.Uint32(b)
	if uint64(n) != uint64(len(b)-4) {
		return "", fmt.Errorf("an encoded string of %d bytes in %d", n, len(b)-4)
	}
	return string(b[4:]), nil
}

// EncodeString is a Ceph-encoded string, as librbd stores names and ids.
func EncodeString(s string) []byte {
	b := make([]byte, 4, 4+len(s))
	binary.LittleEndian.PutUint32(b, uint32(len(s)))
	return append(b, s...)
}

// omapPrefix reads every entry of oid whose key starts with prefix, page
// by page; a missing object has none.
func omapPrefix(ctx context.Context, r Omap, oid, prefix string) (map[string][]byte, error) {
	out := map[string][]byte{}
	after := ""
	for {
		page, more, err := r.GetOmapVals(ctx, oid, after, prefix, pageSize)
		if errors.Is(err, syscall.ENOENT) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the omap of %s: %w", oid, err)
		}
		for k, v := range page {
			out[k] = v
			after = max(after, k)
		}
		if len(out) > MaxEntries {
			return nil, fmt.Errorf("%s has more than %d entries: %w", oid, MaxEntries, syscall.E2BIG)
		}
		if !more || len(page) == 0 {
			return out, nil
		}
	}
}

// ListImages lists the images of r's namespace, by name (librbd's list2
// order).
func ListImages(ctx context.Context, r Omap) ([]Image, error) {
	entries, err := omapPrefix(ctx, r, DirectoryObject, namePrefix)
	if err != nil {
		return nil, err
	}
	images := make([]Image, 0, len(entries))
	for k, v := range entries {
		id, err := decodeString(v)
		if err != nil {
			return nil, fmt.Errorf("%s key %q: %w", DirectoryObject, k, err)
		}
		images = append(images, Image{ID: id, Name: strings.TrimPrefix(k, namePrefix)})
	}
	slices.SortFunc(images, func(a, b Image) int { return strings.Compare(a.Name, b.Name) })
	return images, nil
}

// ListNamespaces lists the namespaces of the pool (r in its default
// namespace), sorted; the default namespace "" is not one of them (as
// librbd's namespace_list).
func ListNamespaces(ctx context.Context, r Omap) ([]string, error) {
	entries, err := omapPrefix(ctx, r, NamespaceObject, namePrefix)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for k := range entries {
		names = append(names, strings.TrimPrefix(k, namePrefix))
	}
	slices.Sort(names)
	return names, nil
}

// NamespaceExists reports whether the pool (r in its default namespace)
// has namespace ns; the default namespace "" always exists.
func NamespaceExists(ctx context.Context, r Omap, ns string) (bool, error) {
	if ns == "" {
		return true, nil
	}
	vals, err := r.GetOmapValsByKeys(ctx, NamespaceObject, []string{namePrefix + ns})
	if errors.Is(err, syscall.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading the omap of %s: %w", NamespaceObject, err)
	}
	_, ok := vals[namePrefix+ns]
	return ok, nil
}
