package daemon

import (
	"strconv"
	"sync/atomic"
)

// Role is what a daemon is doing: starting, standby (another daemon is
// active), active (its modules run), or stopping. The zero value is
// RoleStarting.
type Role int32

// The roles, in the order a daemon goes through them.
const (
	RoleStarting Role = iota
	RoleStandby
	RoleActive
	RoleStopping
)

// String is the role as status and the API show it: "starting",
// "standby", "active", "stopping".
func (r Role) String() string {
	switch r {
	case RoleStandby:
		return "standby"
	case RoleActive:
		return "active"
	case RoleStopping:
		return "stopping"
	case RoleStarting:
		return "starting"
	}
	return "Role(" + strconv.Itoa(int(r)) + ")"
}

// roleValue holds a Role for concurrent use.
type roleValue struct{ v atomic.Int32 }

func (r *roleValue) Load() Role      { return Role(r.v.Load()) }
func (r *roleValue) Store(role Role) { r.v.Store(int32(role)) }
