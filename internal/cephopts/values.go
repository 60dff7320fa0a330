package cephopts

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Daemon says which daemon values are for, for the metavariables Ceph
// expands in them.
type Daemon struct {
	Cluster string // "ceph" when empty
	Type    string // "mgr"
	ID      string // "x"
	Host    string // the short host name
}

func (d Daemon) cluster() string {
	if d.Cluster == "" {
		return "ceph"
	}
	return d.Cluster
}

// Source is where a daemon's option values come from, lowest precedence
// last: the monitors' configuration database (Central), ceph.conf (Conf),
// values the daemon itself fixes (Fixed: its run dir, admin socket, ...,
// which a real daemon sets on its command line and which therefore win),
// then the table's default.
type Source struct {
	Daemon  Daemon
	Fixed   map[string]string
	Central func(name string) (string, bool)
	Conf    Conf
}

// Text returns the option's value text for the daemon, its metavariables
// expanded; found is false for an option Ceph does not have.
func (s Source) Text(name string) (text string, found bool) {
	o, ok := Lookup(name)
	if !ok {
		return "", false
	}
	return s.expand(s.raw(o), 0), true
}

// Value is Text typed as Python's get_ceph_option types it; an option Ceph
// does not have is NotFound.
func (s Source) Value(name string) (any, error) {
	o, ok := Lookup(name)
	if !ok {
		return nil, NotFound(name)
	}
	return o.Typed(s.expand(s.raw(o), 0))
}

// Int is Value for an integer option (mgr_stats_period, ...), def when
// the option is unknown, not an integer or its value does not parse.
func (s Source) Int(name string, def int64) int64 {
	v, err := s.Value(name)
	if n, ok := v.(int64); ok && err == nil {
		return n
	}
	return def
}

func (s Source) raw(o *Option) string {
	switch o.Name {
	case "name":
		return s.Daemon.Type + "." + s.Daemon.ID
	case "cluster":
		return s.Daemon.cluster()
	}
	if v, ok := s.Fixed[o.Name]; ok {
		return o.canonical(v)
	}
	if s.Central != nil {
		if v, ok := s.Central(o.Name); ok {
			return o.canonical(v)
		}
	}
	if v, ok := s.Conf.Lookup(s.Daemon, o.Name); ok {
		return o.canonical(v)
	}
	return o.canonical(o.DefaultText())
}

// ShowConfig is Python's get("config"): every option with its value text,
// and the daemon's "name" and "cluster" (which show_config lists though
// they are not options of the table).
func (s Source) ShowConfig() map[string]string {
	out := map[string]string{"name": s.Daemon.Type + "." + s.Daemon.ID, "cluster": s.Daemon.cluster()}
	for _, n := range Names() {
		out[n], _ = s.Text(n)
	}
	return out
}

// maxExpandDepth bounds option references inside values ($run_dir in
// admin_socket's default, which could refer on).
const maxExpandDepth = 8

// expand replaces Ceph's metavariables: $cluster, $type, $id, $name
// (type.id), $host, and $<option> for any option (its own value,
// expanded in turn). Unknown variables stay as they are, as in Ceph.
func (s Source) expand(v string, depth int) string {
	if !strings.Contains(v, "$") || depth > maxExpandDepth {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); {
		if v[i] != '$' {
			b.WriteByte(v[i])
			i++
			continue
		}
		j := i + 1
		for j < len(v) && (v[j] == '_' || v[j] >= 'a' && v[j] <= 'z' || v[j] >= 'A' && v[j] <= 'Z' || v[j] >= '0' && v[j] <= '9') {
			j++
		}
		word := v[i+1 : j]
		switch word {
		case "cluster":
			b.WriteString(s.Daemon.cluster())
		case "type":
			b.WriteString(s.Daemon.Type)
		case "id":
			b.WriteString(s.Daemon.ID)
		case "name":
			b.WriteString(s.Daemon.Type + "." + s.Daemon.ID)
		case "host":
			b.WriteString(s.Daemon.Host)
		default:
			if o, ok := Lookup(word); ok && word != "" {
				b.WriteString(s.expand(s.raw(o), depth+1))
			} else {
				b.WriteString(v[i:j])
			}
		}
		i = j
	}
	return b.String()
}

// Conf is a parsed ceph.conf: section -> option (normalized) -> value.
type Conf map[string]map[string]string

// maxConfSize bounds a ceph.conf read.
const maxConfSize = 4 << 20

// ParseConf reads ceph.conf: [section] headers, "name = value" lines
// (spaces, dashes and underscores in names alike), # and ; comments,
// values optionally quoted.
func ParseConf(r io.Reader) (Conf, error) {
	conf := Conf{}
	sc := bufio.NewScanner(io.LimitReader(r, maxConfSize))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	section := ""
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				return nil, fmt.Errorf("ceph.conf line %d: section header without ]", n)
			}
			section = strings.TrimSpace(line[1:end])
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("ceph.conf line %d: want name = value", n)
		}
		value = strings.TrimSpace(value)
		if i := strings.IndexAny(value, "#;"); i >= 0 && !strings.HasPrefix(value, "\"") {
			value = strings.TrimSpace(value[:i])
		}
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		if conf[section] == nil {
			conf[section] = map[string]string{}
		}
		conf[section][Normalize(name)] = value
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read ceph.conf: %w", err)
	}
	return conf, nil
}

// Lookup finds name for the daemon: its own section ([mgr.x]), then its
// type's ([mgr]), then [global].
func (c Conf) Lookup(d Daemon, name string) (string, bool) {
	for _, sec := range []string{d.Type + "." + d.ID, d.Type, "global"} {
		if v, ok := c[sec][name]; ok {
			return v, true
		}
	}
	return "", false
}
