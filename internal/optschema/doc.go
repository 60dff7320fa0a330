// Package optschema compiles module option declarations into a schema and
// reads option text as Ceph does: Option::parse_value's numbers, sizes,
// time spans and bools, with the monitor's error texts, enums and bounds.
// Package module's Register checks declarations with it, and the module
// runtime validates `config set` and stored values with it.
package optschema
