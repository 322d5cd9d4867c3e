# shellcheck shell=bash
# Long-lived processes inside namespaces, recorded by PID in $STATE/pids and stopped by
# that PID only (after checking it still runs the program it was started as).

# spawn NAME NS PROGRAM ARGS...: starts PROGRAM inside NS, output in $STATE/logs/NAME.log,
# and records its PID in $STATE/pids/NAME.pid.
#
# `setsid` puts it in a session of its own, so neither a Ctrl-C at the terminal nor the
# end of this script reaches it. This script runs without job control, so the
# background child is not a process-group leader and setsid does not fork; `ip netns
# exec` execs too: $! is the program's own PID. spawn waits until it is (the execs take
# a few milliseconds) so the PID file is never wrong.
spawn() {
	local name=$1 ns=$2 program=$3
	shift 2
	local log=$STATE/logs/$name.log pidfile=$STATE/pids/$name.pid
	setsid ip netns exec "$ns" "$@" </dev/null >"$log" 2>&1 &
	local pid=$!
	printf '%s\t%s\n' "$pid" "$program" >"$pidfile"
	local deadline=$(($(now_ms) + 5000))
	until pid_runs "$pid" "$program"; do
		if ! pid_alive "$pid"; then
			tail -n 20 "$log" >&2 || true
			die "$name exited at once (log: $log)"
		fi
		(($(now_ms) < deadline)) || die "$name (PID $pid) did not become $program within 5 s"
		sleep 0.01
	done
}

# pid_alive PID: the process exists and is not a zombie.
pid_alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z && ${stat:0:1} != X ]]
}

# pid_runs PID PROGRAM: PID is alive and its argv[0] is PROGRAM (guards against a
# recycled PID).
pid_runs() {
	pid_alive "$1" || return 1
	local -a argv
	mapfile -d '' -t argv 2>/dev/null <"/proc/$1/cmdline" || return 1
	((${#argv[@]} > 0)) && [[ ${argv[0]} == "$2" ]]
}

# recorded_pid NAME: prints the PID of NAME if it still runs its program.
recorded_pid() {
	local pidfile=$STATE/pids/$1.pid pid program
	[[ -f $pidfile ]] || return 1
	IFS=$'\t' read -r pid program <"$pidfile" || return 1
	[[ $pid =~ ^[0-9]+$ ]] && pid_runs "$pid" "$program" || return 1
	echo "$pid"
}

# assert_running NAME: dies with the tail of NAME's log if it is no longer running.
assert_running() {
	recorded_pid "$1" >/dev/null && return 0
	local log=$STATE/logs/$1.log
	printf '%s--- last lines of %s ---%s\n' "$DIM" "$log" "$RESET" >&2
	tail -n 30 "$log" >&2 2>/dev/null || true
	die "$1 is not running (log: $log)"
}

# stop_pid PID WHAT: SIGTERM, up to $WAIT_STOP s to exit, then SIGKILL.
stop_pid() {
	local pid=$1 what=$2
	pid_alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	local deadline=$(($(now_ms) + WAIT_STOP * 1000))
	while pid_alive "$pid"; do
		if (($(now_ms) >= deadline)); then
			warn "$what (PID $pid) still runs ${WAIT_STOP} s after SIGTERM: SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			deadline=$(($(now_ms) + 5000))
			while pid_alive "$pid" && (($(now_ms) < deadline)); do sleep 0.02; done
			return 0
		fi
		sleep 0.02
	done
}

# stop_recorded NAME: stops NAME by its recorded PID (if it still runs its program) and
# forgets the PID file.
stop_recorded() {
	local pid
	if pid=$(recorded_pid "$1"); then
		stop_pid "$pid" "$1"
		info "stopped $1 (PID $pid)"
	fi
	rm -f "$STATE/pids/$1.pid"
}

# wireguard_go_pids IFACE: PIDs of wireguard-go processes serving IFACE, from
# /proc/*/cmdline: argv[0] ends in wireguard-go and one argument is exactly IFACE (the
# agent starts `wireguard-go -f IFACE`; IFACE carries our prefix).
wireguard_go_pids() {
	local iface=$1 dir pid arg
	local -a argv
	for dir in /proc/[0-9]*; do
		pid=${dir#/proc/}
		mapfile -d '' -t argv 2>/dev/null <"$dir/cmdline" || continue
		((${#argv[@]} > 1)) || continue
		[[ ${argv[0]} == *wireguard-go ]] || continue
		for arg in "${argv[@]:1}"; do
			if [[ $arg == "$iface" ]]; then
				echo "$pid"
				break
			fi
		done
	done
}
