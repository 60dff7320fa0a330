package objectformat

import (
	"context"
	"reflect"
)

// Simplifier is implemented by values that present themselves to the
// formatter as simpler data (Python's to_simplified protocol). Simplify
// calls it before encoding.
type Simplifier interface {
	ToSimplified() any
}

// JSONDataProvider supplies the data to print as JSON; it is used only by
// an ObjectFormatter with Compatible set (Python's to_json protocol).
type JSONDataProvider interface {
	ToJSON() any
}

// YAMLDataProvider supplies the data to print as YAML; it is used only by
// an ObjectFormatter with Compatible set (Python's to_yaml protocol).
type YAMLDataProvider interface {
	ToYAML() any
}

// PlainDataProvider is implemented by values with a plain-text form. A
// Responder whose result type implements it accepts the format "plain" and
// prints ToPlain(); Go knows the result type before the handler runs, so
// the format check stays ahead of the handler, as in Python.
type PlainDataProvider interface {
	ToPlain() string
}

// ReturnValuer lets a returned value choose the command's retval (Python's
// mgr_return_value protocol).
type ReturnValuer interface {
	MgrReturnValue() int
}

// StatusValuer lets a returned value choose the status text placed in
// stderr (Python's mgr_status_value protocol).
type StatusValuer interface {
	MgrStatusValue() string
}

// Formatter renders handler results. Supports is asked before the handler
// runs, so a format the formatter cannot produce is refused without side
// effects.
type Formatter interface {
	Supports(f Format) bool
	Format(v any, f Format) ([]byte, error)
}

// ObjectFormatter is the default Formatter (Python's ObjectFormatAdapter):
// JSON and json-pretty as json.dumps(v, indent=2, sort_keys=True), YAML as
// yaml.safe_dump(v). Embed it in your own type to add formats such as plain
// or xml, or to change one.
type ObjectFormatter struct {
	// Compatible makes JSONDataProvider and YAMLDataProvider values
	// supply their own data for the matching format.
	Compatible bool
	// OneLineJSON prints JSON on one line (Python's indent=None).
	OneLineJSON bool
}

// Supports reports true for json, json-pretty and yaml.
func (o ObjectFormatter) Supports(f Format) bool {
	return f == JSON || f == JSONPretty || f == YAML
}

// Format renders v as JSON or YAML.
func (o ObjectFormatter) Format(v any, f Format) ([]byte, error) {
	switch f {
	case JSON, JSONPretty:
		if p, ok := v.(JSONDataProvider); ok && o.Compatible {
			v = p.ToJSON()
		}
		indent := 2
		if o.OneLineJSON {
			indent = -1
		}
		return EncodeJSON(v, indent)
	case YAML:
		if p, ok := v.(YAMLDataProvider); ok && o.Compatible {
			v = p.ToYAML()
		} else if p, ok := v.(JSONDataProvider); ok && o.Compatible {
			v = p.ToJSON()
		}
		return EncodeYAML(v)
	}
	return nil, &UnsupportedFormatError{Name: string(f)}
}

// ResponderOption configures Responder.
type ResponderOption func(*responderConfig)

type responderConfig struct {
	formatter Formatter
	def       Format
}

// WithFormatter replaces the default ObjectFormatter.
func WithFormatter(f Formatter) ResponderOption {
	return func(c *responderConfig) { c.formatter = f }
}

// WithDefaultFormat sets the format used when the request names none
// (json unless changed).
func WithDefaultFormat(f Format) ResponderOption {
	return func(c *responderConfig) { c.def = f }
}

// CheckFormat resolves the requested format name against a formatter the
// way Responder does: "" selects def, a non-Ceph name is an
// *UnknownFormatError, a name the formatter cannot render an
// *UnsupportedFormatError.
func CheckFormat(name Format, def Format, fm Formatter) (Format, error) {
	if name == "" {
		name = def
	}
	f, err := ParseFormat(string(name))
	if err != nil {
		return "", err
	}
	if !fm.Supports(f) {
		return "", &UnsupportedFormatError{Name: string(f)}
	}
	return f, nil
}

// Responder builds a Handler from a function that returns a value: the value
// is rendered in the requested format (json by default), a ReturnValuer or
// StatusValuer value sets retval and status, and an error is converted with
// ResultOf. The requested format is checked before fn runs.
//
// Commands built with Responder accept an optional, non-positional "format"
// argument; package clicommand declares it.
func Responder[T any](fn func(ctx context.Context, req *Request) (T, error), opts ...ResponderOption) Handler {
	cfg := responderConfig{formatter: ObjectFormatter{}, def: DefaultFormat}
	for _, o := range opts {
		o(&cfg)
	}
	if reflect.TypeFor[T]().Implements(plainProviderType) {
		cfg.formatter = plainProvider{cfg.formatter}
	}
	return HandlerFunc(func(ctx context.Context, req *Request) Result {
		f, err := CheckFormat(req.Format, cfg.def, cfg.formatter)
		if err != nil {
			return ResultOf(err)
		}
		v, err := fn(ctx, req)
		if err != nil {
			return ResultOf(err)
		}
		return Render(v, f, cfg.formatter)
	})
}

// Render formats v with fm in f and applies the ReturnValuer and
// StatusValuer protocols. A formatting error becomes a -EINVAL Result.
func Render(v any, f Format, fm Formatter) Result {
	body, err := fm.Format(v, f)
	if err != nil {
		return ResultOf(err)
	}
	res := Result{Stdout: body}
	if rv, ok := v.(ReturnValuer); ok {
		res.Retval = rv.MgrReturnValue()
	}
	if sv, ok := v.(StatusValuer); ok {
		res.Stderr = sv.MgrStatusValue()
	}
	return res
}

// TextFormatter is an ObjectFormatter that can also print plain text, for
// commands with a human-readable form.
type TextFormatter struct {
	ObjectFormatter
	// Plain renders v as text.
	Plain func(v any) (string, error)
}

// Supports reports true for plain and the ObjectFormatter formats.
func (t TextFormatter) Supports(f Format) bool {
	return (f == Plain && t.Plain != nil) || t.ObjectFormatter.Supports(f)
}

// Format renders v.
func (t TextFormatter) Format(v any, f Format) ([]byte, error) {
	if f == Plain && t.Plain != nil {
		s, err := t.Plain(v)
		return []byte(s), err
	}
	return t.ObjectFormatter.Format(v, f)
}

// WithPlain adds a plain-text rendering and makes it the default format,
// the way Ceph's own commands print text unless -f asks for data.
func WithPlain[T any](fn func(v T) string) ResponderOption {
	return func(c *responderConfig) {
		c.formatter = TextFormatter{Plain: func(v any) (string, error) {
			t, ok := v.(T)
			if !ok {
				return "", Errorf(-22, "plain formatter for %T got %T", *new(T), v)
			}
			return fn(t), nil
		}}
		c.def = Plain
	}
}

var plainProviderType = reflect.TypeFor[PlainDataProvider]()

// plainProvider adds "plain" to a formatter for PlainDataProvider results.
type plainProvider struct{ Formatter }

func (p plainProvider) Supports(f Format) bool { return f == Plain || p.Formatter.Supports(f) }

func (p plainProvider) Format(v any, f Format) ([]byte, error) {
	if pp, ok := v.(PlainDataProvider); ok && f == Plain {
		return []byte(pp.ToPlain()), nil
	}
	return p.Formatter.Format(v, f)
}
