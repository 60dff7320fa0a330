package mgrctl

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/gomgr/gomgr/internal/buildinfo"
)

func (a *app) newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print mgrctl's version and, if it is running, the daemon's",
		Long: `version prints mgrctl's version and, when the daemon answers, its id,
role and version. "mgrctl call version" runs the daemon's own version
command instead.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 0 {
				return usageError(cmd, "version takes no arguments (did you mean 'mgrctl call version %s'?)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkGlobals(cmd); err != nil {
				return err
			}
			var daemon *api.Status
			if sock := a.socketPath(); a.g.conf == "" && sock != "" {
				c := api.NewClient(sock)
				defer c.Close()
				ctx, cancel := context.WithTimeout(cmd.Context(), 3*time.Second)
				defer cancel()
				if s, err := c.Status(ctx); err == nil {
					daemon = &s
				}
			}
			switch a.g.format {
			case "json", "json-pretty":
				v := map[string]any{"mgrctl": buildinfo.Full()}
				if daemon != nil {
					v["daemon"] = daemon
				}
				var b []byte
				if a.g.format == "json" {
					b, _ = json.Marshal(v)
				} else {
					b, _ = json.MarshalIndent(v, "", "    ")
				}
				fmt.Fprintln(a.stdout, string(b))
			default:
				fmt.Fprintln(a.stdout, "mgrctl:", buildinfo.Full())
				if daemon != nil {
					fmt.Fprintf(a.stdout, "ceph-mgr mgr.%s (%s, pid %d): %s\n", daemon.ID, daemon.Role, daemon.PID, daemon.Version)
				}
			}
			return nil
		},
	}
}
