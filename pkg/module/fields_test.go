package module_test

import (
	"context"
	"encoding/json"
	"fmt"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

func decoded(t *testing.T, text string) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(text), &v))
	return v
}

func TestFieldsSelect(t *testing.T) {
	mgrMap := `{"active_name": "x", "epoch": 9, "standbys": [{"name": "y", "gid": 1}, {"name": "z"}],
		"always_on_modules": {"pacific": ["crash"], "octopus": ["x"]}, "modules": ["a"]}`
	for _, tc := range []struct {
		name   string
		fields module.Fields
		in     string
		want   string
	}{
		{"nil: all", nil, mgrMap, mgrMap},
		{"empty: all", module.Fields{}, mgrMap, mgrMap},
		{"top keys", module.Fields{"active_name": nil, "modules": nil}, mgrMap, `{"active_name": "x", "modules": ["a"]}`},
		{"in each element", module.Fields{"standbys": {"name": nil}}, mgrMap, `{"standbys": [{"name": "y"}, {"name": "z"}]}`},
		{"nested object", module.Fields{"always_on_modules": {"pacific": nil}}, mgrMap, `{"always_on_modules": {"pacific": ["crash"]}}`},
		{"missing keys left out", module.Fields{"nope": nil, "standbys": {"gid": nil}}, mgrMap, `{"standbys": [{"gid": 1}, {}]}`},
		{"a scalar is kept whole", module.Fields{"epoch": {"deeper": nil}}, mgrMap, `{"epoch": 9}`},
		{"a list of lists", module.Fields{"a": nil}, `[[{"a": 1, "b": 2}], {"a": 3}]`, `[[{"a": 1}], {"a": 3}]`},
		{"null", module.Fields{"a": nil}, `null`, `null`},
		{"a string", module.Fields{"a": nil}, `"text"`, `"text"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := decoded(t, tc.in)
			got, err := json.Marshal(tc.fields.Select(in))
			require.NoError(t, err)
			assert.JSONEq(t, tc.want, string(got))
			again, _ := json.Marshal(in)
			assert.JSONEq(t, tc.in, string(again), "the value is not modified")
		})
	}
}

// Select selects in the string maps of Get's answers that are not
// decoded JSON (Get("config") attached, the module runtime's mgr map's
// "services") as it does in their JSON form, the shim's: the keys named.
func TestFieldsSelectStringMap(t *testing.T) {
	config := map[string]string{"mon_host": "[v2:1.2.3.4:3300]", "fsid": "f", "log_file": "/x"}
	for _, tc := range []struct {
		name   string
		fields module.Fields
		in     any
		want   any
	}{
		{"top keys", module.Fields{"fsid": nil, "nope": nil}, config, map[string]string{"fsid": "f"}},
		{"sub-fields of a string", module.Fields{"fsid": {"x": nil}}, config, map[string]string{"fsid": "f"}},
		{"nested", module.Fields{"services": {"dashboard": nil}},
			map[string]any{"epoch": 1, "services": map[string]string{"dashboard": "http://a/", "prometheus": "http://b/"}},
			map[string]any{"services": map[string]string{"dashboard": "http://a/"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.fields.Select(tc.in)
			assert.Equal(t, tc.want, got)
			b, _ := json.Marshal(tc.in)
			want, _ := json.Marshal(tc.fields.Select(decoded(t, string(b))))
			gotJSON, _ := json.Marshal(got)
			assert.JSONEq(t, string(want), string(gotJSON), "as the JSON form is selected")
		})
	}
	assert.Len(t, config, 3, "the value is not modified")
}

// GetFields answers Select of Get's answer in every mode (here the test
// kit's memory backend) and refuses fields that nest too deeply.
func TestGetFields(t *testing.T) {
	h, mod := startTyped(t)
	h.SetMap("osd_map", map[string]any{"epoch": 5, "pools": []any{map[string]any{"pool": 1, "pool_name": "rbd", "size": 3}}})
	ctx := context.Background()
	got, err := mod.h.GetFields(ctx, "osd_map", module.Fields{"pools": {"pool_name": nil}})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"pools": []any{map[string]any{"pool_name": "rbd"}}}, got)

	deep := module.Fields(nil)
	for range module.MaxFieldsDepth {
		deep = module.Fields{"a": deep}
	}
	_, err = mod.h.GetFields(ctx, "osd_map", deep)
	require.NoError(t, err, "as deep as allowed")
	_, err = mod.h.GetFields(ctx, "osd_map", module.Fields{"a": deep})
	require.Error(t, err)
	assert.Equal(t, -int(syscall.EINVAL), objectformat.ResultOf(err).Retval)
	loop := module.Fields{}
	loop["a"] = loop
	_, err = mod.h.GetFields(ctx, "osd_map", loop)
	assert.Equal(t, -int(syscall.EINVAL), objectformat.ResultOf(err).Retval, "fields that contain themselves")
}

// GetMany answers GetFields of each name, and refuses too many names
// or fields that nest too deeply.
func TestGetMany(t *testing.T) {
	h, mod := startTyped(t)
	h.SetMap("osd_map", map[string]any{"epoch": 5, "pools": []any{map[string]any{"pool": 1, "pool_name": "rbd"}}})
	h.SetMap("fs_map", map[string]any{"epoch": 2, "filesystems": []any{}})
	ctx := context.Background()
	got, err := mod.h.GetMany(ctx, map[string]module.Fields{"osd_map": {"pools": {"pool_name": nil}}, "fs_map": nil, "nosuch": nil})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"osd_map": map[string]any{"pools": []any{map[string]any{"pool_name": "rbd"}}},
		"fs_map": map[string]any{"epoch": 2, "filesystems": []any{}}, "nosuch": nil}, got)

	many := map[string]module.Fields{}
	for i := range module.MaxGetMany + 1 {
		many[fmt.Sprint("name", i)] = nil
	}
	_, err = mod.h.GetMany(ctx, many)
	assert.Equal(t, -int(syscall.EINVAL), objectformat.ResultOf(err).Retval, "too many names")
	loop := module.Fields{}
	loop["a"] = loop
	_, err = mod.h.GetMany(ctx, map[string]module.Fields{"osd_map": loop})
	assert.Equal(t, -int(syscall.EINVAL), objectformat.ResultOf(err).Retval, "fields that contain themselves")
}

// A module that reads a few parts of a large map asks for those alone:
// bridged into a real ceph-mgr, the rest (here the mgr map's description
// of every module's options) is never encoded nor sent to it.
func ExampleHandle_GetFields() {
	var h *module.Handle // the module's, from its constructor
	standbys := func(ctx context.Context) ([]string, error) {
		v, err := h.GetFields(ctx, "mgr_map", module.Fields{"standbys": {"name": nil}})
		if err != nil {
			return nil, err
		}
		var names []string
		mm, _ := v.(map[string]any)
		list, _ := mm["standbys"].([]any)
		for _, s := range list {
			name, _ := s.(map[string]any)["name"].(string)
			names = append(names, name)
		}
		return names, nil
	}
	_ = standbys

	// Select is the same selection, on a value at hand.
	fields := module.Fields{"standbys": {"name": nil}}
	fmt.Println(fields.Select(map[string]any{"epoch": 3, "standbys": []any{map[string]any{"name": "y", "gid": 7}}}))
	// Output: map[standbys:[map[name:y]]]
}

// FuzzFieldsSelect: Select of any decoded JSON value by any fields never
// panics, leaves the value as it was, and selecting its answer again
// changes nothing.
func FuzzFieldsSelect(f *testing.F) {
	f.Add([]byte(`{"a": 1, "b": [{"c": 2, "d": 3}, [{"c": 4}], 5], "e": null}`), []byte(`{"b": {"c": null}, "e": {"x": null}}`))
	f.Add([]byte(`[[{"a": 1}], {"a": {"b": 2}}]`), []byte(`{"a": {"b": {}}}`))
	f.Add([]byte(`"text"`), []byte(`{"a": null}`))
	f.Add([]byte(`{}`), []byte(`{}`))
	f.Fuzz(func(t *testing.T, value, fields []byte) {
		var v any
		var fs module.Fields
		if json.Unmarshal(value, &v) != nil || json.Unmarshal(fields, &fs) != nil {
			return
		}
		before, _ := json.Marshal(v)
		got := fs.Select(v)
		after, _ := json.Marshal(v)
		if string(before) != string(after) {
			t.Fatalf("Select modified its value: %s, then %s", before, after)
		}
		once, _ := json.Marshal(got)
		twice, _ := json.Marshal(fs.Select(got))
		if string(once) != string(twice) {
			t.Fatalf("selecting again: %s, then %s", once, twice)
		}
	})
}
