package objectformat

// A YAML encoder that reproduces PyYAML 6's yaml.safe_dump(data) (default
// options: block style, sort_keys, width 80, indent 2, allow_unicode=False)
// byte for byte.
//
// Why this is a port of PyYAML's emitter and not go.yaml.in/yaml/v3:
// the library was evaluated first (a *yaml.Node tree with explicit styles,
// SetIndent(2) and CompactSeqIndent reproduce PyYAML's block layout,
// including "- - 1", "- a: 1" and complex "? key" entries), but it cannot
// produce PyYAML's bytes for the scalars themselves and is too slow for large
// results:
//   - its line width is fixed at "infinite" (no setter), so long plain,
//     single- and double-quoted scalars are never folded at column 80;
//   - unicode output is forced on, so non-ASCII is written raw instead of
//     as "\xE9" / "\u20AC" / "\U0001F600" escapes;
//   - multi-line single-quoted scalars differ (PyYAML indents the closing
//     quote after a trailing newline), simple-key limits differ (PyYAML
//     counts the "!!str" tag: keys of 123+ characters, empty keys and
//     multi-line keys become "? key"), and there is no "..." document end;
//   - its emitter keeps every event of the document queued (events_head is
//     never compacted): encoding a 1,000,000-element list of three-key maps
//     from a prebuilt *yaml.Node tree took 33 s and 8.7 GB of RSS on the
//     project machine, versus about 0.7 s and 250 MB here.
// Working around all of that would have meant placeholder scalars plus a
// re-implementation of PyYAML's scalar writers anyway, so the emitter below
// ports PyYAML's emitter.py directly, restricted to the events safe_dump
// produces for our tree (no anchors/aliases, no flow collections other than
// the empty "{}" / "[]"). go.yaml.in/yaml/v3 is used by the tests to check
// that every output decodes back to the input.
//
// Deliberate, documented differences from PyYAML:
//   - PyYAML emits anchors/aliases (&id001 / *id001) when the same Python
//     list/dict object occurs twice; Go values are always written out in
//     full (Go has no equivalent object identity for the tree).
//   - Invalid UTF-8 in Go strings (impossible in a Python str) is treated as
//     U+FFFD per invalid byte, so it prints as "\uFFFD".
//   - Keys are sorted by their Go string bytes, which is Python's code point
//     order for valid UTF-8.
//   - A Go map mixing integer and string keys (map[any]T) is an error:
//     PyYAML would keep the dict's insertion order, which a Go map lacks
//     (and json.dumps(sort_keys=True) raises TypeError for it anyway).

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	yamlBestWidth  = 80
	yamlBestIndent = 2
)

// EncodeYAML writes v like PyYAML's yaml.safe_dump(v). Like EncodeJSON it
// encodes common generic types and eligible structs directly and calls
// Simplify's conversion for anything else; Go maps with integer keys print
// plain integer keys in numeric order, as a Python dict with int keys does.
// The output always ends with a newline; a plain scalar at the top level is
// followed by "...".
func EncodeYAML(v any) (out []byte, err error) {
	defer recoverAsError(&err)
	e := pyYAMLEmitter{
		whitespace: true,
		indention:  true,
		indent:     -1,
		simp:       simplifier{keepIntKeys: true},
	}
	e.buf = make([]byte, 0, 512)
	// Stream start and the implicit document start write nothing.
	if err := e.node(v, yamlCtxRoot, 0); err != nil {
		return nil, err
	}
	// expect_document_end (implicit end).
	e.writeIndent()
	// expect_document_start at StreamEnd: a root plain scalar is open ended.
	if e.openEnded {
		e.writeIndicator("...", true, false, false)
		e.writeIndent()
	}
	return e.buf, nil
}

// Node contexts (PyYAML's root_context, mapping_context, simple_key_context).
const (
	yamlCtxRoot = 1 << iota
	yamlCtxMapping
	yamlCtxSimpleKey
)

// pyYAMLEmitter mirrors the writer state of PyYAML's Emitter.
type pyYAMLEmitter struct {
	buf        []byte
	column     int
	whitespace bool
	indention  bool
	indent     int // -1 is Python's None
	openEnded  bool
	simp       simplifier
	keys       keyScratch
	runes      []rune // scratch for double-quoted scalars
}

