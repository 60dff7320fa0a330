#!/usr/bin/env bash
# ceph-cluster.sh - throwaway loopback Ceph cluster for integration tests.
#
# One mon (mon.a), one mgr (mgr.x), one memstore OSD (osd.0), cephx on.
# Everything (config, keyrings, data, logs, sockets, pid files) lives under
# DIR; nothing outside DIR is touched, so several clusters can run side by
# side in different directories.
#
# Usage:
#   scripts/ceph-cluster.sh start DIR      create DIR and start a fresh cluster;
#                                          prints "export CEPH_CONF=..." lines
#   scripts/ceph-cluster.sh stop DIR       stop all daemons (idempotent)
#   scripts/ceph-cluster.sh destroy DIR    stop, then rm -rf DIR
#   scripts/ceph-cluster.sh status DIR     ceph -s
#   scripts/ceph-cluster.sh kill-mon DIR   stop only the monitor
#   scripts/ceph-cluster.sh start-mon DIR  restart the monitor (same address)
#   scripts/ceph-cluster.sh start-mds DIR  add a CephFS ("cephfs", two pools)
#                                          and its MDS (mds.a); returns once
#                                          it is active
#   scripts/ceph-cluster.sh env DIR        print the export lines again
#
# Typical use:
#   env=$(scripts/ceph-cluster.sh start /tmp/c1) && eval "$env"  # CEPH_CONF, CEPH_KEYRING
#   ceph -s; ...; scripts/ceph-cluster.sh destroy /tmp/c1
#
# "start" returns once the mon answers, osd.0 is up and in and the mgr is
# available (a few seconds on an idle machine); progress and errors go to
# stderr, only the export lines go to stdout. The mon listens on
# 127.0.0.1 (v2 and v1, two free ports picked at run time), the other daemons
# on ports from ceph's usual 6800-7300 range. If start fails, whatever it
# started is stopped again and the logs are kept in DIR/log.
#
# Environment:
#   CEPH_CLUSTER_TIMEOUT     seconds to wait for the cluster (default 60)
#   CEPH_CLUSTER_VERBOSE=1   log the time taken by each step
#   CEPH_CLUSTER_STOP_GRACE  tenths of a second between SIGTERM and SIGKILL
#                            (default 50)
#   CEPH_CLUSTER_PYCACHE     directory for the mgr's python byte-code cache
#                            (default: none; see start_mgr)
#   CEPH_CLUSTER_MGR_MODULES colon-separated directories of extra Python mgr
#                            modules (one subdirectory per module) to load
#                            next to the installed ones
#   CEPH_CLUSTER_STANDBY_MGRS space-separated ids of more mgr daemons (e.g.
#                            "y"), started after mgr.x, as its standbys
#   CEPH_CLUSTER_PROC        the proc file system to scan for stray daemons
#                            (default /proc; for tests)
#
# Exit status: 0 ok, 1 failure, 2 ceph binaries missing, 64 usage error.
set -euo pipefail

