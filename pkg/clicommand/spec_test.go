package clicommand

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/pkg/cmddesc"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

type color string

func (color) Choices() []string { return []string{"red", "blue-ish"} }

type enumOneTwo string

func (enumOneTwo) Choices() []string { return []string{"one", "two"} }

// argsOf returns the descriptor part of a struct's cmd string.
func argsOf(t *testing.T, v any) string {
	t.Helper()
	s, err := specOnly(reflect.TypeOf(v))
	require.NoError(t, err)
	return strings.TrimPrefix(s.CmdString(), s.Prefix()+" ")
}

// TestDescriptorFromStruct covers surface §4.2 vectors 32-34, 38, 42, 43 and
// the table in §2.3: Go field types and tags give Ceph's descriptors.
func TestDescriptorFromStruct(t *testing.T) {
	tests := []struct {
		name string
		args any
		want string
	}{
		{"v32 required string", struct {
			Meta `prefix:"t"`
			X    string
		}{}, "name=x,type=CephString"},
		{"v32 optional string (pointer)", struct {
			Meta `prefix:"t"`
			X    *string
		}{}, "name=x,req=false,type=CephString"},
		{"v32 optional string (default)", struct {
			Meta `prefix:"t"`
			X    string `default:"d"`
		}{}, "name=x,req=false,type=CephString"},
		{"v32 positional=false", struct {
			Meta `prefix:"t"`
			X    string `ceph:"positional=false"`
		}{}, "name=x,positional=false,type=CephString"},
		{"v33 int", struct {
			Meta `prefix:"t"`
			X    int
		}{}, "name=x,type=CephInt"},
		{"v33 float", struct {
			Meta `prefix:"t"`
			X    float64
		}{}, "name=x,type=CephFloat"},
		{"v33 required bool (req=true tag)", struct {
			Meta `prefix:"t"`
			X    bool `ceph:"req=true"`
		}{}, "name=x,positional=false,type=CephBool"},
		{"v34 choices", struct {
			Meta `prefix:"t"`
			X    enumOneTwo
		}{}, "name=x,strings=one|two,type=CephChoices"},
		{"v38 send to blackhole", struct {
			Meta      `prefix:"t"`
			OID       string
			Blackhole *string
			Inbuf     *string
		}{}, "name=oid,type=CephString name=blackhole,req=false,type=CephString"},
		{"v38 bool switches later args to non-positional", struct {
			Meta  `prefix:"t"`
			Name  string
			Force bool
			Size  int `default:"0"`
		}{}, "name=name,type=CephString name=force,req=false,positional=false,type=CephBool name=size,req=false,positional=false,type=CephInt"},
		{"v38 format switches later args to non-positional", struct {
			Meta   `prefix:"t"`
			Name   string
			Format string `default:"plain"`
			Count  int    `default:"1"`
		}{}, "name=name,type=CephString name=format,req=false,positional=false,type=CephString name=count,req=false,positional=false,type=CephInt"},
		{"v38 _end_positional_ marker", struct {
			Meta `prefix:"t"`
			A    string
			_    EndPositional
			B    *string
		}{}, "name=a,type=CephString name=b,req=false,positional=false,type=CephString"},
		{"v38 choices and lists", struct {
			Meta  `prefix:"t"`
			Color color
			IDs   []int
			Tags  *[]string
		}{}, "name=color,strings=red|blue-ish,type=CephChoices name=ids,n=N,type=CephInt name=tags,req=false,n=N,type=CephString"},
		{"v38 Pacific types row, intended required-ness", struct {
			Meta  `prefix:"t"`
			A     int
			C     color
			Flag  bool
			IDs   []int    `ceph:"req=false,positional=true"`
			Ratio *float64 `ceph:"positional=true"`
		}{}, "name=a,type=CephInt name=c,strings=red|blue-ish,type=CephChoices name=flag,req=false,positional=false,type=CephBool name=ids,req=false,n=N,type=CephInt name=ratio,req=false,type=CephFloat"},
		{"v42 fixed-size array gives n=2 (Python's Tuple is broken)", struct {
			Meta `prefix:"t"`
			Pair [2]int
		}{}, "name=pair,n=2,type=CephInt"},
		{"v43 goodchars", struct {
			Meta `prefix:"t"`
			X    string `ceph:"goodchars=[a-z]"`
		}{}, "name=x,goodchars=[a-z],type=CephString"},
		{"range on int", struct {
			Meta `prefix:"t"`
			Num  int `ceph:"range=1|10"`
		}{}, "name=num,range=1|10,type=CephInt"},
		{"unsigned gets range=0", struct {
			Meta  `prefix:"t"`
			Count uint
		}{}, "name=count,range=0,type=CephInt"},
		{"explicit Ceph type and name", struct {
			Meta `prefix:"t"`
			P    string `ceph:"name=pool,type=CephPoolname"`
			ID   int    `ceph:"type=CephOsdName"`
		}{}, "name=pool,type=CephPoolname name=id,type=CephOsdName"},
		{"snake case names", struct {
			Meta       `prefix:"t"`
			PersonName string
			PoolID     int
			HTTPPort   int
		}{}, "name=person_name,type=CephString name=pool_id,type=CephInt name=http_port,type=CephInt"},
		{"ceph:\"-\" skips a field", struct {
			Meta   `prefix:"t"`
			X      string
			Hidden string `ceph:"-"`
		}{}, "name=x,type=CephString"},
		{"no arguments", struct {
			Read `prefix:"t"`
		}{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, argsOf(t, tt.args))
		})
	}
}

