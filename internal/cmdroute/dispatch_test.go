package cmdroute

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// The commands of Ceph's test_object_format.py (surface §4.1 vectors 16-23).
type alphaArgs struct {
	clicommand.Meta `prefix:"alpha one" perm:"r"`
	Name            string `default:"default"`
}

type betaArgs struct {
	clicommand.Meta `prefix:"beta two" perm:"r"`
	Name            string  `default:"default"`
	Format          *string // declared by the handler itself, as beta_two does
}

type gammaArgs struct {
	clicommand.Meta `prefix:"gamma three" perm:"rw"`
	Size            int `default:"0"`
}

type zErrArgs struct {
	clicommand.Meta `prefix:"z_err" perm:"rw"`
	Name            string
}

type emptyArgs struct {
	clicommand.Meta `prefix:"empty one" perm:"rw"`
	Name            string
	Retval          *int
}

type funnyThings struct {
	Name string `json:"name"`
	Size int    `json:"size"`
}

// fancyFormatter is FancyDemoAdapter: the default formats plus xml and plain.
type fancyFormatter struct{ objectformat.ObjectFormatter }

func (f fancyFormatter) Supports(fm objectformat.Format) bool {
	return fm == objectformat.XML || fm == objectformat.Plain || f.ObjectFormatter.Supports(fm)
}

func (f fancyFormatter) Format(v any, fm objectformat.Format) ([]byte, error) {
	t := v.(funnyThings)
	switch fm {
	case objectformat.XML:
		return fmt.Appendf(nil, `<object name="%s" size="%d" />`, t.Name, t.Size), nil
	case objectformat.Plain:
		noun := "boxes"
		if t.Size == 1 {
			noun = "box"
		}
		return fmt.Appendf(nil, "%d %s of %s", t.Size, noun, t.Name), nil
	}
	return f.ObjectFormatter.Format(v, fm)
}

func objectFormatRegistry(t *testing.T) *Registry {
	r := NewRegistry()
	require.NoError(t, r.Add("test", clicommand.Responder(func(_ context.Context, a *alphaArgs) (map[string]any, error) {
		return map[string]any{"alpha": "one", "name": a.Name, "weight": 300}, nil
	}), clicommand.Responder(func(_ context.Context, a *betaArgs) (map[string]any, error) {
		return map[string]any{"beta": "two", "name": a.Name, "weight": 72}, nil
	}), clicommand.Responder(func(_ context.Context, a *gammaArgs) (funnyThings, error) {
		return funnyThings{Name: "funnystuff", Size: a.Size}, nil
	}, objectformat.WithFormatter(fancyFormatter{})), clicommand.ErrorResponseHandler(func(_ context.Context, a *zErrArgs) (objectformat.Result, error) {
		if strings.Contains(a.Name, "z") {
			return objectformat.Result{}, objectformat.NewErrorResponse(a.Name + " bad")
		}
		return objectformat.OK(a.Name), nil
	}), clicommand.EmptyResponder(func(_ context.Context, a *emptyArgs) error {
		if a.Name == "pow" {
			rv := -5
			if a.Retval != nil {
				rv = *a.Retval
			}
			return objectformat.NewErrorResponseCode(a.Name, rv)
		}
		return nil
	}),
	))
	return r
}

func call(r *Registry, cmd map[string]any) objectformat.Result {
	return r.Dispatch(context.Background(), clicommand.Call{Perm: "rw", Cmd: cmd})
}