PROG=${0##*/}
TIMEOUT=${CEPH_CLUSTER_TIMEOUT:-60}
MON_ID=a
MGR_ID=x
MDS_ID=a
STANDBY_MGRS=()
MGR_IDS=("$MGR_ID")
OSD_ID=0
DAEMONS=()

# load_mgr_ids: the mgr ids of the cluster in DIR: x and the standbys of
# CEPH_CLUSTER_STANDBY_MGRS, remembered in DIR/standby-mgrs at start so
# that stop and destroy find them too.
load_mgr_ids() {
    local ids=${CEPH_CLUSTER_STANDBY_MGRS:-}
    if [[ -z $ids && -f $DIR/standby-mgrs ]]; then
        ids=$(<"$DIR/standby-mgrs")
    fi
    read -r -a STANDBY_MGRS <<<"$ids"
    MGR_IDS=("$MGR_ID" "${STANDBY_MGRS[@]}")
    DAEMONS=("osd.${OSD_ID}" "${MGR_IDS[@]/#/mgr.}" "mon.${MON_ID}")
    # start-mds adds mds.a (and DIR/mds.a); stop finds it by its directory.
    MDS_IDS=()
    if [[ -d $DIR/mds.$MDS_ID ]]; then
        MDS_IDS=("$MDS_ID")
    fi
}

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
# vlog: progress messages with timestamps, only if CEPH_CLUSTER_VERBOSE=1
vlog() {
    if [[ ${CEPH_CLUSTER_VERBOSE:-0} == 1 ]]; then
        log "[$(elapsed "$T0")s] $*"
    fi
}
die() {
    log "error: $*"
    exit 1
}

usage() {
    cat >&2 <<EOF
usage: $PROG {start|stop|destroy|status|kill-mon|start-mon|start-mds|env} DIR
EOF
    exit 64
}

# Seconds since the epoch with sub-second precision (for timing output).
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

check_binaries() {
    local missing=() pkgs=() b
    declare -A pkg_of=(
        [ceph]=ceph-common [ceph-authtool]=ceph-common [rados]=ceph-common
        [ceph-conf]=ceph-common [monmaptool]=ceph-base [ceph-mon]=ceph-mon
        [ceph-mgr]=ceph-mgr [ceph-osd]=ceph-osd
    )
    for b in ceph ceph-authtool ceph-conf monmaptool ceph-mon ceph-mgr ceph-osd; do
        if ! command -v "$b" >/dev/null 2>&1; then
            missing+=("$b")
            pkgs+=("${pkg_of[$b]}")
        fi
    done
    if ((${#missing[@]})); then
        log "missing ceph binaries: ${missing[*]}"
        log "install the Debian packages: apt-get install -y ceph-mon ceph-mgr ceph-osd ceph-common"
        log "(the missing ones come from: $(printf '%s\n' "${pkgs[@]}" | sort -u | paste -sd ' ' -))"
        exit 2
    fi
}

# python3 used for port probing; prefer the system one (the ceph CLI needs it).
python() {
    if [[ -x /usr/bin/python3 ]]; then
        /usr/bin/python3 "$@"
    elif command -v python3 >/dev/null 2>&1; then
        python3 "$@"
    else
        return 127
    fi
}

# port_free PORT: true if nothing listens on / holds 127.0.0.1:PORT.
port_free() {
    local port=$1 rc=0
    python - "$port" <<'EOF' 2>/dev/null || rc=$?
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
EOF
    if ((rc == 127)); then
        # No python: fall back to a connect probe (refused => free).
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 1
        fi
        return 0
    fi
    return "$rc"
}

# pick_ports: prints two consecutive free ports (v2, v1) below the kernel's
# ephemeral range and outside ceph's default 6800-7300 daemon range.
pick_ports() {
    local i p
    for ((i = 0; i < 200; i++)); do
        p=$((10000 + (RANDOM * 32768 + RANDOM) % 22000))
        if port_free "$p" && port_free "$((p + 1))"; then
            echo "$p $((p + 1))"
            return 0
        fi
    done
    die "could not find a free port pair on 127.0.0.1"
}

# Absolute, normalised directory path (DIR need not exist yet).
abs_dir() {
    local d=$1
    [[ -n $d ]] || usage
    [[ $d == /* ]] || d="$PWD/$d"
    # strip trailing slashes (but keep "/")
    while [[ $d == */ && $d != / ]]; do d=${d%/}; done
    printf '%s\n' "$d"
}

cephc() { ceph -c "$CONF" --connect-timeout 10 "$@"; }

# mgr_module_path_line builds DIR/mgr-modules (links to the installed
# modules and to those of CEPH_CLUSTER_MGR_MODULES) and prints the
# "mgr module path" setting for it; nothing without extra modules.
mgr_module_path_line() {
    [[ -n ${CEPH_CLUSTER_MGR_MODULES:-} ]] || return 0
    local base=/usr/share/ceph/mgr farm="$DIR/mgr-modules" entry extra
    mkdir -p "$farm"
    for entry in "$base"/*; do
        ln -sfn "$entry" "$farm/${entry##*/}"
    done
    local IFS=:
    for extra in $CEPH_CLUSTER_MGR_MODULES; do
        for entry in "$(abs_dir "$extra")"/*/; do
            entry=${entry%/}
            ln -sfn "$entry" "$farm/${entry##*/}"
        done
    done
    echo "mgr module path = $farm"
}

write_conf() {
    local fsid=$1 p2=$2 p1=$3
    cat >"$CONF" <<EOF
# generated by $PROG - throwaway test cluster, do not use for real data
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$p2,v1:127.0.0.1:$p1]
mon initial members = $MON_ID
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
keyring = $DIR/keyring
run dir = $DIR/run
crash dir = $DIR/crash
mon cluster log file = $DIR/log/\$cluster.log
ms bind ipv4 = true
ms bind ipv6 = false
public network = 127.0.0.0/8
osd pool default size = 1
osd pool default min size = 1
osd crush chooseleaf type = 0
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
# commit cluster map changes quickly (default 1 s): faster OSD boot
paxos propose interval = 0.1

[mon]
admin socket = $DIR/run/\$cluster-\$name.asok
pid file = $DIR/run/\$cluster-\$name.pid
log file = $DIR/log/\$cluster-\$name.log
mon data = $DIR/mon.\$id
# fail fast (3 x 1 s) if the mon port was taken; start retries another port
ms bind retry delay = 1
keyring = $DIR/mon.\$id/keyring

[mgr]
admin socket = $DIR/run/\$cluster-\$name.asok
pid file = $DIR/run/\$cluster-\$name.pid
log file = $DIR/log/\$cluster-\$name.log
mgr data = $DIR/mgr.\$id
keyring = $DIR/mgr.\$id/keyring
$(mgr_module_path_line)

[osd]
admin socket = $DIR/run/\$cluster-\$name.asok
pid file = $DIR/run/\$cluster-\$name.pid
log file = $DIR/log/\$cluster-\$name.log
osd data = $DIR/osd.\$id
keyring = $DIR/osd.\$id/keyring
osd objectstore = memstore
memstore device bytes = 1073741824
osd journal = $DIR/osd.\$id/journal
osd journal size = 100

[mds]
admin socket = $DIR/run/\$cluster-\$name.asok
pid file = $DIR/run/\$cluster-\$name.pid
log file = $DIR/log/\$cluster-\$name.log
mds data = $DIR/mds.\$id
keyring = $DIR/mds.\$id/keyring
EOF
}

pidfile() { printf '%s/run/ceph-%s.pid\n' "$DIR" "$1"; }

daemon_pid() {
    local f
    f=$(pidfile "$1")
    [[ -s $f ]] || return 1
    local pid
    pid=$(<"$f")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    printf '%s\n' "$pid"
}

tail_log() {
    local f="$DIR/log/ceph-$1.log"
    if [[ -f $f ]]; then
        log "---- last lines of $f ----"
        tail -n 25 "$f" >&2 || true
    fi
    if [[ -f "$DIR/log/$1.stderr" && -s "$DIR/log/$1.stderr" ]]; then
        log "---- $DIR/log/$1.stderr ----"
        tail -n 25 "$DIR/log/$1.stderr" >&2 || true
    fi
}

# our_pid NAME: print the pid of our running daemon NAME (checks that the
# process really is a ceph daemon started with our ceph.conf); removes a
# stale pid file.
our_pid() {
    local name=$1 pid f
    f=$(pidfile "$name")
    pid=$(daemon_pid "$name") || {
        rm -f "$f"
        return 1
    }
    if ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$CONF"; then
        log "pid $pid in $f is not our $name; not killing it"
        rm -f "$f"
        return 1
    fi
    printf '%s\n' "$pid"
}

# stop_daemons NAME...: SIGTERM all of them at once, wait up to
# STOP_GRACE tenths of a second, then SIGKILL the survivors. Idempotent.
STOP_GRACE=${CEPH_CLUSTER_STOP_GRACE:-50}
stop_daemons() {
    local name pid i alive
    local -a pids=()
    for name in "$@"; do
        if pid=$(our_pid "$name"); then
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
    done
    ((${#pids[@]})) || return 0
    for ((i = 0; i < STOP_GRACE; i++)); do
        alive=0
        for pid in "${pids[@]}"; do
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        ((alive)) || break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            log "pid $pid did not exit after SIGTERM; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    for ((i = 0; i < 50; i++)); do
        alive=0
        for pid in "${pids[@]}"; do
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        ((alive)) || break
        sleep 0.1
    done
    for name in "$@"; do
        rm -f "$(pidfile "$name")"
    done
}

# run_daemon NAME BINARY ARGS...: start a (self-daemonizing) ceph daemon.
run_daemon() {
    local name=$1 bin=$2
    shift 2
    if daemon_pid "$name" >/dev/null; then
        log "$name already running"
        return 0
    fi
    if ! "$bin" -c "$CONF" "$@" >"$DIR/log/$name.stderr" 2>&1; then
        log "failed to start $name"
        tail_log "$name"
        return 1
    fi
}

# The mgr imports every python module under /usr/share/ceph/mgr on each
# (re)start (also after "ceph mgr module enable/disable", which respawns it).
# Those sources ship without byte-code; by default nothing is written next to
# them (PYTHONDONTWRITEBYTECODE=1 keeps us inside DIR). Setting
# CEPH_CLUSTER_PYCACHE=/some/dir caches all byte-code there instead
# (PYTHONPYCACHEPREFIX): the first start is slower, later (re)starts of any
# cluster sharing that directory are much faster.
start_mgr() {
    local id=${1:-$MGR_ID}
    local -a envs=(PYTHONDONTWRITEBYTECODE=1)
    if [[ -n ${CEPH_CLUSTER_PYCACHE:-} ]]; then
        local cache
        cache=$(abs_dir "$CEPH_CLUSTER_PYCACHE")
        mkdir -p "$cache"
        envs=(-u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX="$cache")
    fi
    env "${envs[@]}" ceph-mgr -c "$CONF" -i "$id" \
        >"$DIR/log/mgr.$id.stderr" 2>&1 || {
        log "failed to start mgr.$id"
        tail_log "mgr.$id"
        return 1
    }
}

start_mon() {
    run_daemon "mon.$MON_ID" ceph-mon -i "$MON_ID"
}

# wait_for DESC CMD...: retry CMD until it succeeds or the deadline passes.
wait_for() {
    local desc=$1
    shift
    while ! "$@" >/dev/null 2>&1; do
        if (($(date +%s) >= DEADLINE)); then
            log "timed out after ${TIMEOUT}s waiting for $desc"
            return 1
        fi
        sleep 0.2
    done
}

# cluster_ready: one status call; true when the mon answers, 1 OSD is up and
# in, and the mgr is available. Sets NOT_READY to the daemon holding things up.
NOT_READY=mon.$MON_ID
cluster_ready() {
    local js
    NOT_READY=mon.$MON_ID
    js=$(cephc status -f json 2>/dev/null) || return 1
    NOT_READY=$(python -c '
import json, sys
s = json.loads(sys.argv[1])
om = s.get("osdmap", {})
om = om.get("osdmap", om)   # octopus nests it, pacific does not
if not (om.get("num_up_osds") == 1 and om.get("num_in_osds") == 1):
    print(sys.argv[2])
elif s.get("mgrmap", {}).get("available") is not True:
    print(sys.argv[3])
elif s.get("mgrmap", {}).get("num_standbys", 0) < int(sys.argv[4]):
    print("the standby mgrs")
' "$js" "osd.$OSD_ID" "mgr.$MGR_ID" "${#STANDBY_MGRS[@]}") || return 1
    [[ -z $NOT_READY ]]
}

do_start() {
    check_binaries
    T0=$(now)
    if [[ -e $DIR ]] && [[ -n $(ls -A "$DIR" 2>/dev/null) ]]; then
        die "$DIR exists and is not empty; use '$PROG destroy $DIR' first"
    fi
    mkdir -p "$DIR"/{run,log,crash,mon."$MON_ID",osd."$OSD_ID"}
    printf '%s\n' "${STANDBY_MGRS[*]}" >"$DIR/standby-mgrs"
    local m
    for m in "${MGR_IDS[@]}"; do
        mkdir -p "$DIR/mgr.$m"
    done
    # On any failure from here on, do not leave half a cluster running.
    trap start_failed EXIT
    local fsid osd_uuid p2 p1 attempt
    fsid=$(</proc/sys/kernel/random/uuid)
    osd_uuid=$(</proc/sys/kernel/random/uuid)

    # Keyrings: client.admin (DIR/keyring), mon., mgr.x, osd.0, bootstrap-osd.
    ceph-authtool --create-keyring "$DIR/mon.keyring" --gen-key -n mon. \
        --cap mon 'allow *' >/dev/null
    ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n client.admin \
        --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' \
        --cap mgr 'allow *' >/dev/null
    for m in "${MGR_IDS[@]}"; do
        ceph-authtool --create-keyring "$DIR/mgr.$m/keyring" --gen-key \
            -n "mgr.$m" --cap mon 'allow profile mgr' --cap osd 'allow *' \
            --cap mds 'allow *' >/dev/null
    done
    ceph-authtool --create-keyring "$DIR/osd.$OSD_ID/keyring" --gen-key \
        -n "osd.$OSD_ID" --cap mon 'allow profile osd' --cap mgr 'allow profile osd' \
        --cap osd 'allow *' >/dev/null
    ceph-authtool --create-keyring "$DIR/bootstrap-osd.keyring" --gen-key \
        -n client.bootstrap-osd --cap mon 'profile bootstrap-osd' \
        --cap mgr 'allow r' >/dev/null
    # The mon's keyring seeds the auth database with every key above.
    local k
    local -a keyrings=("$DIR/keyring")
    for m in "${MGR_IDS[@]}"; do
        keyrings+=("$DIR/mgr.$m/keyring")
    done
    for k in "${keyrings[@]}" "$DIR/osd.$OSD_ID/keyring" "$DIR/bootstrap-osd.keyring"; do
        ceph-authtool "$DIR/mon.keyring" --import-keyring "$k" >/dev/null
    done
    chmod 600 "$DIR"/*keyring "$DIR"/*/keyring

    vlog "keyrings created"
    # Monitor: pick a port, mkfs, start; retry with another port if the bind
    # races with someone else.
    for attempt in 1 2 3; do
        read -r p2 p1 < <(pick_ports)
        write_conf "$fsid" "$p2" "$p1"
        # ceph-mon --mkfs refuses (yet exits 0) if the data dir is not empty
        rm -rf "$DIR/monmap" "${DIR:?}/mon.$MON_ID"
        mkdir "$DIR/mon.$MON_ID"
        monmaptool --create --clobber --fsid "$fsid" \
            --addv "$MON_ID" "[v2:127.0.0.1:$p2,v1:127.0.0.1:$p1]" \
            "$DIR/monmap" >/dev/null
        if ! ceph-mon -c "$CONF" --mkfs -i "$MON_ID" --monmap "$DIR/monmap" \
            --keyring "$DIR/mon.keyring" >"$DIR/log/mon.$MON_ID.mkfs" 2>&1 ||
            [[ ! -d "$DIR/mon.$MON_ID/store.db" ]]; then
            cat "$DIR/log/mon.$MON_ID.mkfs" >&2
            die "ceph-mon --mkfs failed"
        fi
        if start_mon; then
            break
        fi
        ((attempt < 3)) || die "could not start ceph-mon"
        log "retrying with another port"
    done

    vlog "mon started"
    DEADLINE=$(($(date +%s) + TIMEOUT))
    # Register the OSD while the mgr starts (the key already exists).
    start_mgr || die "could not start ceph-mgr"
    vlog "mgr started"
    # Register osd.N in the osdmap (its key already exists) while its
    # object store is created.
    local osd_new_pid
    cephc osd new "$osd_uuid" "$OSD_ID" >"$DIR/log/osd-new.out" 2>&1 &
    osd_new_pid=$!
    if ! ceph-osd -c "$CONF" -i "$OSD_ID" --mkfs --osd-uuid "$osd_uuid" \
        >"$DIR/log/osd.$OSD_ID.mkfs" 2>&1; then
        cat "$DIR/log/osd.$OSD_ID.mkfs" >&2
        tail_log "osd.$OSD_ID"
        die "ceph-osd --mkfs failed"
    fi
    if ! wait "$osd_new_pid"; then
        cat "$DIR/log/osd-new.out" >&2
        tail_log "mon.$MON_ID"
        die "'ceph osd new' failed (is the mon up?)"
    fi
    vlog "osd.$OSD_ID created"
    run_daemon "osd.$OSD_ID" ceph-osd -i "$OSD_ID" || die "could not start ceph-osd"
    for m in "${STANDBY_MGRS[@]}"; do
        start_mgr "$m" || die "could not start ceph-mgr $m"
    done

    vlog "osd started"
    if ! wait_for "mon, mgr and osd to come up" cluster_ready; then
        local d
        for d in "${DAEMONS[@]}"; do
            daemon_pid "$d" >/dev/null || log "$d is not running"
        done
        if [[ $NOT_READY != "mon.$MON_ID" ]]; then
            log "---- ceph -s ----"
            cephc -s >&2 2>&1 || true
        fi
        tail_log "$NOT_READY"
        die "cluster in $DIR did not become ready: waiting for $NOT_READY"
    fi
    trap - EXIT
    log "cluster ready in $(elapsed "$T0")s (mon at v2:127.0.0.1:$p2, v1:127.0.0.1:$p1)"
    print_env
}

# do_start_mds: a file system "cephfs" on two new pools, and mds.a serving
# it; returns once the MDS is up:active. Safe to run again.
do_start_mds() {
    local d=$DIR/mds.$MDS_ID
    T0=$(now)
    DEADLINE=$(($(date +%s) + TIMEOUT))
    mkdir -p "$d"
    if [[ ! -s $d/keyring ]]; then
        cephc auth get-or-create "mds.$MDS_ID" mon 'allow profile mds' osd 'allow rwx' \
            mds 'allow *' mgr 'allow profile mds' >"$d/keyring.new" ||
            die "could not create the key of mds.$MDS_ID"
        chmod 600 "$d/keyring.new"
        mv "$d/keyring.new" "$d/keyring"
    fi
    if ! cephc fs ls -f json | grep -q '"name": *"cephfs"'; then
        cephc osd pool create cephfs.meta 8 >/dev/null 2>&1 || die "could not create pool cephfs.meta"
        cephc osd pool create cephfs.data 8 >/dev/null 2>&1 || die "could not create pool cephfs.data"
        cephc fs new cephfs cephfs.meta cephfs.data >/dev/null 2>&1 || die "ceph fs new failed"
    fi
    # --keyring: CEPH_KEYRING (the admin's, often exported) would win over
    # the [mds] setting.
    run_daemon "mds.$MDS_ID" ceph-mds -i "$MDS_ID" --keyring "$d/keyring" || die "could not start ceph-mds"
    wait_for "mds.$MDS_ID to become active" mds_active || {
        tail_log "mds.$MDS_ID"
        die "mds.$MDS_ID did not become active"
    }
    log "mds.$MDS_ID active in $(elapsed "$T0")s"
}

mds_active() { cephc fs status cephfs -f json 2>/dev/null | grep -q '"state": *"active"'; }

# EXIT trap of do_start: stop whatever was started, keep DIR for the logs.
start_failed() {
    local rc=$?
    trap - EXIT
    log "start failed; stopping the daemons (logs are kept in $DIR/log)"
    do_stop
    exit "$rc"
}

print_env() {
    printf 'export CEPH_CONF=%q\n' "$CONF"
    printf 'export CEPH_KEYRING=%q\n' "$DIR/keyring"
}

# stray_pids prints the pids of ceph daemons started with this cluster's
# configuration that no pid file names any more (a mgr respawning itself
# after a module was enabled rewrites its pid file; a stop in that window
# would miss it). CEPH_CLUSTER_PROC replaces /proc (for tests).
stray_pids() {
    local f pid cmd proc=${CEPH_CLUSTER_PROC:-/proc}
    for f in "$proc"/[0-9]*/cmdline; do
        pid=${f#"$proc"/}
        pid=${pid%/cmdline}
        [[ $pid == "$$" ]] && continue
        # Processes come and go while we look: silence the redirection's
        # own error too (2>/dev/null before <"$f").
        cmd=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
        case $cmd in
        "ceph-mon -c $CONF "* | "ceph-mgr -c $CONF "* | "ceph-osd -c $CONF "* | "ceph-mds -c $CONF "*) printf '%s\n' "$pid" ;;
        esac
    done
}

do_stop() {
    [[ -d $DIR ]] || return 0
    # osd and mgr first: on SIGTERM the OSD asks the mon to mark it down and
    # waits up to 5 s for the answer, so the mon must still be there.
    stop_daemons "${MDS_IDS[@]/#/mds.}" "osd.$OSD_ID" "${MGR_IDS[@]/#/mgr.}"
    stop_daemons "mon.$MON_ID"
    local -a strays
    mapfile -t strays < <(stray_pids)
    if ((${#strays[@]})); then
        log "stopping stray daemons of this cluster: ${strays[*]}"
        kill -KILL "${strays[@]}" 2>/dev/null || true
    fi
}

main() {
    (($# == 2)) || usage
    local cmd=$1
    DIR=$(abs_dir "$2")
    CONF="$DIR/ceph.conf"
    load_mgr_ids
    case $cmd in
    start) do_start ;;
    stop) do_stop ;;
    destroy)
        do_stop
        rm -rf -- "${DIR:?}"
        ;;
    status)
        [[ -f $CONF ]] || die "no cluster in $DIR"
        check_binaries
        cephc -s
        ;;
    kill-mon)
        [[ -d $DIR ]] || return 0
        stop_daemons "mon.$MON_ID"
        ;;
    start-mon)
        [[ -f $CONF ]] || die "no cluster in $DIR"
        check_binaries
        start_mon || die "could not start ceph-mon"
        ;;
    start-mds)
        [[ -f $CONF ]] || die "no cluster in $DIR"
        check_binaries
        command -v ceph-mds >/dev/null || die "ceph-mds is not installed (apt-get install -y ceph-mds)"
        do_start_mds
        ;;
    env)
        [[ -f $CONF ]] || die "no cluster in $DIR"
        print_env
        ;;
    *) usage ;;
    esac
}

main "$@"