// ---- low-level writers (write_indicator, write_indent, write_line_break) ----

func (e *pyYAMLEmitter) writeIndicator(ind string, needWhitespace, whitespace, indention bool) {
	if !e.whitespace && needWhitespace {
		e.buf = append(e.buf, ' ')
		e.column++
	}
	e.buf = append(e.buf, ind...)
	e.column += len(ind)
	e.whitespace = whitespace
	e.indention = e.indention && indention
	e.openEnded = false
}

func (e *pyYAMLEmitter) writeIndent() {
	indent := max(e.indent, 0)
	if !e.indention || e.column > indent || (e.column == indent && !e.whitespace) {
		e.writeLineBreak()
	}
	if e.column < indent {
		e.whitespace = true
		for ; e.column < indent; e.column++ {
			e.buf = append(e.buf, ' ')
		}
	}
}

func (e *pyYAMLEmitter) writeLineBreak() {
	e.buf = append(e.buf, '\n')
	e.whitespace = true
	e.indention = true
	e.column = 0
}

// write appends ASCII scalar text (all scalar text reaching the writers is
// ASCII because non-ASCII is escaped) without touching the flags.
func (e *pyYAMLEmitter) write(s string) {
	e.buf = append(e.buf, s...)
	e.column += len(s)
}

// ---- structure ----

// increaseIndent is PyYAML's increase_indent; it returns the saved indent.
func (e *pyYAMLEmitter) increaseIndent(flow, indentless bool) int {
	saved := e.indent
	if e.indent < 0 {
		if flow {
			e.indent = yamlBestIndent
		} else {
			e.indent = 0
		}
	} else if !indentless {
		e.indent += yamlBestIndent
	}
	return saved
}

func (e *pyYAMLEmitter) emptyFlow(open, close string) {
	e.writeIndicator(open, true, true, false)
	e.writeIndicator(close, false, false, false)
}

// beginSeq is expect_block_sequence; the caller writes the items with
// seqItem and restores the returned indent.
func (e *pyYAMLEmitter) beginSeq(ctx int) int {
	indentless := ctx&yamlCtxMapping != 0 && !e.indention
	return e.increaseIndent(false, indentless)
}

func (e *pyYAMLEmitter) seqItem() {
	e.writeIndent()
	e.writeIndicator("-", true, false, true)
}

// mapKey writes a string key and the ':' indicator (expect_block_mapping_key
// and the simple/complex value handlers).
func (e *pyYAMLEmitter) mapKey(k string) {
	if !utf8.ValidString(k) {
		k = sanitizeUTF8(k)
	}
	a := analyzeYAMLScalar(k)
	e.mapKeyAnalyzed(k, &a)
}

// mapKeyAnalyzed is mapKey for a valid UTF-8 key k analyzed as a.
func (e *pyYAMLEmitter) mapKeyAnalyzed(k string, a *yamlScalarAnalysis) {
	e.writeIndent()
	// check_simple_key: the "!!str" tag (5 characters) counts too.
	if !a.empty && !a.multiline && a.length+5 < 128 {
		e.strScalarAnalyzed(k, a, yamlCtxMapping|yamlCtxSimpleKey)
		e.writeIndicator(":", false, false, false)
		return
	}
	e.writeIndicator("?", true, false, true)
	e.strScalarAnalyzed(k, a, yamlCtxMapping)
	e.writeIndent()
	e.writeIndicator(":", true, false, true)
}

func (e *pyYAMLEmitter) intMapKey(k intKey) {
	e.writeIndent()
	saved := e.increaseIndent(true, false)
	var tmp [24]byte
	e.writePlain(string(k.appendTo(tmp[:0])), false, false)
	e.indent = saved
	e.writeIndicator(":", false, false, false)
}

