package cmddesc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// ParseDescriptions reads a get_command_descriptions reply, keeping the
// order of its entries. Descriptions whose "avail" does not mention
// consumer (e.g. "cli") are dropped, as the ceph CLI does; consumer "" keeps
// all.
func ParseDescriptions(data []byte, consumer string) ([]Description, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("command descriptions: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("command descriptions: want a JSON object")
	}
	var out []Description
	for dec.More() {
		keyTok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("command descriptions: %w", err)
		}
		key, _ := keyTok.(string)
		var d Description
		if err := dec.Decode(&d); err != nil {
			return nil, fmt.Errorf("command descriptions: %s: %w", key, err)
		}
		if len(d.Sig) == 0 {
			return nil, fmt.Errorf("command descriptions: %s has no sig", key)
		}
		if d.Avail != "" && consumer != "" && !strings.Contains(d.Avail, consumer) {
			continue
		}
		out = append(out, d)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("command descriptions: %w", err)
	}
	return out, nil
}

// Matcher turns command-line words into a JSON command the way the ceph
// CLI's client-side validation (validate_command) does: it scores every
// command, validates the best candidates, converts values, and explains
// failures with Ceph's messages and usage lines.
type Matcher struct {
	cmds []*candidate
}

type candidate struct {
	desc  Description
	sig   []*Param // literal words have lit set
	spec  *Spec
	nreq  int
	flags int
}

// NewMatcher compiles descriptions (in the order given; it decides which
// "closest matches" are listed first on ties).
func NewMatcher(descs []Description) (*Matcher, error) {
	m := &Matcher{}
	for _, d := range descs {
		prefix := d.Sig.Prefix()
		c := &candidate{desc: d, flags: d.Flags, spec: &Spec{Sig: d.Sig, Help: d.Help, Perm: d.Perm, Flags: d.Flags, prefix: prefix, prefixV: prefix, byName: map[string]*Param{}}}
		for _, w := range d.Sig {
			if w.Arg == nil {
				c.sig = append(c.sig, &Param{name: "prefix", lit: w.Literal, required: true, n: 1, positional: true})
				c.nreq++
				continue
			}
			b, err := NewParam(w.Arg)
			if err != nil {
				return nil, fmt.Errorf("command %q: %w", d.Sig.Prefix(), err)
			}
			c.sig = append(c.sig, b)
			c.spec.byName[b.name] = b
			if b.required {
				c.nreq++
			}
		}
		m.cmds = append(m.cmds, c)
	}
	return m, nil
}

// Usage returns a command's usage line as MatchError shows it, e.g.
// "count <num:int>" (help output lists commands with it).
func Usage(d Description) (string, error) {
	m, err := NewMatcher([]Description{d})
	if err != nil {
		return "", err
	}
	return m.cmds[0].usage(), nil
}

// Match is a successful match.
type Match struct {
	// Cmd is the JSON command: "prefix" plus converted argument values
	// (int64, float64, bool, string, []any); "target" and "poll" as the
	// ceph CLI adds them for MGR and POLL commands.
	Cmd map[string]any
	// Description is the matched command.
	Description Description
	// Notes are lines the ceph CLI would print to stderr even on success.
	Notes []string
}

// MatchError explains why words match no command. Lines are what the ceph
// CLI prints to stderr, e.g. "Invalid command: missing required parameter
// oid(<string>)" followed by the usage line, or "no valid command found; 3
// closest matches:" followed by candidates.
type MatchError struct {
	Lines []string
	// Usage is the usage line of the command that was found, if any.
	Usage string
	// Closest lists suggested usage lines when no command was found.
	Closest []string
}

func (e *MatchError) Error() string { return strings.Join(e.Lines, "\n") }