// TestSpecMeta checks prefix, perm, help, poll and flags from the Meta tag
// (Python's CLICommand / CLIReadCommand / CLIWriteCommand arguments).
func TestSpecMeta(t *testing.T) {
	s, err := specOnly(reflect.TypeOf(struct {
		Meta `prefix:"  mgr  self-test   run " desc:"Run tests" poll:"true" flags:"hidden"`
	}{}))
	require.NoError(t, err)
	require.Equal(t, "mgr self-test run", s.Prefix())
	require.Equal(t, "rw", s.Perm)
	require.Equal(t, "Run tests", s.Help)
	require.Equal(t, cmddesc.FlagPoll|cmddesc.FlagHidden, s.Flags)
	require.True(t, s.Poll())
	// surface §6 item 39: a command without arguments exports a trailing space.
	require.Equal(t, "mgr self-test run ", s.CmdString())

	r, err := specOnly(reflect.TypeOf(struct {
		Read `prefix:"x"`
	}{}))
	require.NoError(t, err)
	require.Equal(t, "r", r.Perm)
	w, err := specOnly(reflect.TypeOf(struct {
		Write `prefix:"x"`
	}{}))
	require.NoError(t, err)
	require.Equal(t, "w", w.Perm)
}

// TestSpecErrors: definition mistakes are reported at registration as
// "Type.Field: message" (surface §4.2 vector 33: an unsupported type is an
// error, like Python's ValueError for `object`).
func TestSpecErrors(t *testing.T) {
	tests := []struct {
		name string
		args any
		want string
	}{
		{"not a struct", 5, "is not a struct"},
		{"no meta", struct{ X string }{}, "no embedded clicommand.Meta"},
		{"empty prefix", struct {
			Meta `desc:"x"`
		}{}, "missing prefix tag"},
		{"two metas", struct {
			Meta
			Read
		}{}, "embeds only one"},
		{"v33 unsupported type", struct {
			Meta `prefix:"t"`
			X    struct{}
		}{}, ".X: unsupported field type struct {}"},
		{"map type", struct {
			Meta `prefix:"t"`
			M    map[string]int
		}{}, ".M: unsupported field type map[string]int"},
		{"unexported", struct {
			Meta `prefix:"t"`
			x    string
		}{}, ".x: unexported field"},
		{"bad perm", struct {
			Meta `prefix:"t" perm:"q"`
		}{}, `perm "q"`},
		{"perm on Read", struct {
			Read `prefix:"t" perm:"w"`
		}{}, "use Meta to set perm"},
		{"bad tag syntax", struct {
			Meta `prefix:"t"`
			X    string `ceph:"goodchars"`
		}{}, "is not key=value"},
		{"unknown type", struct {
			Meta `prefix:"t"`
			X    string `ceph:"type=CephBogus"`
		}{}, "unknown type CephBogus"},
		{"type does not fit", struct {
			Meta `prefix:"t"`
			X    string `ceph:"type=CephInt"`
		}{}, "type=CephInt does not fit field type string"},
		{"duplicate name", struct {
			Meta `prefix:"t"`
			X    string
			Y    string `ceph:"name=x"`
		}{}, `argument name "x" used twice`},
		{"bad default", struct {
			Meta `prefix:"t"`
			N    int `default:"ten"`
		}{}, `default "ten": ten doesn't represent an int`},
		{"default out of range", struct {
			Meta `prefix:"t"`
			N    int `ceph:"range=1|5" default:"9"`
		}{}, "9 not in range [1, 5]"},
		{"req=true with pointer", struct {
			Meta `prefix:"t"`
			N    *int `ceph:"req=true"`
		}{}, "req=true contradicts"},
		{"n on a scalar", struct {
			Meta `prefix:"t"`
			N    int `ceph:"n=N"`
		}{}, "needs a slice or array"},
		{"bad inbuf type", struct {
			Meta  `prefix:"t"`
			Inbuf int
		}{}, "inbuf field must be"},
		{"bad regexp", struct {
			Meta `prefix:"t"`
			X    string `ceph:"goodchars=[a-"`
		}{}, "not a valid regular expression"},
		{"unknown flag", struct {
			Meta `prefix:"t" flags:"loud"`
		}{}, `unknown flag "loud"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := specOnly(reflect.TypeOf(tt.args))
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"OID": "oid", "PersonName": "person_name", "PoolID": "pool_id", "HTTPServer": "http_server",
		"X": "x", "Num2": "num2", "IDs": "ids", "already_snake": "already_snake",
	} {
		require.Equal(t, want, snakeCase(in), in)
	}
}

// specOnly is specOf's Spec.
func specOnly(t reflect.Type) (*cmddesc.Spec, error) {
	s, _, err := specOf(t)
	return s, err
}

type orderArgs struct {
	Meta  `prefix:"order"`
	Small int8
	Name  string
}

// TestBindReportsTheFirstBadArgument: arguments are checked and stored in
// order, so a value that does not fit its field is reported before a
// later missing argument (as before the cmddesc split; review finding).
func TestBindReportsTheFirstBadArgument(t *testing.T) {
	c := Func(func(context.Context, *orderArgs) objectformat.Result { return objectformat.OK("ok") })
	res := c.Call(context.Background(), Call{Cmd: map[string]any{"prefix": "order", "small": float64(300)}, Perm: "rw"})
	require.Equal(t, "Invalid command: argument 'small': 300 does not fit in int8", res.Stderr)
	res = c.Call(context.Background(), Call{Cmd: map[string]any{"prefix": "order", "small": float64(3)}, Perm: "rw"})
	require.Equal(t, "Invalid command: missing required parameter name(<string>)", res.Stderr)
}

type noteArgs struct {
	Meta  `prefix:"note add"`
	Inbuf string `nonempty:"the note's text"`
}

// TestNonemptyInput is Python's CLICheckNonemptyFileInput: no input file,
// and one of white space only, are refused with texts that say what the
// file should hold; an editor's newlines at its end are dropped.
func TestNonemptyInput(t *testing.T) {
	c := Func(func(_ context.Context, a *noteArgs) objectformat.Result { return objectformat.OK("[" + a.Inbuf + "]") })
	for _, tc := range []struct {
		inbuf string
		want  objectformat.Result
	}{
		{"", objectformat.Failed(-22, `Input file not specified: Please specify the file containing the note's text with "-i" option`)},
		{"\n\r\n", objectformat.Failed(-22, "Empty input file: Please add the note's text to the file")},
		{" \t \n", objectformat.Failed(-22, "Empty input file: Please add the note's text to the file")},
		{"hello\n\n", objectformat.OK("[hello]")},
		{" hi \r\n", objectformat.OK("[ hi ]")},
	} {
		res := c.Call(context.Background(), Call{Cmd: map[string]any{"prefix": "note add"}, Inbuf: []byte(tc.inbuf), Perm: "rw"})
		require.Equal(t, tc.want, res, "%q", tc.inbuf)
	}
	_, err := specOnly(reflect.TypeOf(struct {
		Meta  `prefix:"t"`
		Inbuf []byte `nonempty:""`
	}{}))
	require.ErrorContains(t, err, `nonempty:"..." says what the input file holds`)
}
