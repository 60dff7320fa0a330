// Package cmddesc is Ceph's command language, shared by the daemon and its
// clients: argument descriptors and their grammar (Arg, Signature: the
// "name=pool,type=CephPoolname" strings), the validators of every Ceph
// argument type with ceph_argparse's texts, a command's Spec (its
// signature with each argument's validator, permission and flags) and the
// Description get_command_descriptions gives of it, usage lines, and the
// Matcher, which does what the ceph CLI does before it sends a command:
// it picks the best-matching description for the words typed, converts
// the values, and explains failures with Ceph's messages, usage lines and
// closest matches.
//
// Module authors declare commands with package clicommand, which builds
// Specs from Go structs; the daemon validates JSON commands with
// Spec.Validate; mgrctl matches words with a Matcher over the daemon's
// descriptions.
package cmddesc
