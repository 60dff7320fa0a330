package objectformat

// Format is an output format name as sent in a command's "format" field.
type Format string

// The format names Ceph knows. Other names are "unknown"; known names that a
// formatter cannot produce are "unsupported".
const (
	Plain      Format = "plain"
	JSON       Format = "json"
	JSONPretty Format = "json-pretty"
	YAML       Format = "yaml"
	XML        Format = "xml"
	XMLPretty  Format = "xml-pretty"
)

// DefaultFormat is used when a request names no format.
const DefaultFormat = JSON

// KnownFormats lists every format name Ceph defines, in the order the ceph
// CLI offers them.
var KnownFormats = []Format{JSON, JSONPretty, XML, XMLPretty, Plain, YAML}

// Known reports whether f is one of the Ceph format names.
func (f Format) Known() bool {
	for _, k := range KnownFormats {
		if f == k {
			return true
		}
	}
	return false
}

// ParseFormat checks a requested format name. An empty name selects
// DefaultFormat. Names that are not Ceph formats give an *UnknownFormatError.
func ParseFormat(name string) (Format, error) {
	if name == "" {
		return DefaultFormat, nil
	}
	f := Format(name)
	if !f.Known() {
		return "", &UnknownFormatError{Name: name}
	}
	return f, nil
}