func (e *pyYAMLEmitter) node(v any, ctx, depth int) error {
	if depth > simplifyMaxDepth {
		return errNestedTooDeep
	}
	switch x := v.(type) {
	case nil:
		e.plainScalar("null", ctx)
	case string:
		e.strScalar(x, ctx)
	case bool:
		if x {
			e.plainScalar("true", ctx)
		} else {
			e.plainScalar("false", ctx)
		}
	case int:
		e.intScalar(int64(x), ctx)
	case int64:
		e.intScalar(x, ctx)
	case int32:
		e.intScalar(int64(x), ctx)
	case uint64:
		var tmp [24]byte
		e.plainScalar(string(strconv.AppendUint(tmp[:0], x, 10)), ctx)
	case uint:
		var tmp [24]byte
		e.plainScalar(string(strconv.AppendUint(tmp[:0], uint64(x), 10)), ctx)
	case float64:
		e.floatScalar(x, ctx)
	case float32:
		e.floatScalar(widenFloat32(x), ctx)
	case json.Number:
		n, err := numberValue(x)
		if err != nil {
			return err
		}
		if big, ok := n.(json.Number); ok {
			e.plainScalar(string(big), ctx)
			return nil
		}
		return e.node(n, ctx, depth)
	case []byte:
		if x == nil {
			e.plainScalar("null", ctx)
			return nil
		}
		e.binaryScalar(x)
	case map[string]any:
		if x == nil {
			e.plainScalar("null", ctx)
			return nil
		}
		if len(x) == 0 {
			e.emptyFlow("{", "}")
			return nil
		}
		saved := e.increaseIndent(false, false)
		keys := sortedKeys(&e.keys, depth, x)
		for _, k := range keys {
			e.mapKey(k)
			if err := e.node(x[k], yamlCtxMapping, depth+1); err != nil {
				return err
			}
		}
		e.keys.put(depth, keys)
		e.indent = saved
	case []any:
		if x == nil {
			e.plainScalar("null", ctx)
			return nil
		}
		if len(x) == 0 {
			e.emptyFlow("[", "]")
			return nil
		}
		saved := e.beginSeq(ctx)
		for _, el := range x {
			e.seqItem()
			if err := e.node(el, 0, depth+1); err != nil {
				return err
			}
		}
		e.indent = saved
	case []map[string]any:
		if x == nil {
			e.plainScalar("null", ctx)
			return nil
		}
		if len(x) == 0 {
			e.emptyFlow("[", "]")
			return nil
		}
		saved := e.beginSeq(ctx)
		for _, el := range x {
			e.seqItem()
			if err := e.node(el, 0, depth+1); err != nil {
				return err
			}
		}
		e.indent = saved
	case []string:
		if x == nil {
			e.plainScalar("null", ctx)
			return nil
		}
		if len(x) == 0 {
			e.emptyFlow("[", "]")
			return nil
		}
		saved := e.beginSeq(ctx)
		for _, el := range x {
			e.seqItem()
			e.strScalar(el, 0)
		}
		e.indent = saved
	case []int:
		if x == nil {
			e.plainScalar("null", ctx)
			return nil
		}
		if len(x) == 0 {
			e.emptyFlow("[", "]")
			return nil
		}
		saved := e.beginSeq(ctx)
		for _, el := range x {
			e.seqItem()
			e.intScalar(int64(el), 0)
		}
		e.indent = saved
	case map[string]string:
		if x == nil {
			e.plainScalar("null", ctx)
			return nil
		}
		if len(x) == 0 {
			e.emptyFlow("{", "}")
			return nil
		}
		saved := e.increaseIndent(false, false)
		keys := sortedKeys(&e.keys, depth, x)
		for _, k := range keys {
			e.mapKey(k)
			e.strScalar(x[k], yamlCtxMapping)
		}
		e.keys.put(depth, keys)
		e.indent = saved
	case intKeyMap:
		if len(x.keys) == 0 {
			e.emptyFlow("{", "}")
			return nil
		}
		saved := e.increaseIndent(false, false)
		for i, k := range x.keys {
			e.intMapKey(k)
			if err := e.node(x.vals[i], yamlCtxMapping, depth+1); err != nil {
				return err
			}
		}
		e.indent = saved
	default:
		if e.encodeFast(v, ctx, depth) {
			return nil
		}
		t, err := e.simp.value(v, depth)
		if err != nil {
			return err
		}
		return e.node(t, ctx, depth)
	}
	return nil
}

// ---- scalars ----

