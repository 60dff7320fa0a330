package objectformat

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// Helper types of Ceph's test_object_format.py (surface §4 preamble).
type simpler struct {
	name string
	val  any
}

func (s simpler) ToSimplified() any {
	v := s.val
	if v == nil {
		v = map[string]any{}
	}
	return map[string]any{"version": 1, "name": s.name, "value": v}
}

type jsoner struct{ simpler }

func (j jsoner) ToJSON() any {
	m := j.ToSimplified().(map[string]any)
	m["_json"] = true
	return m
}

type yamler struct{ simpler }

func (y yamler) ToYAML() any {
	m := y.ToSimplified().(map[string]any)
	m["_yaml"] = true
	return m
}

type retty struct {
	v      int
	status string
}

func (r retty) MgrReturnValue() int { return r.v }
func (r retty) MgrStatusValue() string {
	if r.status == "" {
		return "NOPE"
	}
	return r.status
}

func format(t *testing.T, fm Formatter, v any, f Format) string {
	t.Helper()
	b, err := fm.Format(v, f)
	require.NoError(t, err)
	return string(b)
}

// TestObjectFormatter covers surface §4.1 vectors 1-7 at the formatter level.
func TestObjectFormatter(t *testing.T) {
	one := ObjectFormatter{OneLineJSON: true}
	require.Equal(t, "{}", format(t, one, map[string]any{}, JSON), "v1")
	require.Equal(t, `{"name": "foobar"}`, format(t, one, map[string]any{"name": "foobar"}, JSON), "v2")
	require.Equal(t, `[1, 2, 3]`, format(t, one, []int{1, 2, 3}, JSON), "v2")
	require.Equal(t, `{"name": "bob", "value": {}, "version": 1}`, format(t, one, jsoner{simpler{"bob", nil}}, JSON), "v3")
	require.Equal(t, `{"name": "betty", "value": 77, "version": 1}`, format(t, one, jsoner{simpler{"betty", 77}}, JSON), "v3")
	compat := ObjectFormatter{OneLineJSON: true, Compatible: true}
	require.Equal(t, `{"_json": true, "name": "bob", "value": {}, "version": 1}`, format(t, compat, jsoner{simpler{"bob", nil}}, JSON), "v4")
	def := ObjectFormatter{}
	require.Equal(t, "{}\n", format(t, def, map[string]any{}, YAML), "v5")
	require.Equal(t, "name: foobar\n", format(t, def, map[string]any{"name": "foobar"}, YAML), "v5")
	require.Equal(t, "stuff:\n- 1\n- 88\n- 909\n- 32\n", format(t, def, map[string]any{"stuff": []int{1, 88, 909, 32}}, YAML), "v5")
	require.Equal(t, "name: zebulon\nvalue: '999'\nversion: 1\n", format(t, def, jsoner{simpler{"zebulon", "999"}}, YAML), "v6")
	require.Equal(t, "_yaml: true\nname: thingy\nvalue: '404'\nversion: 1\n",
		format(t, ObjectFormatter{Compatible: true}, yamler{simpler{"thingy", "404"}}, YAML), "v7")
}

// TestReturnAndStatusValues is vectors 8 and 9: only values implementing
// the protocols set retval and status.
func TestReturnAndStatusValues(t *testing.T) {
	for _, tt := range []struct {
		v      any
		retval int
		status string
	}{
		{map[string]any{}, 0, ""},
		{map[string]any{"fish": "sticks"}, 0, ""},
		{-55, 0, ""},
		{retty{0, ""}, 0, "NOPE"},
		{retty{-55, ""}, -55, "NOPE"},
		{retty{-55, "cake"}, -55, "cake"},
		{retty{-50, "pie"}, -50, "pie"},
	} {
		res := Render(tt.v, JSON, ObjectFormatter{})
		require.Equal(t, tt.retval, res.Retval, "%#v", tt.v)
		require.Equal(t, tt.status, res.Stderr, "%#v", tt.v)
	}
}