// Match validates words (the command line after global options) and
// returns the JSON command.
func (m *Matcher) Match(words []string) (*Match, error) {
	best := 0.0
	var bestcmds []*candidate
	for _, c := range m.cmds {
		if c.flags&FlagObsolete != 0 {
			continue
		}
		matched := float64(c.matchnum(words, true))
		if matched >= math.Floor(best) && matched == float64(c.matchnum(words, false)) {
			matched += 0.5
		}
		if matched < best {
			continue
		}
		if matched > best {
			best = matched
			bestcmds = []*candidate{c}
		} else {
			bestcmds = append(bestcmds, c)
		}
	}
	sorted := slices.Clone(bestcmds)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].nreq < sorted[j].nreq })

	var notes []string
	var ex *ArgumentError
	var found *candidate
	for _, c := range sorted {
		d, n, err := c.validate(words)
		notes = append(notes, n...)
		if err == nil {
			return &Match{Cmd: d, Description: c.desc, Notes: notes}, nil
		}
		switch err.Kind {
		case ArgPrefix, ArgTooFew:
			continue
		case ArgMissing:
			ex = err
			if len(bestcmds) == 1 {
				found = c
			}
		default:
			ex, found = err, c
		}
		break
	}
	if found != nil {
		usage := found.usage()
		lines := append(notes, "Invalid command: "+ex.Msg, usage+" :  "+found.desc.Help)
		return nil, &MatchError{Lines: lines, Usage: usage}
	}
	var shown []*candidate
	for _, c := range bestcmds {
		if c.flags&(FlagDeprecated|FlagHidden) == 0 {
			shown = append(shown, c)
		}
	}
	if best < 1 {
		rankBySimilarity(shown, words)
	}
	if len(shown) > 10 {
		shown = shown[:10]
	}
	lines := append(notes, fmt.Sprintf("no valid command found; %d closest matches:", len(shown)))
	var closest []string
	for _, c := range shown {
		closest = append(closest, c.usage())
	}
	return nil, &MatchError{Lines: append(lines, closest...), Closest: closest}
}

