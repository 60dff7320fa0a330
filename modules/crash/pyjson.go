package crash

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// meta is one crash's metadata: a JSON object whose top-level keys keep
// the order they were posted in, as a Python dict does, so the stored
// value reads like Python's json.dumps(metadata).
type meta struct {
	keys []string
	vals map[string]any
}

func newMeta() *meta { return &meta{vals: map[string]any{}} }

func (m *meta) get(k string) (any, bool) {
	v, ok := m.vals[k]
	return v, ok
}

// set adds or replaces a key; a new key goes last.
func (m *meta) set(k string, v any) {
	if _, ok := m.vals[k]; !ok {
		m.keys = append(m.keys, k)
	}
	m.vals[k] = v
}

// str is crash.get(k, def) as Python's str() shows it.
func (m *meta) str(k, def string) string {
	v, ok := m.vals[k]
	if !ok {
		return def
	}
	return pyStr(v)
}

// encode is Python's json.dumps(metadata): one line, keys in order
// (nested objects, which crash reports rarely hold, sorted).
func (m *meta) encode() (string, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range m.keys {
		if i > 0 {
			b.WriteString(", ")
		}
		kb, err := objectformat.EncodeJSON(k, -1)
		if err != nil {
			return "", err
		}
		vb, err := objectformat.EncodeJSON(m.vals[k], -1)
		if err != nil {
			return "", fmt.Errorf("field %s: %w", k, err)
		}
		b.Write(kb)
		b.WriteString(": ")
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.String(), nil
}

// pyError is an error whose text is Python's (capitalized as json.loads
// writes it).
type pyError string

func (e pyError) Error() string { return string(e) }

// decodeJSON reads one JSON document (numbers as json.Number); an object
// at the top comes back as a *meta, anything else as itself.
func decodeJSON(data []byte) (any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, pyError("Expecting value: line 1 column 1 (char 0)")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("{")) {
		m, err := decodeObject(dec)
		if err != nil {
			return nil, err
		}
		v = m
	} else if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, pyError("Extra data after the JSON value")
	}
	return v, nil
}

func decodeObject(dec *json.Decoder) (*meta, error) {
	if _, err := dec.Token(); err != nil { // '{'
		return nil, err
	}
	m := newMeta()
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, ok := t.(string)
		if !ok {
			return nil, fmt.Errorf("invalid object key %v", t)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		m.set(k, v)
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, err
	}
	return m, nil
}

// pyTypeName is the name of the Python type json.loads makes of v.
func pyTypeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case json.Number:
		if strings.ContainsAny(string(x), ".eE") {
			return "float"
		}
		return "int"
	case string:
		return "str"
	case []any:
		return "list"
	}
	return "dict"
}

// pyStr is Python's str() of a decoded JSON value.
func pyStr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return x
	case json.Number:
		if pyTypeName(x) == "float" {
			if f, err := x.Float64(); err == nil {
				return objectformat.PyFloatRepr(f)
			}
		}
		return string(x)
	}
	b, err := objectformat.EncodeJSON(v, -1)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// pyTruthy is Python's bool() of a decoded JSON value.
func pyTruthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case json.Number:
		f, err := x.Float64()
		return err != nil || f != 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}