// TestFormats is vectors 10 and 11 plus the Unknown/Unsupported split
// (surface §3.2, §6 item 9).
func TestFormats(t *testing.T) {
	for _, f := range []Format{JSON, YAML, XML, Plain, JSONPretty, XMLPretty} {
		require.True(t, f.Known(), "v10 %s", f)
	}
	for name, want := range map[string]string{
		"toml": "Unknown format name: toml", "json_pretty": "Unknown format name: json_pretty",
		"JSON": "Unknown format name: JSON", "xml": "Unsupported format: xml", "plain": "Unsupported format: plain",
		"xml-pretty": "Unsupported format: xml-pretty",
	} {
		_, err := CheckFormat(Format(name), JSON, ObjectFormatter{})
		require.EqualError(t, err, want)
		require.Equal(t, -22, ResultOf(err).Retval)
	}
	f, err := CheckFormat("", JSON, ObjectFormatter{})
	require.NoError(t, err)
	require.Equal(t, JSON, f)
	require.Equal(t, Result{Retval: -22, Stderr: "Unsupported format: cheese"}, (&UnsupportedFormatError{"cheese"}).FormatResponse(), "v11")
	require.Equal(t, Result{Retval: -22, Stderr: "Unknown format name: chocolate"}, (&UnknownFormatError{"chocolate"}).FormatResponse(), "v11")
}

func serve(h Handler, f Format) Result {
	return h.ServeCommand(context.Background(), &Request{Prefix: "t", Format: f})
}

// TestResponder is vectors 12-15 and 29.
func TestResponder(t *testing.T) {
	empty := Responder(func(context.Context, *Request) (map[string]any, error) { return map[string]any{}, nil })
	require.Equal(t, OK("{}").String(), serve(empty, "").String(), "v12")
	blat := Responder(func(context.Context, *Request) (map[string]any, error) { return map[string]any{"blat": true}, nil })
	require.Equal(t, OK("{\n  \"blat\": true\n}").String(), serve(blat, JSON).String(), "v13")
	require.Equal(t, OK("{\n  \"blat\": true\n}").String(), serve(blat, JSONPretty).String(), "v29")
	require.Equal(t, OK("blat: true\n").String(), serve(blat, YAML).String(), "v13")
	require.Equal(t, Failed(-22, "Unknown format name: toml").String(), serve(blat, "toml").String(), "v13")
	require.Equal(t, Failed(-22, "Unsupported format: xml").String(), serve(blat, XML).String(), "v13")
	hoop := Responder(func(context.Context, *Request) (any, error) { return jsoner{simpler{"hoop", "303"}}, nil })
	require.Equal(t, OK("name: hoop\nvalue: '303'\nversion: 1\n").String(), serve(hoop, YAML).String(), "v14")
	multi := Responder(func(context.Context, *Request) (map[string]any, error) { return map[string]any{"blat": true}, nil },
		WithFormatter(multiYAML{}))
	require.Equal(t, OK("---\nblat: true\n").String(), serve(multi, YAML).String(), "v15")
	require.Equal(t, OK("{\n  \"blat\": true\n}").String(), serve(multi, JSON).String(), "v15")
	require.Equal(t, Failed(-22, "Unknown format name: toml").String(), serve(multi, "toml").String(), "v15")
	require.Equal(t, Failed(-22, "Unsupported format: xml").String(), serve(multi, XML).String(), "v15")
	plainDefault := Responder(func(context.Context, *Request) (string, error) { return "x", nil }, WithDefaultFormat(YAML))
	require.Equal(t, OK("x\n...\n").String(), serve(plainDefault, "").String())
}

// multiYAML is PhonyMultiYAMLFormatAdapter: YAML documents start with ---.
type multiYAML struct{ ObjectFormatter }

func (m multiYAML) Format(v any, f Format) ([]byte, error) {
	b, err := m.ObjectFormatter.Format(v, f)
	if err == nil && f == YAML {
		b = append([]byte("---\n"), b...)
	}
	return b, err
}

