package evalsandbox

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.starlark.net/starlark"
)

// The wire protocol between the parent and a worker: frames of a 4-byte
// big-endian length and a JSON message, over one unix socket.

// Frame size limits, per direction. The parent reads at most
// maxChildFrame bytes per frame from a worker (it never trusts one); a
// worker reads at most maxParentFrame bytes (cluster data can be big).
const (
	maxChildFrame  = 8 << 20
	maxParentFrame = 64 << 20
)

// MaxDepth is how deeply lists, tuples and dicts may nest in a value passed
// between the sandbox and the daemon.
const MaxDepth = 64

// errFrameTooLarge reports a frame header over the limit.
var errFrameTooLarge = errors.New("frame too large")

// writeFrame writes one message.
func writeFrame(w io.Writer, m *message, limit int) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s message: %w", m.Op, err)
	}
	if len(body) > limit {
		return fmt.Errorf("%s message of %d bytes: %w (limit %d)", m.Op, len(body), errFrameTooLarge, limit)
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(body)))
	if len(body) < 64<<10 { // one write, so the reader wakes once
		_, err = w.Write(append(hdr[:], body...))
		return err
	}
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err = w.Write(body)
	return err
}

// readFrame reads one message of at most limit bytes. The body is read as
// it arrives, so a peer that announces a large frame and sends nothing
// costs nothing.
func readFrame(r io.Reader, limit int) (*message, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if uint64(n) > uint64(limit) {
		return nil, fmt.Errorf("%w: %d bytes (limit %d)", errFrameTooLarge, n, limit)
	}
	var body bytes.Buffer
	if _, err := io.CopyN(&body, r, int64(n)); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("read a %d-byte frame: %w", n, err)
	}
	return decodeMessage(body.Bytes())
}

// decodeMessage parses a frame's body.
func decodeMessage(body []byte) (*message, error) {
	var m message
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("bad message: %w", err)
	}
	if dec.More() {
		return nil, errors.New("bad message: trailing data")
	}
	if m.Op == "" {
		return nil, errors.New("bad message: no op")
	}
	return &m, nil
}

// Message ops. Parent to worker: opInit (first), opEval, opComplete,
// opCancel, opReply. Worker to parent: opReady (answers opInit), opCall,
// opAttr, opResult (answers opEval and opComplete).
const (
	opInit     = "init"
	opReady    = "ready"
	opEval     = "eval"
	opComplete = "complete"
	opCancel   = "cancel"
	opCall     = "call"
	opAttr     = "attr"
	opReply    = "reply"
	opResult   = "result"
)

// message is every message of the protocol; each op uses some fields.
// Texts that may hold any bytes (source, output, errors) are []byte, so
// they travel exactly.
type message struct {
	Op string `json:"op"`
	// ID ties a reply to its request (eval, complete, call, attr).
	ID uint64 `json:"id,omitempty"`

	// init
	Name      string       `json:"name,omitempty"`
	Recursion bool         `json:"recursion,omitempty"`
	Globals   []globalSpec `json:"globals,omitempty"`

	// init, eval, complete
	Limits *wireLimits `json:"limits,omitempty"`

	// eval (source), complete (text)
	Src []byte `json:"src,omitempty"`

	// cancel
	Reason string `json:"reason,omitempty"`

	// call, attr: the global and its attribute ("" calls the global)
	Obj    string   `json:"obj,omitempty"`
	Attr   string   `json:"attr,omitempty"`
	Args   []wval   `json:"args,omitempty"`
	KwKeys []string `json:"kwkeys,omitempty"`
	KwVals []wval   `json:"kwvals,omitempty"`

	// reply
	Value *wval  `json:"value,omitempty"`
	Err   []byte `json:"err,omitempty"`
	// Object, in a reply, describes a result that stays in the parent (an
	// object with attributes): the worker makes a proxy of it.
	Object *globalSpec `json:"object,omitempty"`

	// result
	Incomplete bool     `json:"incomplete,omitempty"`
	Stdout     []byte   `json:"stdout,omitempty"`
	Stderr     []byte   `json:"stderr,omitempty"`
	Candidates [][]byte `json:"candidates,omitempty"`
}

// wireLimits are the limits a worker applies itself.
type wireLimits struct {
	TimeoutMS int64 `json:"timeout_ms"`
	// CPUMarginMS is the CPU time past TimeoutMS at which the worker ends
	// itself (RLIMIT_CPU).
	CPUMarginMS int64  `json:"cpu_margin_ms"`
	MaxSteps    uint64 `json:"max_steps"`
	MaxOutput   int    `json:"max_output"`
	MaxMemory   int64  `json:"max_memory"`
}