func TestResponderThroughRegistry(t *testing.T) {
	r := objectFormatRegistry(t)
	einval := -int(syscall.EINVAL)
	tests := []struct {
		name string
		cmd  map[string]any
		want objectformat.Result
	}{
		{"v16 alpha json", map[string]any{"prefix": "alpha one", "name": "moonbase"},
			objectformat.OK("{\n  \"alpha\": \"one\",\n  \"name\": \"moonbase\",\n  \"weight\": 300\n}")},
		{"v17 alpha yaml", map[string]any{"prefix": "alpha one", "name": "moonbase2", "format": "yaml"},
			objectformat.OK("alpha: one\nname: moonbase2\nweight: 300\n")},
		{"v17 unknown format", map[string]any{"prefix": "alpha one", "format": "chocolate"},
			objectformat.Failed(einval, "Unknown format name: chocolate")},
		{"v29 json-pretty equals json", map[string]any{"prefix": "alpha one", "name": "x", "format": "json-pretty"},
			objectformat.OK("{\n  \"alpha\": \"one\",\n  \"name\": \"x\",\n  \"weight\": 300\n}")},
		{"v18 beta default", map[string]any{"prefix": "beta two"},
			objectformat.OK("{\n  \"beta\": \"two\",\n  \"name\": \"default\",\n  \"weight\": 72\n}")},
		{"v18 beta plain unsupported", map[string]any{"prefix": "beta two", "format": "plain"},
			objectformat.Failed(einval, "Unsupported format: plain")},
		{"v19 gamma default", map[string]any{"prefix": "gamma three"},
			objectformat.OK("{\n  \"name\": \"funnystuff\",\n  \"size\": 0\n}")},
		{"v19 gamma plain 1", map[string]any{"prefix": "gamma three", "size": 1, "format": "plain"},
			objectformat.OK("1 box of funnystuff")},
		{"v19 gamma plain 2", map[string]any{"prefix": "gamma three", "size": 2, "format": "plain"},
			objectformat.OK("2 boxes of funnystuff")},
		{"v19 gamma xml", map[string]any{"prefix": "gamma three", "size": 2, "format": "xml"},
			objectformat.OK(`<object name="funnystuff" size="2" />`)},
		{"v19 gamma toml", map[string]any{"prefix": "gamma three", "format": "toml"},
			objectformat.Failed(einval, "Unknown format name: toml")},
		{"v20 z_err ok", map[string]any{"prefix": "z_err", "name": "foobar"}, objectformat.OK("foobar")},
		{"v20 z_err error", map[string]any{"prefix": "z_err", "name": "zamboni"}, objectformat.Failed(einval, "zamboni bad")},
		{"v21 empty ok", map[string]any{"prefix": "empty one", "name": "zucchini"}, objectformat.Result{}},
		{"v21 empty error", map[string]any{"prefix": "empty one", "name": "pow"}, objectformat.Failed(-5, "pow")},
		// Python honours 0 (success with a status); in Go an error always fails.
		{"v21 zero is a failure", map[string]any{"prefix": "empty one", "name": "pow", "retval": 0}, objectformat.Result{Retval: einval, Stderr: "pow"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := call(r, tt.cmd)
			require.Equal(t, tt.want.String(), got.String())
		})
	}
}

// TestFormatArgument is vector 23: Responder commands declare format once.
func TestFormatArgument(t *testing.T) {
	r := objectFormatRegistry(t)
	for _, p := range []string{"alpha one", "beta two", "gamma three"} {
		c, _, ok := r.Lookup(p)
		require.True(t, ok)
		require.Equal(t, 1, strings.Count(c.Spec().CmdString(), "name=format,"), p)
		require.Contains(t, c.Spec().CmdString(), "name=format,req=false,positional=false,type=CephString")
	}
	for _, p := range []string{"z_err", "empty one"} {
		c, _, _ := r.Lookup(p)
		require.NotContains(t, c.Spec().CmdString(), "name=format", p)
	}
}

// TestResponderChecksFormatFirst: an invalid format never runs the handler
// (surface §6 item 7).
func TestResponderChecksFormatFirst(t *testing.T) {
	ran := false
	r := NewRegistry()
	r.MustAdd("m", clicommand.Responder(func(context.Context, *alphaArgs) (int, error) { ran = true; return 1, nil }))
	res := call(r, map[string]any{"prefix": "alpha one", "format": "xml"})
	require.Equal(t, "Unsupported format: xml", res.Stderr)
	require.False(t, ran)
}

type typesArgs struct {
	clicommand.Meta `prefix:"antigravity types" desc:"typed args"`
	A               int
	C               color
	Flag            bool
	IDs             []int    `ceph:"req=false"`
	Ratio           *float64 `ceph:"positional=true"`
	Name            *string
	Pair            *[2]int
	Size            *int64 `ceph:"type=CephSizeBytes"`
	U8              *uint8
	OSD             *int `ceph:"name=osd,type=CephOsdName"`
}