// TestResponderScalars is vector 31 with Go's answer for bytes in JSON: a
// clean -EINVAL instead of a traceback.
func TestResponderScalars(t *testing.T) {
	val := func(v any) Handler { return Responder(func(context.Context, *Request) (any, error) { return v, nil }) }
	res := serve(val([]byte("x")), JSON)
	require.Equal(t, -22, res.Retval)
	require.Contains(t, res.Stderr, "cannot encode bytes as JSON")
	require.Equal(t, OK("!!binary |\n  eA==\n").String(), serve(val([]byte("x")), YAML).String())
	require.Equal(t, OK("null").String(), serve(val(nil), JSON).String())
	require.Equal(t, OK("null\n...\n").String(), serve(val(nil), YAML).String())
	require.Equal(t, OK(`"abc"`).String(), serve(val("abc"), JSON).String())
	require.Equal(t, OK("abc\n...\n").String(), serve(val("abc"), YAML).String())
	res = serve(val(make(chan int)), JSON)
	require.Equal(t, -22, res.Retval, "unencodable values are -EINVAL, not a panic")
}

func TestResponderErrors(t *testing.T) {
	calls := 0
	h := Responder(func(context.Context, *Request) (int, error) {
		calls++
		return 0, fmt.Errorf("open db: %w", os.ErrNotExist)
	})
	res := serve(h, JSON)
	require.Equal(t, -22, res.Retval, "an error without an errno is -EINVAL")
	require.Equal(t, "open db: file does not exist", res.Stderr)
	_, statErr := os.Stat("/definitely/not/here")
	h = Responder(func(context.Context, *Request) (int, error) { return 0, statErr })
	require.Equal(t, -2, serve(h, JSON).Retval)
	serve(Responder(func(context.Context, *Request) (int, error) { calls++; return 0, nil }), "toml")
	require.Equal(t, 1, calls, "the format is checked before the handler runs")
}

// TestErrorResponse is vectors 24-28 and 30.
func TestErrorResponse(t *testing.T) {
	e := NewErrorResponse("nope")
	require.Equal(t, Result{Retval: -22, Stderr: "nope"}, e.FormatResponse(), "v24")
	require.Equal(t, -22, e.ReturnValue())
	require.Equal(t, 22, e.Errno())
	require.Equal(t, -22, e.MgrReturnValue())
	require.Equal(t, `ErrorResponse("nope", -22)`, fmt.Sprintf("%#v", e))

	_, err := os.Open("/no/such/file/anywhere")
	r := Wrap(err).FormatResponse()
	require.Equal(t, -2, r.Retval, "v25")
	require.Empty(t, r.Stdout)
	require.Contains(t, r.Stderr, "no such file or directory", "v25 (Go's strerror text is lower case)")
	require.ErrorIs(t, Wrap(err), os.ErrNotExist, "the cause stays reachable")

	r = Wrap(errors.New("blat")).FormatResponse()
	require.Equal(t, -22, r.Retval, "v26")
	require.Contains(t, r.Stderr, "blat")

	require.Equal(t, Result{Retval: -17, Stderr: "beep"}, Wrap(coolErr{"beep", -17}).FormatResponse(), "v27")
	// Python's wrap keeps errno 0 as success; in Go a non-nil error fails.
	require.Equal(t, Result{Retval: -22, Stderr: "ok, fine"}, Wrap(coolErr{"ok, fine", 0}).FormatResponse(), "v27 (errno 0)")
	require.Equal(t, Result{Retval: -8, Stderr: "no can do"}, Wrap(coolErr{"no can do", 8}).FormatResponse(), "v27")

	mine := NewErrorResponseCode("no can do", -8)
	require.Same(t, mine, Wrap(mine), "v28: an ErrorResponse passes through unchanged")
	require.Same(t, mine, WrapCode(mine, -5), "v28: even with an explicit code")
	require.Equal(t, Result{Retval: -8, Stderr: "no can do"}, Wrap(mine).FormatResponse())
	// v28's MyErrorResponse("yeah, sure", 0) is an ErrorResponseBase with
	// its own format_response: its Result is used as it is.
	require.Equal(t, Result{Retval: 0, Stderr: "yeah, sure"}, ResultOf(ownResult{Result{Stderr: "yeah, sure"}}), "v28")

	r = Wrap(&os.PathError{Op: "open", Path: "x", Err: errors.New("boom")}).FormatResponse()
	require.Equal(t, -22, r.Retval, "v30: no errno falls back to -EINVAL instead of crashing")

	wrapped := fmt.Errorf("context: %w", NewErrorResponseCode("inner", -5))
	require.Equal(t, Result{Retval: -5, Stderr: "context: inner"}, ResultOf(wrapped), "context is kept, the code too")
	require.Equal(t, Result{Retval: -7, Stderr: "x"}, WrapCode(errors.New("x"), -7).FormatResponse())
	require.Nil(t, Wrap(nil))
	require.Equal(t, Result{}, ResultOf(nil))
	require.Equal(t, "EINVAL", ErrnoName(-22))
	require.Equal(t, "ENOTSUP", ErrnoName(95), "as Python's errno.errorcode names it")
	require.Equal(t, "Unknown", ErrnoName(4242))
	require.Equal(t, -int(syscall.EACCES), ErrnoOf(fmt.Errorf("x: %w", syscall.EACCES)))
}