// Global kinds.
const (
	globalValue  = "value"  // a plain value, copied into the worker
	globalObject = "object" // an object whose attributes live in the parent
	globalFunc   = "func"   // a callable that runs in the parent
)

// globalSpec describes one predeclared global to the worker.
type globalSpec struct {
	Name    string   `json:"name"`
	Kind    string   `json:"kind"`
	Value   *wval    `json:"value,omitempty"`
	Type    string   `json:"type,omitempty"`
	Str     string   `json:"str,omitempty"`
	Methods []string `json:"methods,omitempty"`
	Attrs   []string `json:"attrs,omitempty"`
}

// Value kinds on the wire.
const (
	kindNone  = "none"
	kindBool  = "bool"
	kindInt   = "int"
	kindFloat = "float"
	kindStr   = "str"
	kindBytes = "bytes"
	kindList  = "list"
	kindTuple = "tuple"
	kindDict  = "dict"
)

// wval is a Starlark value on the wire.
type wval struct {
	K string `json:"k"`
	B bool   `json:"b,omitempty"`
	// T is an int (decimal within int64, else [-]0x hex: linear to parse),
	// a float (strconv 'g' form, also NaN and ±Inf) or a valid UTF-8 str.
	T string `json:"t,omitempty"`
	// R is bytes, or a str that is not valid UTF-8.
	R []byte `json:"r,omitempty"`
	// E holds list and tuple elements; a dict's keys and values alternate.
	E []wval `json:"e,omitempty"`
}

// encoder converts Starlark values to wire values within a size budget
// (an estimate of the encoded bytes), so a huge value fails before it is
// marshalled.
type encoder struct {
	left int
}

// errValueTooLarge is returned when a value does not fit the budget.
var errValueTooLarge = errors.New("value too large to pass")

func (e *encoder) spend(n int) error {
	e.left -= n
	if e.left < 0 {
		return errValueTooLarge
	}
	return nil
}

// encode converts v, which may be None, a bool, int, float, string, bytes,
// list (or another indexable such as a range), tuple or dict.
func (e *encoder) encode(v starlark.Value, depth int) (wval, error) {
	if depth > MaxDepth {
		return wval{}, fmt.Errorf("value nested more than %d levels deep (does a list or dict contain itself?)", MaxDepth)
	}
	if err := e.spend(16); err != nil {
		return wval{}, err
	}
	switch x := v.(type) {
	case starlark.NoneType:
		return wval{K: kindNone}, nil
	case starlark.Bool:
		return wval{K: kindBool, B: bool(x)}, nil
	case starlark.Int:
		t := intText(x)
		return wval{K: kindInt, T: t}, e.spend(len(t))
	case starlark.Float:
		return wval{K: kindFloat, T: strconv.FormatFloat(float64(x), 'g', -1, 64)}, nil
	case starlark.String:
		if err := e.spend(2 * len(x)); err != nil { // JSON escapes, base64
			return wval{}, err
		}
		if utf8.ValidString(string(x)) {
			return wval{K: kindStr, T: string(x)}, nil
		}
		return wval{K: kindStr, R: []byte(x)}, nil
	case starlark.Bytes:
		return wval{K: kindBytes, R: []byte(x)}, e.spend(2 * len(x))
	case *starlark.Dict:
		out := wval{K: kindDict, E: make([]wval, 0, 2*x.Len())}
		for _, kv := range x.Items() {
			for _, y := range kv {
				w, err := e.encode(y, depth+1)
				if err != nil {
					return wval{}, err
				}
				out.E = append(out.E, w)
			}
		}
		return out, nil
	case starlark.Tuple:
		return e.elems(kindTuple, x, depth)
	case starlark.Indexable: // list, range
		return e.elems(kindList, x, depth)
	}
	return wval{}, fmt.Errorf("cannot pass a %s value (only None, bool, int, float, string, bytes, list, tuple and dict)", v.Type())
}

func (e *encoder) elems(kind string, x starlark.Indexable, depth int) (wval, error) {
	if err := e.spend(x.Len()); err != nil {
		return wval{}, err
	}
	out := wval{K: kind, E: make([]wval, x.Len())}
	for i := range out.E {
		w, err := e.encode(x.Index(i), depth+1)
		if err != nil {
			return wval{}, err
		}
		out.E[i] = w
	}
	return out, nil
}

// intText renders an int for the wire: decimal in the int64 range, hex
// beyond it.
func intText(x starlark.Int) string {
	if i, ok := x.Int64(); ok {
		return strconv.FormatInt(i, 10)
	}
	b := x.BigInt()
	if b.Sign() < 0 {
		return "-0x" + new(big.Int).Neg(b).Text(16)
	}
	return "0x" + b.Text(16)
}