// plainScalar writes an implicitly typed scalar (null, bool, int, float):
// their text always allows the plain style and never contains spaces.
func (e *pyYAMLEmitter) plainScalar(text string, ctx int) {
	saved := e.increaseIndent(true, false)
	e.writePlain(text, ctx&yamlCtxSimpleKey == 0, ctx&yamlCtxRoot != 0)
	e.indent = saved
}

func (e *pyYAMLEmitter) intScalar(i int64, ctx int) {
	var tmp [24]byte
	e.plainScalar(string(strconv.AppendInt(tmp[:0], i, 10)), ctx)
}

// floatScalar is SafeRepresenter.represent_float.
func (e *pyYAMLEmitter) floatScalar(f float64, ctx int) {
	switch {
	case math.IsNaN(f):
		e.plainScalar(".nan", ctx)
	case math.IsInf(f, 1):
		e.plainScalar(".inf", ctx)
	case math.IsInf(f, -1):
		e.plainScalar("-.inf", ctx)
	default:
		var tmp [40]byte
		b := appendPyFloatRepr(tmp[:0], f)
		s := string(b)
		// repr(1e17) is "1e+17", which is not a YAML 1.1 float: PyYAML
		// inserts ".0" before the 'e'.
		if i := strings.IndexByte(s, 'e'); i >= 0 && strings.IndexByte(s, '.') < 0 {
			s = s[:i] + ".0" + s[i:]
		}
		e.plainScalar(s, ctx)
	}
}

// binaryScalar is represent_binary: base64.encodebytes text (76-character
// lines) as a "!!binary" literal block; b"" cannot be a block scalar and
// becomes !!binary "".
func (e *pyYAMLEmitter) binaryScalar(b []byte) {
	e.writeIndicator("!!binary", true, false, false)
	saved := e.increaseIndent(true, false)
	if len(b) == 0 {
		e.writeDoubleQuoted("", true)
	} else {
		e.writeLiteral(encodeBytesBase64(b))
	}
	e.indent = saved
}

// encodeBytesBase64 is Python's base64.encodebytes: standard base64 in lines
// of at most 76 characters, each followed by "\n".
func encodeBytesBase64(b []byte) string {
	enc := base64.StdEncoding.EncodeToString(b)
	var sb strings.Builder
	sb.Grow(len(enc) + len(enc)/76 + 1)
	for len(enc) > 76 {
		sb.WriteString(enc[:76])
		sb.WriteByte('\n')
		enc = enc[76:]
	}
	sb.WriteString(enc)
	sb.WriteByte('\n')
	return sb.String()
}

func (e *pyYAMLEmitter) strScalar(s string, ctx int) {
	if !utf8.ValidString(s) {
		s = sanitizeUTF8(s)
	}
	a := analyzeYAMLScalar(s)
	e.strScalarAnalyzed(s, &a, ctx)
}

// strScalarAnalyzed is expect_scalar + choose_scalar_style + process_scalar
// for a str (block context; flow_level is always 0 where scalars occur).
func (e *pyYAMLEmitter) strScalarAnalyzed(s string, a *yamlScalarAnalysis, ctx int) {
	simpleKey := ctx&yamlCtxSimpleKey != 0
	split := !simpleKey
	saved := e.increaseIndent(true, false)
	switch {
	case a.allowBlockPlain && !(simpleKey && (a.empty || a.multiline)) && yamlResolvesToStr(s):
		e.writePlain(s, split, ctx&yamlCtxRoot != 0)
	case a.allowSingleQuoted && !(simpleKey && a.multiline):
		e.writeSingleQuoted(s, split)
	default:
		e.writeDoubleQuoted(s, split)
	}
	e.indent = saved
}

// writePlain is Emitter.write_plain for text without line breaks.
func (e *pyYAMLEmitter) writePlain(text string, split, root bool) {
	if root {
		e.openEnded = true
	}
	if text == "" {
		return
	}
	if !e.whitespace {
		e.buf = append(e.buf, ' ')
		e.column++
	}
	e.whitespace = false
	e.indention = false
	if strings.IndexByte(text, ' ') < 0 {
		e.write(text)
		return
	}
	spaces := false
	start := 0
	for end := 0; end <= len(text); end++ {
		atEnd := end == len(text)
		var ch byte
		if !atEnd {
			ch = text[end]
		}
		if spaces {
			if atEnd || ch != ' ' {
				if start+1 == end && e.column > yamlBestWidth && split {
					e.writeIndent()
					e.whitespace = false
					e.indention = false
				} else {
					e.write(text[start:end])
				}
				start = end
			}
		} else if atEnd || ch == ' ' {
			e.write(text[start:end])
			start = end
		}
		if !atEnd {
			spaces = ch == ' '
		}
	}
}