type coolErr struct {
	msg  string
	code int
}

func (c coolErr) Error() string  { return c.msg }
func (c coolErr) ErrorCode() int { return c.code }

func TestHandlers(t *testing.T) {
	h := ErrorResponseHandler(func(context.Context, *Request) (Result, error) {
		return Result{Retval: 3, Stdout: []byte("o"), Stderr: "e"}, nil
	})
	require.Equal(t, Result{Retval: 3, Stdout: []byte("o"), Stderr: "e"}, serve(h, ""))
	h = ErrorResponseHandler(func(context.Context, *Request) (Result, error) {
		return Result{Stdout: []byte("ignored")}, NewErrorResponse("bad")
	})
	require.Equal(t, Failed(-22, "bad"), serve(h, ""))
	h = EmptyResponder(func(context.Context, *Request) error { return nil })
	require.Equal(t, Result{}, serve(h, ""))
	h = Recover(HandlerFunc(func(context.Context, *Request) Result { panic(fmt.Sprintf("boom %d", 1)) }))
	res := serve(h, "")
	require.Equal(t, -22, res.Retval)
	require.Contains(t, res.Stderr, `command "t" panicked: boom 1`)
	require.Contains(t, res.Stderr, "responder_test.go", "the stack is in stderr")
	require.Nil(t, Result{}.Err())
	require.EqualError(t, Failed(-5, "io").Err(), "io")
}

// TestEmptyResponderReturnsNothing is vector 22: Python's EmptyResponder
// raises ValueError when the handler returns a value; in Go the handler's
// type allows only an error, so the mistake cannot compile.
func TestEmptyResponderReturnsNothing(t *testing.T) {
	ft := reflect.TypeOf(EmptyResponder).In(0)
	require.Equal(t, 1, ft.NumOut())
	require.Equal(t, reflect.TypeFor[error](), ft.Out(0))
}

type report struct {
	Pools int `json:"pools"`
}

func (r report) ToPlain() string { return fmt.Sprintf("%d pools", r.Pools) }

// TestPlainDataProvider: a result type with ToPlain makes "plain" a
// supported format, checked before the handler runs.
func TestPlainDataProvider(t *testing.T) {
	h := Responder(func(context.Context, *Request) (report, error) { return report{Pools: 3}, nil })
	require.Equal(t, OK("3 pools").String(), serve(h, Plain).String())
	require.Equal(t, OK("{\n  \"pools\": 3\n}").String(), serve(h, JSON).String())
	require.Equal(t, "Unsupported format: xml", serve(h, XML).Stderr)
	other := Responder(func(context.Context, *Request) (map[string]int, error) { return nil, nil })
	require.Equal(t, "Unsupported format: plain", serve(other, Plain).Stderr)
}
