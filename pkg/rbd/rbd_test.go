package rbd

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeOmap is objects' omaps, paged as RADOS pages them (keys sorted,
// at most max a call).
type fakeOmap struct {
	objects map[string]map[string][]byte
	calls   int
	err     error
}

func (f *fakeOmap) GetOmapVals(_ context.Context, oid, after, prefix string, max int) (map[string][]byte, bool, error) {
	f.calls++
	if f.err != nil {
		return nil, false, f.err
	}
	o, ok := f.objects[oid]
	if !ok {
		return nil, false, fmt.Errorf("no %s: %w", oid, syscall.ENOENT)
	}
	var keys []string
	for k := range o {
		if k > after && strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := map[string][]byte{}
	for _, k := range keys[:min(max, len(keys))] {
		out[k] = o[k]
	}
	return out, len(keys) > max, nil
}

func (f *fakeOmap) GetOmapValsByKeys(_ context.Context, oid string, keys []string) (map[string][]byte, error) {
	o, ok := f.objects[oid]
	if !ok {
		return nil, fmt.Errorf("no %s: %w", oid, syscall.ENOENT)
	}
	out := map[string][]byte{}
	for _, k := range keys {
		if v, ok := o[k]; ok {
			out[k] = v
		}
	}
	return out, nil
}

func TestListImages(t *testing.T) {
	ctx := context.Background()
	dir := map[string][]byte{}
	var want []Image
	for i := range pageSize + 5 { // more than a page
		name, id := fmt.Sprintf("img%05d", i), fmt.Sprintf("%x", 0x1000+i)
		dir["name_"+name] = EncodeString(id)
		dir["id_"+id] = EncodeString(name)
		want = append(want, Image{ID: id, Name: name})
	}
	f := &fakeOmap{objects: map[string]map[string][]byte{DirectoryObject: dir}}
	got, err := ListImages(ctx, f)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.Equal(t, 2, f.calls, "two pages")

	// No directory: no images, as librbd answers.
	got, err = ListImages(ctx, &fakeOmap{})
	require.NoError(t, err)
	assert.Empty(t, got)

	// A value that is not an encoded string, a read error.
	for _, v := range [][]byte{{1, 0, 0}, {5, 0, 0, 0, 'a'}, append(EncodeString("ab"), 'c')} {
		_, err = ListImages(ctx, &fakeOmap{objects: map[string]map[string][]byte{DirectoryObject: {"name_x": v}}})
		assert.ErrorContains(t, err, `rbd_directory key "name_x"`)
	}
	_, err = ListImages(ctx, &fakeOmap{err: syscall.EIO})
	assert.ErrorIs(t, err, syscall.EIO)
}

func TestNamespaces(t *testing.T) {
	ctx := context.Background()
	f := &fakeOmap{objects: map[string]map[string][]byte{NamespaceObject: {"name_b": nil, "name_a": {}}}}
	got, err := ListNamespaces(ctx, f)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, got)
	for ns, want := range map[string]bool{"": true, "a": true, "b": true, "c": false} {
		ok, err := NamespaceExists(ctx, f, ns)
		require.NoError(t, err)
		assert.Equal(t, want, ok, ns)
	}
	none := &fakeOmap{}
	got, err = ListNamespaces(ctx, none)
	require.NoError(t, err)
	assert.Empty(t, got)
	ok, err := NamespaceExists(ctx, none, "a")
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestEncodeString(t *testing.T) {
	assert.Equal(t, []byte{3, 0, 0, 0, 'a', 'b', 'c'}, EncodeString("abc"))
	s, err := decodeString(EncodeString("héllo"))
	require.NoError(t, err)
	assert.Equal(t, "héllo", s)
}

// FuzzDecodeString: any bytes decode to an error or to the string that
// EncodeString turns back into the same bytes; never a panic.
func FuzzDecodeString(f *testing.F) {
	for _, seed := range [][]byte{nil, {0}, {0, 0, 0, 0}, EncodeString("img1"), EncodeString("a.b"), {5, 0, 0, 0, 'a'}, {0xff, 0xff, 0xff, 0xff}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeString(b)
		if err != nil {
			return
		}
		if got := EncodeString(s); string(got) != string(b) {
			t.Fatalf("decodeString(%x) = %q, which encodes as %x", b, s, got)
		}
	})
}