// writeSingleQuoted is Emitter.write_single_quoted. The text is printable
// ASCII plus '\n' (anything else forces double quotes).
func (e *pyYAMLEmitter) writeSingleQuoted(text string, split bool) {
	e.writeIndicator("'", true, false, false)
	spaces, breaks := false, false
	start := 0
	for end := 0; end <= len(text); end++ {
		atEnd := end == len(text)
		var ch byte
		if !atEnd {
			ch = text[end]
		}
		switch {
		case spaces:
			if atEnd || ch != ' ' {
				if start+1 == end && e.column > yamlBestWidth && split && start != 0 && end != len(text) {
					e.writeIndent()
				} else {
					e.write(text[start:end])
				}
				start = end
			}
		case breaks:
			if atEnd || ch != '\n' {
				if text[start] == '\n' {
					e.writeLineBreak()
				}
				for range end - start {
					e.writeLineBreak()
				}
				e.writeIndent()
				start = end
			}
		default:
			if (atEnd || ch == ' ' || ch == '\n' || ch == '\'') && start < end {
				e.write(text[start:end])
				start = end
			}
		}
		if !atEnd && ch == '\'' {
			e.write("''")
			start = end + 1
		}
		if !atEnd {
			spaces = ch == ' '
			breaks = ch == '\n'
		}
	}
	e.writeIndicator("'", false, false, false)
}

// yamlEscapes is Emitter.ESCAPE_REPLACEMENTS.
func yamlEscape(r rune) string {
	switch r {
	case 0:
		return `\0`
	case 0x07:
		return `\a`
	case 0x08:
		return `\b`
	case 0x09:
		return `\t`
	case 0x0A:
		return `\n`
	case 0x0B:
		return `\v`
	case 0x0C:
		return `\f`
	case 0x0D:
		return `\r`
	case 0x1B:
		return `\e`
	case '"':
		return `\"`
	case '\\':
		return `\\`
	case 0x85:
		return `\N`
	case 0xA0:
		return `\_`
	case 0x2028:
		return `\L`
	case 0x2029:
		return `\P`
	}
	return ""
}

const upperHex = "0123456789ABCDEF"

func (e *pyYAMLEmitter) writeEscape(r rune) {
	if s := yamlEscape(r); s != "" {
		e.write(s)
		return
	}
	var n int
	switch {
	case r <= 0xFF:
		e.buf = append(e.buf, '\\', 'x')
		n = 2
	case r <= 0xFFFF:
		e.buf = append(e.buf, '\\', 'u')
		n = 4
	default:
		e.buf = append(e.buf, '\\', 'U')
		n = 8
	}
	for i := n - 1; i >= 0; i-- {
		e.buf = append(e.buf, upperHex[(r>>(4*i))&0xF])
	}
	e.column += 2 + n
}

// writeDoubleQuoted is Emitter.write_double_quoted with allow_unicode=False
// (every character outside 0x20..0x7E is escaped). Indexes are in
// characters, as in Python.
func (e *pyYAMLEmitter) writeDoubleQuoted(s string, split bool) {
	e.writeIndicator("\"", true, false, false)
	text := e.runes[:0]
	for _, r := range s {
		text = append(text, r)
	}
	e.runes = text
	writeRun := func(from, to int) {
		for _, r := range text[from:to] {
			e.buf = append(e.buf, byte(r)) // ASCII: everything else was escaped
		}
		e.column += to - from
	}
	start := 0
	for end := 0; end <= len(text); end++ {
		atEnd := end == len(text)
		var ch rune = -1
		if !atEnd {
			ch = text[end]
		}
		if atEnd || ch == '"' || ch == '\\' || ch == 0x85 || ch == 0x2028 || ch == 0x2029 || ch == 0xFEFF || ch < 0x20 || ch > 0x7E {
			if start < end {
				writeRun(start, end)
				start = end
			}
			if !atEnd {
				e.writeEscape(ch)
				start = end + 1
			}
		}
		if 0 < end && end < len(text)-1 && (ch == ' ' || start >= end) && e.column+(end-start) > yamlBestWidth && split {
			if start < end {
				writeRun(start, end)
			}
			e.buf = append(e.buf, '\\')
			e.column++
			if start < end {
				start = end
			}
			e.writeIndent()
			e.whitespace = false
			e.indention = false
			if text[start] == ' ' {
				e.buf = append(e.buf, '\\')
				e.column++
			}
		}
	}
	e.writeIndicator("\"", false, false, false)
}

