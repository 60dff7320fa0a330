package cmddesc

import "strings"

// descString is how Ceph names an argument inside messages (str(argdesc)):
// "oid(<string>)", "ids(<int>)...", "[blackhole(<string>)]"; a one-member
// CephChoices prints just its member.
func descString(b *Param) string {
	if b.lit != "" {
		return b.lit
	}
	var s string
	if b.arg.Type() == CephChoices && len(b.arg.Choices()) == 1 {
		s = b.typ.String()
	} else {
		s = b.name + "(" + b.typ.String() + ")"
		if b.many {
			s += "..."
		}
	}
	if !b.required {
		s = "[" + s + "]"
	}
	return s
}

// helpString is the argument's form in a usage line (Ceph's helpstr):
// "<oid>", "<n:int>", "[--force]", "[fast|slow]", "[--size <int>]".
func helpString(b *Param) string {
	var s string
	name := b.name
	switch typ := b.arg.Type(); {
	case typ == CephBool:
		s = "--" + strings.ReplaceAll(name, "_", "-")
	case typ == CephChoices:
		if name == "format" || !b.positional {
			s = "--" + name + " {" + b.typ.String() + "}"
		} else {
			s = b.typ.String()
		}
	case !b.positional:
		s = "--" + name + " " + valueHint(typ)
	case typ == CephOsdName:
		s = "<id|osd.id>"
	case typ == CephName:
		s = "<type.id>"
	case typ == CephInt:
		s = "<" + name + ":int>"
	case typ == CephFloat:
		s = "<" + name + ":float>"
	default:
		s = "<" + name + ">"
	}
	if b.many {
		s += "..."
	}
	if !b.required {
		s = "[" + s + "]"
	}
	return s
}

func valueHint(typ string) string {
	switch typ {
	case CephInt:
		return "<int>"
	case CephFloat:
		return "<float>"
	case CephOsdName:
		return "<id|osd.id>"
	case CephName:
		return "<type.id>"
	}
	return "<value>"
}

// Usage is the command's one-line synopsis as the ceph CLI prints it
// (concise_sig): "antigravity send to blackhole <oid> [<blackhole>]".
func (s *Spec) Usage() string {
	parts := make([]string, 0, len(s.Sig))
	for _, w := range s.Sig {
		if w.Arg == nil {
			parts = append(parts, w.Literal)
			continue
		}
		if b := s.byName[w.Arg.Name()]; b != nil {
			parts = append(parts, helpString(b))
		}
	}
	return strings.Join(parts, " ")
}