func typesRegistry(t *testing.T, got **typesArgs) *Registry {
	r := NewRegistry()
	require.NoError(t, r.Add("antigravity", clicommand.Func(func(_ context.Context, a *typesArgs) objectformat.Result {
		*got = a
		return objectformat.Result{}
	})))
	return r
}

// TestServerSideBinding covers the server side of surface §4.2 vectors
// 35, 37, 39, 40 and 41 with Ceph's intended behaviour.
func TestServerSideBinding(t *testing.T) {
	var got *typesArgs
	r := typesRegistry(t, &got)
	base := func(extra map[string]any) map[string]any {
		m := map[string]any{"prefix": "antigravity types", "a": 5, "c": "red"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	ok := []struct {
		name  string
		cmd   map[string]any
		check func(t *testing.T, a *typesArgs)
	}{
		{"v40 bool from the string false is false", base(map[string]any{"flag": "false"}), func(t *testing.T, a *typesArgs) {
			require.False(t, a.Flag)
		}},
		{"bool from JSON true", base(map[string]any{"flag": true}), func(t *testing.T, a *typesArgs) { require.True(t, a.Flag) }},
		{"v40 a list given as a string is not split into characters", base(map[string]any{"ids": "12"}), func(t *testing.T, a *typesArgs) {
			require.Equal(t, []int{12}, a.IDs)
		}},
		{"comma separated list", base(map[string]any{"ids": "1,2"}), func(t *testing.T, a *typesArgs) { require.Equal(t, []int{1, 2}, a.IDs) }},
		{"JSON list", base(map[string]any{"ids": []any{json.Number("3"), "4"}}), func(t *testing.T, a *typesArgs) {
			require.Equal(t, []int{3, 4}, a.IDs)
		}},
		{"v35 int from string", base(map[string]any{"a": "123"}), func(t *testing.T, a *typesArgs) { require.Equal(t, 123, a.A) }},
		{"v35 float from string", base(map[string]any{"ratio": "123.45"}), func(t *testing.T, a *typesArgs) { require.Equal(t, 123.45, *a.Ratio) }},
		{"v35 string from a number", base(map[string]any{"name": 123}), func(t *testing.T, a *typesArgs) { require.Equal(t, "123", *a.Name) }},
		{"v35 enum by value", base(map[string]any{"c": "blue-ish"}), func(t *testing.T, a *typesArgs) { require.Equal(t, color("blue-ish"), a.C) }},
		{"v41 k=v text is a plain value", base(map[string]any{"name": "oid=zz"}), func(t *testing.T, a *typesArgs) { require.Equal(t, "oid=zz", *a.Name) }},
		{"fixed-size pair", base(map[string]any{"pair": []any{1, 2}}), func(t *testing.T, a *typesArgs) { require.Equal(t, [2]int{1, 2}, *a.Pair) }},
		{"v37 size 5242880", base(map[string]any{"size": "5242880"}), func(t *testing.T, a *typesArgs) { require.EqualValues(t, 5242880, *a.Size) }},
		{"v37 size 5120KB", base(map[string]any{"size": "5120KB"}), func(t *testing.T, a *typesArgs) { require.EqualValues(t, 5242880, *a.Size) }},
		{"v37 size 5MB", base(map[string]any{"size": "5MB"}), func(t *testing.T, a *typesArgs) { require.EqualValues(t, 5242880, *a.Size) }},
		{"osd name into an int", base(map[string]any{"osd": "osd.3"}), func(t *testing.T, a *typesArgs) { require.Equal(t, 3, *a.OSD) }},
		{"absent optionals stay nil", base(nil), func(t *testing.T, a *typesArgs) {
			require.Nil(t, a.Ratio)
			require.Nil(t, a.IDs)
			require.Nil(t, a.Name)
			require.False(t, a.Flag)
		}},
		{"envelope keys are accepted", base(map[string]any{"target": []any{"mon-mgr", ""}, "format": "json", "poll": true}), func(t *testing.T, a *typesArgs) {}},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			res := call(r, tt.cmd)
			require.Equal(t, 0, res.Retval, res.Stderr)
			tt.check(t, got)
		})
	}
	bad := []struct {
		name string
		cmd  map[string]any
		want string
	}{
		{"v40 bad int names the argument", base(map[string]any{"a": "zz"}), "Invalid command: argument 'a': zz doesn't represent an int"},
		{"v35 invalid integer", base(map[string]any{"a": "invalid_integer"}), "argument 'a': invalid_integer doesn't represent an int"},
		{"float for an int", base(map[string]any{"a": 5.5}), "argument 'a': 5.5 doesn't represent an int"},
		{"bad choice", base(map[string]any{"c": "green"}), "argument 'c': green not in red|blue-ish"},
		{"bad bool", base(map[string]any{"flag": "maybe"}), "argument 'flag': maybe not one of 'true', 'false'"},
		{"v39 missing required", map[string]any{"prefix": "antigravity types", "c": "red"}, "Invalid command: missing required parameter a(<int>)"},
		{"unknown argument", base(map[string]any{"bogus": 1}), "Invalid command: unknown argument 'bogus' for 'antigravity types' (it takes a, c, flag, ids, name, osd, pair, ratio, size, u8)"},
		{"list for a scalar", base(map[string]any{"a": []any{1, 2}}), "argument 'a' takes one value, not a list"},
		{"wrong count", base(map[string]any{"pair": []any{1}}), "saw 1 of [pair(<int>)], expected 2"},
		{"overflow of the field type", base(map[string]any{"u8": 300}), "argument 'u8': 300 does not fit in uint8"},
		{"negative unsigned", base(map[string]any{"u8": -1}), "argument 'u8': -1 not in range [0]"},
		{"bad size", base(map[string]any{"size": "5XB"}), "argument 'size': 5XB is not a valid size"},
		{"osd star into an int", base(map[string]any{"osd": "*"}), "argument 'osd': * is not an integer"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			res := call(r, tt.cmd)
			require.Equal(t, -int(syscall.EINVAL), res.Retval)
			require.Contains(t, res.Stderr, tt.want)
			require.Empty(t, res.Stdout)
		})
	}
}