// writeLiteral is Emitter.write_literal, used for !!binary (base64 text:
// ASCII lines each ending in "\n", so no block hints are needed).
func (e *pyYAMLEmitter) writeLiteral(text string) {
	e.writeIndicator("|", true, false, false)
	e.writeLineBreak()
	for len(text) > 0 {
		line, rest, _ := strings.Cut(text, "\n")
		e.writeIndent()
		e.write(line)
		e.writeLineBreak()
		text = rest
	}
}

// sanitizeUTF8 replaces every invalid byte with U+FFFD (as ranging over the
// string does), since a Python str cannot contain invalid UTF-8.
func sanitizeUTF8(s string) string {
	var sb strings.Builder
	sb.Grow(len(s) + 8)
	for _, r := range s {
		sb.WriteRune(r)
	}
	return sb.String()
}

// ---- analysis (Emitter.analyze_scalar) ----

type yamlScalarAnalysis struct {
	length            int // in characters
	empty             bool
	multiline         bool
	allowBlockPlain   bool
	allowSingleQuoted bool
}

func isYAMLBreak(r rune) bool {
	return r == '\n' || r == 0x85 || r == 0x2028 || r == 0x2029
}

func isYAMLWhitespaceOrBreak(r rune) bool {
	return r == 0 || r == ' ' || r == '\t' || r == '\r' || isYAMLBreak(r)
}

// analyzeYAMLScalar is analyze_scalar for block context with
// allow_unicode=False (only the outputs the emitter needs are kept).
func analyzeYAMLScalar(s string) yamlScalarAnalysis {
	if s == "" {
		return yamlScalarAnalysis{empty: true, allowBlockPlain: true, allowSingleQuoted: true}
	}
	if isYAMLWordLike(s) {
		// Fast path for identifier-like text (most keys and names): no
		// indicators, whitespace, breaks or special characters.
		return yamlScalarAnalysis{length: len(s), allowBlockPlain: true, allowSingleQuoted: true}
	}
	var (
		blockIndicators, lineBreaks, special              bool
		leadingSpace, leadingBreak, trailingSpace         bool
		trailingBreak, breakSpace, spaceBreak             bool
		previousSpace, previousBreak                      bool
		precededByWhitespace, followedByWhitespace, first = true, false, true
	)
	if strings.HasPrefix(s, "---") || strings.HasPrefix(s, "...") {
		blockIndicators = true
	}
	n := 0
	ch, size := utf8.DecodeRuneInString(s)
	for i := 0; i < len(s); {
		next := rune(-1)
		nextSize := 0
		if i+size < len(s) {
			next, nextSize = utf8.DecodeRuneInString(s[i+size:])
		}
		followedByWhitespace = next < 0 || isYAMLWhitespaceOrBreak(next)
		last := next < 0
		if first {
			switch ch {
			case '#', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
				blockIndicators = true
			case '?', ':':
				if followedByWhitespace {
					blockIndicators = true
				}
			case '-':
				if followedByWhitespace {
					blockIndicators = true
				}
			}
		} else {
			switch ch {
			case ':':
				if followedByWhitespace {
					blockIndicators = true
				}
			case '#':
				if precededByWhitespace {
					blockIndicators = true
				}
			}
		}
		if isYAMLBreak(ch) {
			lineBreaks = true
		}
		if !(ch == '\n' || (ch >= 0x20 && ch <= 0x7E)) {
			// Unicode characters are special too, as allow_unicode is off.
			special = true
		}
		switch {
		case ch == ' ':
			if first {
				leadingSpace = true
			}
			if last {
				trailingSpace = true
			}
			if previousBreak {
				breakSpace = true
			}
			previousSpace, previousBreak = true, false
		case isYAMLBreak(ch):
			if first {
				leadingBreak = true
			}
			if last {
				trailingBreak = true
			}
			if previousSpace {
				spaceBreak = true
			}
			previousSpace, previousBreak = false, true
		default:
			previousSpace, previousBreak = false, false
		}
		precededByWhitespace = isYAMLWhitespaceOrBreak(ch)
		first = false
		n++
		i += size
		ch, size = next, nextSize
	}
	a := yamlScalarAnalysis{length: n, multiline: lineBreaks, allowBlockPlain: true, allowSingleQuoted: true}
	if leadingSpace || leadingBreak || trailingSpace || trailingBreak {
		a.allowBlockPlain = false
	}
	if breakSpace {
		a.allowBlockPlain, a.allowSingleQuoted = false, false
	}
	if spaceBreak || special {
		a.allowBlockPlain, a.allowSingleQuoted = false, false
	}
	if lineBreaks || blockIndicators {
		a.allowBlockPlain = false
	}
	return a
}