// rankBySimilarity orders candidates by how close their prefix is to the
// words typed (edit distance), keeping Ceph's order among equals. It is
// used when not even the first word matched: Ceph then lists the first ten
// commands of its table, which says nothing about the typo; ranking makes
// "closest matches" live up to its name. Otherwise Ceph's order is kept.
func rankBySimilarity(cs []*candidate, words []string) {
	dist := make(map[*candidate]int, len(cs))
	for _, c := range cs {
		prefix := c.spec.prefix
		n := len(strings.Fields(prefix))
		typed := strings.Join(words[:min(n, len(words))], " ")
		dist[c] = levenshtein(typed, prefix)
	}
	sort.SliceStable(cs, func(i, j int) bool { return dist[cs[i]] < dist[cs[j]] })
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func (c *candidate) usage() string {
	parts := make([]string, len(c.sig))
	for i, b := range c.sig {
		if b.lit != "" {
			parts[i] = b.lit
		} else {
			parts[i] = helpString(b)
		}
	}
	return strings.Join(parts, " ")
}

// validateOne checks a word for a descriptor, splitting on commas for
// repeated arguments unless it is a positional CephString.
func validateOne(word string, b *Param, isKwarg, partial bool) ([]any, *ArgumentError) {
	if b.lit != "" {
		if word == b.lit || (partial && strings.HasPrefix(b.lit, word)) {
			return []any{word}, nil
		}
		return nil, argErr(ArgPrefix, "no match for "+word)
	}
	allowCSV := isKwarg || b.arg.Type() != CephString
	var parts []string
	if b.many && allowCSV {
		parts = strings.Split(word, ",")
	} else {
		parts = []string{word}
	}
	vals := make([]any, 0, len(parts))
	for _, p := range parts {
		v, err := b.typ.valid(p, partial)
		if err != nil {
			if ae, ok := err.(*ArgumentError); ok {
				return nil, ae
			}
			return nil, argErr(ArgValid, err.Error())
		}
		vals = append(vals, v)
	}
	return vals, nil
}

// matchnum counts how many required descriptors the words satisfy, as
// ceph_argparse.matchnum does (partial applies to the last word only).
func (c *candidate) matchnum(words []string, partial bool) int {
	cnt := 0
	i := 0
	for _, b := range c.sig {
		seen, n := 0, b.n
		for seen < n {
			if i >= len(words) {
				return cnt
			}
			word := words[i]
			i++
			if _, err := validateOne(word, b, false, partial && i == len(words)); err != nil {
				if !b.required {
					i--
					break
				}
				return cnt
			}
			seen++
			if b.many {
				n = seen + 1
			}
		}
		if b.required {
			cnt++
		}
	}
	return cnt
}

var (
	kwargEquals = regexp.MustCompile(`^--([^=]+)=(.+)`)
	kwargSpace  = regexp.MustCompile(`^--([^=]+)`)
)

var confirmWords = map[string]bool{
	"--yes-i-really-mean-it":                   true,
	"--yes-i-really-really-mean-it":            true,
	"--yes-i-really-really-mean-it-not-faking": true,
	"--force": true,
}

// validate is ceph_argparse.validate with the newest positional rules:
// keyword forms --key=value, --key value and --flag anywhere, positional
// words in descriptor order, and "Unexpected argument" for words that can
// only be keywords.
func (c *candidate) validate(words []string) (map[string]any, []string, *ArgumentError) {
	args := slices.Clone(words)
	pop := func() (string, bool) {
		if len(args) == 0 {
			return "", false
		}
		w := args[0]
		args = args[1:]
		return w, true
	}
	reqsiglen := c.nreq
	matchcnt := 0
	d := map[string]any{}
	var saved *struct {
		word string
		err  *ArgumentError
	}
	byName := map[string]*Param{}
	for _, b := range c.sig {
		if b.lit == "" {
			byName[b.name] = b
		}
	}
	injectargs := len(args) > 0 && args[0] == "injectargs"
	state := map[*Param]*[2]int{} // numseen, n
	st := func(b *Param) *[2]int {
		s, ok := state[b]
		if !ok {
			s = &[2]int{0, b.n}
			state[b] = s
		}
		return s
	}
	for _, desc := range c.sig {
		ds := st(desc)
		ds[0] = 0
		for ds[0] < ds[1] {
			myarg, have := pop()
			if !have {
				if !desc.required {
					break
				}
				if _, ok := d[desc.name]; ok {
					break
				}
			}
			if have && myarg != "" {
				var kd *Param
				var kv string
				if m := kwargEquals.FindStringSubmatch(myarg); m != nil {
					kd, kv = byName[strings.ReplaceAll(m[1], "-", "_")], m[2]
				} else if m := kwargSpace.FindStringSubmatch(myarg); m != nil {
					kd = byName[strings.ReplaceAll(m[1], "-", "_")]
					if kd != nil {
						if kd.arg.Type() == CephBool {
							kv = "true"
						} else if v, ok := pop(); ok {
							kv = v
						} else {
							kd = nil
						}
					}
				}
				if kd != nil {
					vals, err := validateOne(kv, kd, true, false)
					if err != nil {
						return nil, nil, err
					}
					ks := st(kd)
					ks[0]++
					if kd.many {
						ks[1] = ks[0] + 1
					}
					matchcnt++
					storeArg(kd, vals, d)
					continue
				}
				if strings.HasPrefix(myarg, "--") {
					isValue := desc.arg != nil && desc.arg.Type() == CephChoices || confirmWords[myarg] || injectargs
					if !isValue {
						return nil, nil, argErr(ArgValid, fmt.Sprintf("Unexpected argument '%s'", myarg))
					}
				}
			}
			if have && !desc.positional {
				return nil, nil, argErr(ArgValid, fmt.Sprintf("Unexpected argument '%s'", myarg))
			}
			if !have && desc.required {
				switch {
				case desc.many && ds[0] < 1:
					return nil, nil, argErr(ArgNumber, fmt.Sprintf("saw %d of %s, expected at least 1", ds[0], descString(desc)))
				case !desc.many && ds[0] < ds[1]:
					if ds[0] == 0 && ds[1] == 1 {
						return nil, nil, argErr(ArgMissing, "missing required parameter "+descString(desc))
					}
					return nil, nil, argErr(ArgNumber, fmt.Sprintf("saw %d of %s, expected %d", ds[0], descString(desc), ds[1]))
				}
				break
			}
			vals, err := validateOne(myarg, desc, false, false)
			if err != nil {
				if !desc.required {
					saved = &struct {
						word string
						err  *ArgumentError
					}{myarg, err}
					args = append([]string{myarg}, args...)
					break
				}
				return nil, nil, err
			}
			ds[0]++
			if desc.many {
				ds[1] = ds[0] + 1
			}
			matchcnt++
			storeArg(desc, vals, d)
			saved = nil
		}
	}
	if matchcnt < reqsiglen {
		return nil, nil, argErr(ArgTooFew, "not enough arguments given")
	}
	// Ceph lets a missing literal word pass when keyword arguments make up
	// the count ("osd --human-readable" would become {"prefix": "osd"}); a
	// command is only matched when all its words were given.
	if p, _ := d["prefix"].(string); p != c.spec.prefix {
		return nil, nil, argErr(ArgPrefix, "no match for "+c.spec.prefix)
	}
	if len(args) > 0 {
		var notes []string
		if saved != nil {
			notes = append(notes, saved.word+" not valid:  "+saved.err.Msg)
		}
		return nil, notes, argErr(ArgInvalid, "unused arguments: "+pyListRepr(args))
	}
	if c.flags&FlagMgr != 0 {
		d["target"] = []any{"mon-mgr", ""}
	}
	if c.flags&FlagPoll != 0 {
		d["poll"] = true
	}
	return d, nil, nil
}

// storeArg is ceph_argparse.store_arg: repeated arguments accumulate,
// literal words join into "prefix", others are set.
func storeArg(b *Param, vals []any, d map[string]any) {
	switch {
	case b.many || b.n > 1:
		old, _ := d[b.name].([]any)
		d[b.name] = append(old, vals...)
	case b.lit != "":
		if old, ok := d["prefix"].(string); ok {
			d["prefix"] = old + " " + b.lit
		} else {
			d["prefix"] = b.lit
		}
	default:
		d[b.name] = vals[len(vals)-1]
	}
}

// pyListRepr prints a list of strings as Python's repr does: ['a', 'b'].
func pyListRepr(ss []string) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = objectformat.PyStrRepr(s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// Complete returns the words that could follow the given words; the last
// word is the partial word being completed ("" for a new word). It serves
// shell completion and the REPL.
func (m *Matcher) Complete(words []string) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	done, partial := words[:len(words)-1], words[len(words)-1]
	set := map[string]bool{}
	for _, c := range m.cmds {
		if c.flags&(FlagObsolete|FlagHidden|FlagDeprecated) != 0 {
			continue
		}
		c.complete(done, partial, set)
	}
	out := make([]string, 0, len(set))
	for w := range set {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

func (c *candidate) complete(done []string, partial string, set map[string]bool) {
	i := 0
	pos := 0
	for pos < len(c.sig) && i < len(done) {
		w := done[i]
		if strings.HasPrefix(w, "--") && c.sig[pos].lit == "" {
			i++
			if b := c.spec.byName[strings.ReplaceAll(strings.SplitN(strings.TrimPrefix(w, "--"), "=", 2)[0], "-", "_")]; b != nil &&
				b.arg.Type() != CephBool && !strings.Contains(w, "=") && i < len(done) {
				i++
			}
			continue
		}
		b := c.sig[pos]
		if _, err := validateOne(w, b, false, false); err != nil {
			if b.required {
				return
			}
			pos++
			continue
		}
		i++
		if !b.many {
			pos++
		}
	}
	if i < len(done) {
		return
	}
	for ; pos < len(c.sig); pos++ {
		b := c.sig[pos]
		switch {
		case b.lit != "":
			if strings.HasPrefix(b.lit, partial) {
				set[b.lit] = true
			}
			return
		case !b.positional || b.arg.Type() == CephBool:
			flag := "--" + strings.ReplaceAll(b.name, "_", "-")
			if strings.HasPrefix(flag, partial) {
				set[flag] = true
			}
		default:
			for _, w := range b.typ.complete(partial) {
				set[w] = true
			}
		}
		if b.required && b.positional {
			return
		}
	}
}
