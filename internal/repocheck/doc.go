// Package repocheck holds tests of the repository itself rather than of a
// Go package: that the Makefile runs the race detector where test files
// ask for it, that the scripts the tests rely on behave, and that the
// client binaries do not link the daemon.
package repocheck