// isYAMLWordLike reports whether s starts with a letter, digit or '_' and
// continues with letters, digits and "_.-/" only: such text sets none of
// analyze_scalar's flags (it cannot start with "---" or "...").
func isYAMLWordLike(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
		case i > 0 && (c == '-' || c == '.' || c == '/'):
		default:
			return false
		}
	}
	return true
}

// ---- implicit resolvers (yaml.resolver.Resolver) ----

var (
	yamlFloatRe = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?` +
		`|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?` +
		`|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*` +
		`|[-+]?\.(?:inf|Inf|INF)` +
		`|\.(?:nan|NaN|NAN))$`)
	yamlIntRe = regexp.MustCompile(`^(?:[-+]?0b[0-1_]+` +
		`|[-+]?0[0-7_]+` +
		`|[-+]?(?:0|[1-9][0-9_]*)` +
		`|[-+]?0x[0-9a-fA-F_]+` +
		`|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
	yamlTimestampRe = regexp.MustCompile(`^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]` +
		`|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?` +
		`(?:[Tt]|[ \t]+)[0-9][0-9]?` +
		`:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?` +
		`(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$`)
)

// yamlResolvesToStr reports whether PyYAML's resolver would read s, written
// as a plain scalar, back as a str (event.implicit[0] for a str value).
// Python's `$` also matches before a final "\n", hence the second try.
func yamlResolvesToStr(s string) bool {
	if s == "" {
		return false // null
	}
	if yamlImplicitMatch(s[0], s) {
		return false
	}
	if s[len(s)-1] == '\n' && yamlImplicitMatch(s[0], s[:len(s)-1]) {
		return false
	}
	return true
}

// yamlImplicitMatch applies the resolvers registered for first character c
// to the whole of s.
func yamlImplicitMatch(c byte, s string) bool {
	switch c {
	case 'y', 'Y', 'n', 'N', 't', 'T', 'f', 'F', 'o', 'O':
		switch s {
		case "yes", "Yes", "YES", "no", "No", "NO",
			"true", "True", "TRUE", "false", "False", "FALSE",
			"on", "On", "ON", "off", "Off", "OFF":
			return true
		}
		if c == 'n' || c == 'N' {
			return s == "null" || s == "Null" || s == "NULL"
		}
		return false
	case '~':
		return s == "~"
	case '<':
		return s == "<<"
	case '=':
		return s == "="
	case '!', '&', '*':
		return len(s) == 1
	case '.':
		return yamlFloatRe.MatchString(s)
	case '-', '+':
		return yamlFloatRe.MatchString(s) || yamlIntRe.MatchString(s)
	}
	if c >= '0' && c <= '9' {
		if isASCIIDigits(s) {
			// Fast path for the common all-digit case: an int unless it
			// has a leading zero and a digit 8 or 9 ("09" is a str).
			return s[0] != '0' || len(s) == 1 || !strings.ContainsAny(s, "89")
		}
		return yamlFloatRe.MatchString(s) || yamlIntRe.MatchString(s) || yamlTimestampRe.MatchString(s)
	}
	return false
}

func isASCIIDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