// decode converts a wire value to a new Starlark value.
func decode(w *wval, depth int) (starlark.Value, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("value nested more than %d levels deep", MaxDepth)
	}
	switch w.K {
	case kindNone:
		return starlark.None, nil
	case kindBool:
		return starlark.Bool(w.B), nil
	case kindInt:
		return decodeInt(w.T)
	case kindFloat:
		f, err := strconv.ParseFloat(w.T, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, fmt.Errorf("bad float %q", w.T)
		}
		return starlark.Float(f), nil
	case kindStr:
		if w.R != nil {
			return starlark.String(w.R), nil
		}
		return starlark.String(w.T), nil
	case kindBytes:
		return starlark.Bytes(w.R), nil
	case kindList, kindTuple:
		elems := make([]starlark.Value, len(w.E))
		for i := range w.E {
			v, err := decode(&w.E[i], depth+1)
			if err != nil {
				return nil, err
			}
			elems[i] = v
		}
		if w.K == kindTuple {
			return starlark.Tuple(elems), nil
		}
		return starlark.NewList(elems), nil
	case kindDict:
		if len(w.E)%2 != 0 {
			return nil, errors.New("dict with an odd number of keys and values")
		}
		d := starlark.NewDict(len(w.E) / 2)
		for i := 0; i < len(w.E); i += 2 {
			k, err := decode(&w.E[i], depth+1)
			if err != nil {
				return nil, err
			}
			v, err := decode(&w.E[i+1], depth+1)
			if err != nil {
				return nil, err
			}
			if err := d.SetKey(k, v); err != nil {
				return nil, err
			}
		}
		return d, nil
	}
	return nil, fmt.Errorf("unknown value kind %q", w.K)
}

// decodeInt parses an int as intText writes it: decimal only within int64
// (so parsing stays linear), hex beyond.
func decodeInt(t string) (starlark.Value, error) {
	neg := strings.HasPrefix(t, "-")
	digits := strings.TrimPrefix(t, "-")
	if hex, ok := strings.CutPrefix(digits, "0x"); ok {
		b, ok := new(big.Int).SetString(hex, 16)
		if !ok || hex == "" || hex[0] == '+' || hex[0] == '-' {
			return nil, fmt.Errorf("bad int %q", truncate(t))
		}
		if neg {
			b.Neg(b)
		}
		return starlark.MakeBigInt(b), nil
	}
	i, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("bad int %q", truncate(t))
	}
	return starlark.MakeInt64(i), nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// encodeArgs encodes a call's arguments within budget bytes.
func encodeArgs(args starlark.Tuple, kwargs []starlark.Tuple, budget int) (pos []wval, keys []string, vals []wval, err error) {
	e := &encoder{left: budget}
	for _, a := range args {
		w, err := e.encode(a, 0)
		if err != nil {
			return nil, nil, nil, err
		}
		pos = append(pos, w)
	}
	for _, kv := range kwargs {
		k, _ := starlark.AsString(kv[0])
		w, err := e.encode(kv[1], 0)
		if err != nil {
			return nil, nil, nil, err
		}
		keys = append(keys, k)
		vals = append(vals, w)
	}
	return pos, keys, vals, nil
}

// decodeArgs is encodeArgs' inverse.
func decodeArgs(m *message) (starlark.Tuple, []starlark.Tuple, error) {
	if len(m.KwKeys) != len(m.KwVals) {
		return nil, nil, errors.New("keyword names and values do not match")
	}
	args := make(starlark.Tuple, len(m.Args))
	for i := range m.Args {
		v, err := decode(&m.Args[i], 0)
		if err != nil {
			return nil, nil, err
		}
		args[i] = v
	}
	var kwargs []starlark.Tuple
	for i, k := range m.KwKeys {
		v, err := decode(&m.KwVals[i], 0)
		if err != nil {
			return nil, nil, err
		}
		kwargs = append(kwargs, starlark.Tuple{starlark.String(k), v})
	}
	return args, kwargs, nil
}

// cpuMargin is how much CPU time past its time limit a run may use before
// the worker's RLIMIT_CPU ends it: the parent cancels or kills it long
// before, unless the parent cannot act.
const cpuMargin = 2 * time.Second

// toWireLimits converts limits for the worker.
func toWireLimits(l Limits) *wireLimits {
	ms := l.Timeout.Milliseconds()
	if ms <= 0 {
		ms = 1
	}
	return &wireLimits{TimeoutMS: ms, CPUMarginMS: cpuMargin.Milliseconds(), MaxSteps: l.MaxSteps, MaxOutput: l.MaxOutput, MaxMemory: l.MaxMemory}
}