type inbufArgs struct {
	clicommand.Meta `prefix:"take file"`
	Inbuf           *string
}

type noInbufArgs struct {
	clicommand.Meta `prefix:"no file"`
}

// TestInbuf: the -i input reaches an inbuf field only when non-empty, and a
// command without one refuses input (surface §1 row 12, newest behaviour).
func TestInbuf(t *testing.T) {
	var seen *string
	r := NewRegistry()
	r.MustAdd("m", clicommand.Func(func(_ context.Context, a *inbufArgs) objectformat.Result {
		seen = a.Inbuf
		return objectformat.Result{}
	}), clicommand.Func(func(context.Context, *noInbufArgs) objectformat.Result { return objectformat.OK("ran") }),
	)
	res := r.Dispatch(context.Background(), clicommand.Call{Perm: "rw", Cmd: map[string]any{"prefix": "take file"}, Inbuf: []byte("data\n")})
	require.Zero(t, res.Retval)
	require.Equal(t, "data\n", *seen)
	res = r.Dispatch(context.Background(), clicommand.Call{Perm: "rw", Cmd: map[string]any{"prefix": "take file"}})
	require.Zero(t, res.Retval)
	require.Nil(t, seen)
	res = r.Dispatch(context.Background(), clicommand.Call{Perm: "rw", Cmd: map[string]any{"prefix": "no file"}, Inbuf: []byte("x")})
	require.Equal(t, objectformat.Failed(-int(syscall.EINVAL), "Invalid command: Input file data (-i) not supported").String(), res.String())
}

type writeArgs struct {
	clicommand.Write `prefix:"do write"`
}

type readArgs struct {
	clicommand.Read `prefix:"do read"`
}

