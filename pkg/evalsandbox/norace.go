//go:build !race

package evalsandbox

// raceFactor scales a worker's RLIMIT_DATA (see race.go).
const raceFactor = 1