func TestDispatchErrors(t *testing.T) {
	r := NewRegistry()
	r.MustAdd("m", clicommand.EmptyResponder(func(context.Context, *writeArgs) error { return nil }), clicommand.Func(func(context.Context, *readArgs) objectformat.Result { panic("boom") }))
	ctx := context.Background()
	// surface §4.4 vector 81: an unknown prefix sent raw.
	res := r.Dispatch(ctx, clicommand.Call{Perm: "rw", Cmd: map[string]any{"prefix": "antigravity nosuch"}})
	require.Equal(t, objectformat.Failed(-22, "No handler found for 'antigravity nosuch'").String(), res.String())
	res = r.Dispatch(ctx, clicommand.Call{Perm: "rw", Cmd: map[string]any{}})
	require.Equal(t, -22, res.Retval)
	// permissions: a read-only caller cannot run a write command.
	res = r.Dispatch(ctx, clicommand.Call{Cmd: map[string]any{"prefix": "do write"}, Perm: "r"})
	require.Equal(t, -int(syscall.EACCES), res.Retval)
	require.Contains(t, res.Stderr, "needs 'w' permission")
	res = r.Dispatch(ctx, clicommand.Call{Cmd: map[string]any{"prefix": "do write"}, Perm: "rw"})
	require.Zero(t, res.Retval)
	// a panicking handler becomes -EINVAL with the stack in stderr.
	res = r.Dispatch(ctx, clicommand.Call{Cmd: map[string]any{"prefix": "do read"}, Perm: "r"})
	require.Equal(t, -22, res.Retval)
	require.Contains(t, res.Stderr, `command "do read" panicked: boom`)
	require.Contains(t, res.Stderr, "goroutine")
}

func TestRegistryAdd(t *testing.T) {
	r := NewRegistry()
	require.NoError(t, r.Add("one", clicommand.EmptyResponder(func(context.Context, *writeArgs) error { return nil })))
	err := r.Add("two", clicommand.EmptyResponder(func(context.Context, *writeArgs) error { return nil }))
	require.EqualError(t, err, `module two: command "do write" is already registered by module one`)
	err = r.Add("two", clicommand.Func(func(context.Context, *readArgs) objectformat.Result { return objectformat.Result{} }), clicommand.Func(func(context.Context, *readArgs) objectformat.Result { return objectformat.Result{} }))
	require.EqualError(t, err, `module two: command "do read" registered twice`)
	require.Equal(t, 1, r.Len(), "a failed Add adds nothing")
	err = r.Add("three", clicommand.Func(func(context.Context, *struct{ X int }) objectformat.Result { return objectformat.Result{} }))
	require.ErrorContains(t, err, "module three: clicommand:")
	r.Remove("one")
	require.Zero(t, r.Len())
	_, _, ok := r.Lookup("do write")
	require.False(t, ok)
}

func TestLegacyCommand(t *testing.T) {
	var got map[string]any
	r := NewRegistry()
	r.MustAdd("legacy", clicommand.Legacy("foobar name=myarg,type=CephString name=n,type=CephInt,req=false", "Do something awesome", "rw",
		objectformat.HandlerFunc(func(_ context.Context, req *objectformat.Request) objectformat.Result {
			got = req.Cmd
			return objectformat.OK(string(req.Inbuf))
		})))
	res := r.Dispatch(context.Background(), clicommand.Call{Perm: "rw", Cmd: map[string]any{"prefix": "foobar", "myarg": "x", "n": "7"}, Inbuf: []byte("in")})
	require.Equal(t, objectformat.OK("in").String(), res.String())
	require.Equal(t, map[string]any{"prefix": "foobar", "myarg": "x", "n": int64(7)}, got)
	res = r.Dispatch(context.Background(), clicommand.Call{Perm: "rw", Cmd: map[string]any{"prefix": "foobar"}})
	require.Equal(t, "Invalid command: missing required parameter myarg(<string>)", res.Stderr)

	bad := clicommand.Legacy("foobar name=x,type=CephBogus", "", "rw", nil)
	require.ErrorContains(t, bad.Err(), "unknown type CephBogus")
	require.ErrorContains(t, clicommand.Legacy("x", "", "zz", nil).Err(), `perm "zz"`)
}

func TestErrnoFromHandlerErrors(t *testing.T) {
	type a struct {
		clicommand.Meta `prefix:"e"`
	}
	r := NewRegistry()
	r.MustAdd("m", clicommand.EmptyResponder(func(context.Context, *a) error {
		return fmt.Errorf("lookup: %w", syscall.ENOENT)
	}))
	res := call(r, map[string]any{"prefix": "e"})
	require.Equal(t, -2, res.Retval)
	require.Equal(t, "lookup: no such file or directory", res.Stderr)
	require.ErrorContains(t, res.Err(), "no such file or directory")
}

type color string

func (color) Choices() []string { return []string{"red", "blue-ish"} }
