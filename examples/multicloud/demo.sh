#!/usr/bin/env bash
# clustermesh multicloud demo: three clouds (aws, gcp, onprem), two nodes each, on one
# Linux host, built from network namespaces. See README.md beside this file.
#
#   demo.sh [tour]                  up, connect, status, services, VIP from every cloud, down
#   demo.sh up                      build the namespaces, start apiservers, agents, pods
#   demo.sh connect                 connect every pair of clouds with `ctl connect --wait`
#   demo.sh down                    stop and remove everything `up` made (idempotent)
#   demo.sh exec CLOUD POD -- CMD   run CMD in a pod (echo, client) or node (node1, node2)
#   demo.sh ctl ARGS...             run ctl against the demo (inside the hub namespace)
#   demo.sh env                     the CLUSTERMESH_CONFIG export line, and how to use ctl
#   demo.sh restart-apiserver CLOUD [--kill]   stop one apiserver (SIGTERM, or SIGKILL), start it again
#
# Runs as root. Settings: CLUSTERMESH_DEMO_PREFIX, CLUSTERMESH_DEMO_DIR,
# CLUSTERMESH_BIN_DIR, CLUSTERMESH_CTL, CLUSTERMESH_DEMO_ECHO_NODE (see lib/common.sh).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SELF=$HERE/demo.sh

# shellcheck source=lib/common.sh
source "$HERE/lib/common.sh"
# shellcheck source=lib/processes.sh
source "$HERE/lib/processes.sh"
# shellcheck source=lib/topology.sh
source "$HERE/lib/topology.sh"
# shellcheck source=lib/manifests.sh
source "$HERE/lib/manifests.sh"

usage() {
	sed -n '5,12p' "$SELF" | sed 's/^# \{0,1\}//'
}

# --- state --------------------------------------------------------------------------

# The namespaces of ours that exist now.
existing_namespaces() {
	local ns
	while read -r ns; do
		if ns_exists "$ns"; then echo "$ns"; fi
	done < <(all_namespaces)
}

# Every long-lived process `up` records, in start order.
process_names() {
	local cloud n
	for cloud in "${CLOUDS[@]}"; do echo "echo-$cloud"; done
	for cloud in "${CLOUDS[@]}"; do echo "apiserver-$cloud"; done
	for cloud in "${CLOUDS[@]}"; do
		for n in "${NODES[@]}"; do echo "agent-$cloud$n"; done
	done
}

# Succeeds when a complete `up` is in place with every process running; dies when `up`
# completed but something has stopped since.
demo_is_up() {
	[[ -f $STATE/up.done ]] || return 1
	local name dead=()
	while read -r name; do
		recorded_pid "$name" >/dev/null || dead+=("$name")
	done < <(process_names)
	((${#dead[@]} == 0)) ||
		die "the demo is up but not running: ${dead[*]} (logs in $STATE/logs). Run \`$SELF down\`, then \`$SELF up\`."
}

# Reads a key of the state dir's marker file.
marker_get() {
	[[ -f $STATE/$MARKER ]] || return 0
	sed -n "s/^$1=//p" "$STATE/$MARKER" | head -n 1
}

# Refuses a state dir that exists and is not ours (`down` would never remove it).
foreign_state_dir() {
	if [[ -e $STATE && ! -f $STATE/$MARKER ]]; then
		die "CLUSTERMESH_DEMO_DIR=$STATE exists and is not a demo state dir (no $MARKER): choose a path that does not exist yet"
	fi
}

require_up() {
	[[ -f $STATE/up.done ]] || die "the demo is not up (no $STATE/up.done): run \`$SELF up\` first"
}

# --- up -----------------------------------------------------------------------------

init_clouds() {
	local cloud n log
	for cloud in "${CLOUDS[@]}"; do
		log=$STATE/logs/init-$cloud.log
		"$APISERVER_BIN" init \
			--cluster-name "$cloud" \
			--cluster-id "$(cloud_id "$cloud")" \
			--data-dir "$STATE/$cloud/data" \
			--advertise "$(api_addr "$cloud")" \
			--pod-cidr "$(cluster_pod_cidr "$cloud")" \
			--ctl-config "$STATE/ctl.yaml" >"$log" 2>&1 ||
			{
				cat "$log" >&2
				die "clustermesh-apiserver init for $cloud failed"
			}
		for n in "${NODES[@]}"; do
			mkdir -p "$STATE/$cloud/node$n"
			"$APISERVER_BIN" issue-cert \
				--data-dir "$STATE/$cloud/data" \
				--role agent \
				--name "$(node_name "$cloud" "$n")" \
				--out "$STATE/$cloud/node$n/certs" >>"$log" 2>&1 ||
				{
					cat "$log" >&2
					die "issue-cert for $(node_name "$cloud" "$n") failed"
				}
		done
		write_manifests "$cloud"
		ok "$cloud: cluster id $(cloud_id "$cloud"), CA, agent certificates, manifests in $STATE/$cloud"
	done
}

start_echo_pods() {
	local cloud python
	python=$(python_bin)
	for cloud in "${CLOUDS[@]}"; do
		spawn "echo-$cloud" "$(pod_ns "$cloud" echo)" "$python" "$HERE/echo.py" \
			--bind "$(echo_ip "$cloud")" --port "$ECHO_PORT" \
			--pod "echo-$cloud-1" --cloud "$cloud"
	done
	for cloud in "${CLOUDS[@]}"; do
		WAIT_HOOK="echo_hook_$cloud" wait_until "$WAIT_ECHO" "echo-$cloud answers on $(echo_ip "$cloud"):$ECHO_PORT" \
			echo_answers "$cloud"
		ok "echo-$cloud-1 answers on $(echo_ip "$cloud"):$ECHO_PORT"
	done
}
echo_answers() {
	[[ $(http_body "$(node_ns "$1" "$ECHO_NODE")" "http://$(echo_ip "$1"):$ECHO_PORT/") == "echo-$1-1 in $1" ]]
}
echo_hook_aws() { assert_running echo-aws; }
echo_hook_gcp() { assert_running echo-gcp; }
echo_hook_onprem() { assert_running echo-onprem; }

# spawn_apiserver CLOUD: the cloud's apiserver on its node 1 (`up`, `restart-apiserver`).
spawn_apiserver() {
	local cloud=$1
	spawn "apiserver-$cloud" "$(node_ns "$cloud" 1)" "$APISERVER_BIN" run \
		--data-dir "$STATE/$cloud/data" \
		--store raft \
		--source "manifests:$STATE/$cloud/manifests" \
		--listen "$(api_addr "$cloud")" \
		--metrics-listen "$(api_metrics_addr "$cloud")" \
		--peer-timeout "$PEER_TIMEOUT"
}

# wait_apiserver_ready CLOUD: its /readyz answers 200 (from the hub).
wait_apiserver_ready() {
	local cloud=$1
	WAIT_HOOK=apiservers_running wait_until "$WAIT_API" "apiserver $cloud /readyz" \
		http_ok "$(hub_ns)" "http://$(api_metrics_addr "$cloud")/readyz"
	ok "apiserver $cloud ready on $(api_addr "$cloud") (metrics $(api_metrics_addr "$cloud"))"
}

start_apiservers() {
	local cloud
	for cloud in "${CLOUDS[@]}"; do spawn_apiserver "$cloud"; done
	for cloud in "${CLOUDS[@]}"; do wait_apiserver_ready "$cloud"; done
}
apiservers_running() {
	local cloud
	for cloud in "${CLOUDS[@]}"; do assert_running "apiserver-$cloud"; done
}

start_agents() {
	local cloud n dir
	for cloud in "${CLOUDS[@]}"; do
		for n in "${NODES[@]}"; do
			dir=$STATE/$cloud/node$n
			spawn "agent-$cloud$n" "$(node_ns "$cloud" "$n")" "$AGENT_BIN" run \
				--node-name "$(node_name "$cloud" "$n")" \
				--apiserver "https://$(api_addr "$cloud")" \
				--ca "$dir/certs/ca.crt" \
				--cert "$dir/certs/tls.crt" \
				--key "$dir/certs/tls.key" \
				--state-dir "$dir/state" \
				--wireguard userspace \
				--wg-interface "$(wg_iface "$cloud" "$n")" \
				--wg-port "$WG_PORT" \
				--underlay-address "$(node_ip "$cloud" "$n")" \
				--keepalive "$WG_KEEPALIVE" \
				--metrics-listen "$(agent_metrics_addr "$cloud" "$n")"
		done
	done
	for cloud in "${CLOUDS[@]}"; do
		for n in "${NODES[@]}"; do
			WAIT_HOOK=everything_running wait_until "$WAIT_AGENT" "agent $(node_name "$cloud" "$n") /readyz" \
				http_ok "$(hub_ns)" "http://$(agent_metrics_addr "$cloud" "$n")/readyz"
			ok "agent $(node_name "$cloud" "$n") ready (WireGuard $(wg_iface "$cloud" "$n"), metrics $(agent_metrics_addr "$cloud" "$n"))"
		done
	done
}
everything_running() {
	local name
	while read -r name; do
		if [[ -f $STATE/pids/$name.pid ]]; then assert_running "$name"; fi
	done < <(process_names)
}

print_addresses() {
	local cloud
	printf '\n    %-7s %-14s %-14s %-13s %-13s %s\n' cloud node1 node2 "echo pod" "client pod" "apiserver"
	for cloud in "${CLOUDS[@]}"; do
		printf '    %-7s %-14s %-14s %-13s %-13s %s\n' "$cloud" "$(node_ip "$cloud" 1)" \
			"$(node_ip "$cloud" 2)" "$(echo_ip "$cloud")" "$(client_ip "$cloud")" \
			"$(api_addr "$cloud")"
	done
	printf '    global service default/echo: %s:%s -> pods :%s\n\n' "$VIP" "$VIP_PORT" "$ECHO_PORT"
}

up_failed() {
	local status=$?
	((status == 0)) && return 0
	printf '\n%sup failed.%s Logs: %s/logs. Clean up with: %s down\n' "$RED" "$RESET" "$STATE" "$SELF" >&2
	exit "$status"
}

cmd_up() {
	require_root up
	validate_settings
	if demo_is_up; then
		say "the demo is already up (prefix $PREFIX, state $STATE): nothing to do"
		return 0
	fi
	foreign_state_dir
	local left
	left=$(existing_namespaces | tr '\n' ' ')
	if [[ -e $STATE ]]; then left+="state dir $STATE"; fi
	if [[ -n $left ]]; then
		die "left over from an earlier or unfinished run: ${left}. Run \`$SELF down\` first."
	fi
	ensure_packages
	find_binaries
	local t0
	t0=$(now_ms)
	say "binaries: $BIN_DIR ($BIN_WHY)"
	export RUST_LOG=${RUST_LOG:-info}

	mkdir -p "$STATE"
	printf 'prefix=%s\nbin_dir=%s\n' "$PREFIX" "$BIN_DIR" >"$STATE/$MARKER"
	mkdir -p "$STATE/logs" "$STATE/pids"
	trap up_failed EXIT

	say "certificates and manifests for aws, gcp, onprem"
	init_clouds
	say "namespaces: hub $(hub_ns), 6 nodes, 6 pods; underlay ${UNDERLAY_NET}.0/${UNDERLAY_BITS}"
	build_topology
	ok "$(all_namespaces | wc -l) namespaces, CNI routes between the nodes of each cloud"
	say "echo pods"
	start_echo_pods
	say "apiservers (embedded raft store, single replica)"
	start_apiservers
	say "node agents (userspace WireGuard)"
	start_agents
	date -u +%FT%TZ >"$STATE/up.done"
	trap - EXIT
	print_addresses
	say "up in $(elapsed_since "$t0"). Next: $SELF connect   (or: $SELF exec aws client -- curl -s http://$VIP/)"
}

# --- connect ------------------------------------------------------------------------

run_ctl() {
	ip netns exec "$(hub_ns)" "$CTL_BIN" --config "$STATE/ctl.yaml" "$@"
}

# mesh_programmed CLOUD N: the agent's dataplane holds a tunnel, with a handshake, to
# both nodes of each other cloud, and the echo VIP's backends from all three clouds (its
# /metrics).
mesh_programmed() {
	local cloud=$1 n=$2 metrics other
	metrics=$(http_body "$(hub_ns)" "http://$(agent_metrics_addr "$cloud" "$n")/metrics") || return 1
	grep -qxF "clustermesh_agent_tunnel_peers_up $(((${#CLOUDS[@]} - 1) * ${#NODES[@]}))" <<<"$metrics" || return 1
	for other in "${CLOUDS[@]}"; do
		if [[ $other != "$cloud" ]]; then
			grep -qxF "clustermesh_agent_tunnel_peers{cluster=\"$other\"} ${#NODES[@]}" <<<"$metrics" || return 1
		fi
		grep -qxF "clustermesh_agent_backends{cluster=\"$other\"} 1" <<<"$metrics" || return 1
	done
}

cmd_connect() {
	require_root connect
	validate_settings
	require_up
	demo_is_up
	find_ctl
	local t0 a b i j cloud n
	t0=$(now_ms)
	for ((i = 0; i < ${#CLOUDS[@]}; i++)); do
		for ((j = i + 1; j < ${#CLOUDS[@]}; j++)); do
			a=${CLOUDS[i]} b=${CLOUDS[j]}
			say "ctl connect --context $a --destination-context $b --wait"
			run_ctl connect --context "$a" --destination-context "$b" --wait
		done
	done
	say "waiting for every agent to program the mesh (4 tunnels with a handshake, echo backends from 3 clouds)"
	for cloud in "${CLOUDS[@]}"; do
		for n in "${NODES[@]}"; do
			WAIT_HOOK=everything_running wait_until "$WAIT_MESH" "agent $(node_name "$cloud" "$n") programs the mesh" \
				mesh_programmed "$cloud" "$n"
			ok "$(node_name "$cloud" "$n")"
		done
	done
	say "connected in $(elapsed_since "$t0")"
}

# --- down ---------------------------------------------------------------------------

# stop_strays NS: processes still inside one of our namespaces (only this demo starts
# processes there: e.g. a command left running by `demo.sh exec`), by PID.
stop_strays() {
	local ns=$1 pid
	for pid in $(ip netns pids "$ns" 2>/dev/null); do
		warn "$ns: stopping PID $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null))"
		stop_pid "$pid" "PID $pid in $ns"
	done
}

cmd_down() {
	require_root down
	validate_settings
	local t0 recorded cloud n ns iface pid name pidfile out
	t0=$(now_ms)
	if [[ -e $STATE && ! -f $STATE/$MARKER ]]; then
		warn "$STATE exists but is not a demo state dir (no $MARKER): leaving it alone"
	fi
	recorded=$(marker_get prefix)
	if [[ -n $recorded && $recorded != "$PREFIX" ]]; then
		warn "$STATE was made with CLUSTERMESH_DEMO_PREFIX=$recorded: removing that one"
		PREFIX=$recorded
	fi
	AGENT_BIN=$(marker_get bin_dir)/node-agent
	if [[ ! -x $AGENT_BIN ]]; then
		AGENT_BIN=''
		if (find_binaries >/dev/null 2>&1); then
			find_binaries
		fi
	fi
	say "down: prefix $PREFIX, state $STATE"

	# 1. The agents, so none re-creates what the cleanup removes.
	for cloud in "${CLOUDS[@]}"; do
		for n in "${NODES[@]}"; do stop_recorded "agent-$cloud$n"; done
	done
	# 2. Each node's dataplane: `node-agent cleanup` deletes the WireGuard link, which
	#    ends its wireguard-go, and the nftables table; any wireguard-go left serving one
	#    of our interfaces is stopped by its PID.
	for cloud in "${CLOUDS[@]}"; do
		for n in "${NODES[@]}"; do
			ns=$(node_ns "$cloud" "$n")
			iface=$(wg_iface "$cloud" "$n")
			if ns_exists "$ns" && [[ -n $AGENT_BIN ]]; then
				if out=$(ip netns exec "$ns" "$AGENT_BIN" cleanup --wg-interface "$iface" 2>&1); then
					info "cleaned up $ns ($iface)"
				else
					warn "node-agent cleanup --wg-interface $iface in $ns failed${out:+: ${out##*$'\n'}}"
				fi
			fi
			for pid in $(wireguard_go_pids "$iface"); do
				stop_pid "$pid" "wireguard-go $iface"
				info "stopped wireguard-go $iface (PID $pid)"
			done
			if [[ -S /var/run/wireguard/$iface.sock ]]; then
				rm -f "/var/run/wireguard/$iface.sock"
			fi
		done
	done
	# 3. Everything else recorded: apiservers, echo pods.
	if [[ -d $STATE/pids ]]; then
		for pidfile in "$STATE"/pids/*.pid; do
			[[ -e $pidfile ]] || continue
			name=${pidfile##*/}
			stop_recorded "${name%.pid}"
		done
	fi
	# 4. The namespaces, hub last.
	while read -r ns; do
		stop_strays "$ns"
		if ip netns del "$ns"; then
			info "deleted namespace $ns"
		else
			warn "could not delete namespace $ns"
		fi
	done < <(existing_namespaces)
	# 5. The state dir, if it is ours.
	if [[ -f $STATE/$MARKER ]]; then
		rm -rf -- "$STATE"
		info "removed $STATE"
	elif [[ -d $STATE ]] && rmdir -- "$STATE" 2>/dev/null; then
		info "removed empty $STATE"
	fi
	say "down in $(elapsed_since "$t0")"
}

# --- exec, env, ctl -----------------------------------------------------------------

cmd_exec() {
	(($# >= 2)) || die "usage: $SELF exec CLOUD POD [--] CMD... (POD: echo, client, node1, node2)"
	require_root exec
	validate_settings
	local cloud=$1 pod=$2 ns
	shift 2
	cloud_id "$cloud" >/dev/null
	case $pod in
	echo | client) ns=$(pod_ns "$cloud" "$pod") ;;
	node1 | node2) ns=$(node_ns "$cloud" "${pod#node}") ;;
	*) die "unknown pod '$pod': expected echo, client, node1 or node2" ;;
	esac
	if [[ ${1:-} == -- ]]; then shift; fi
	(($# > 0)) || set -- bash
	ns_exists "$ns" || die "namespace $ns does not exist: is the demo up? (\`$SELF up\`)"
	exec ip netns exec "$ns" "$@"
}

cmd_env() {
	validate_settings
	cat <<EOF
export CLUSTERMESH_CONFIG=$STATE/ctl.yaml
# The apiservers listen on the demo's underlay (${UNDERLAY_NET}.0/${UNDERLAY_BITS}),
# reachable only from inside the hub namespace $(hub_ns). Run ctl through the demo:
#   $SELF ctl status
#   $SELF ctl services --context aws
# or by hand, with the config above:
#   ip netns exec $(hub_ns) ctl --config $STATE/ctl.yaml status
EOF
}

cmd_ctl() {
	require_root ctl
	validate_settings
	find_ctl
	ns_exists "$(hub_ns)" || die "namespace $(hub_ns) does not exist: is the demo up? (\`$SELF up\`)"
	exec ip netns exec "$(hub_ns)" "$CTL_BIN" --config "$STATE/ctl.yaml" "$@"
}

# --- restart-apiserver -------------------------------------------------------------

# restart-apiserver CLOUD [--kill]: stops CLOUD's apiserver by its recorded PID (SIGTERM
# and up to $WAIT_STOP s, or SIGKILL with --kill), starts it again with the same command
# line and data dir (so the raft store is kept), and waits for its /readyz. The old log
# is kept as logs/apiserver-CLOUD.log.N. Its peers and agents reconnect by themselves.
cmd_restart_apiserver() {
	(($# >= 1 && $# <= 2)) || die "usage: $SELF restart-apiserver CLOUD [--kill]"
	require_root restart-apiserver
	validate_settings
	require_up
	local cloud=$1 kill=${2:-} name pid log n=1
	cloud_id "$cloud" >/dev/null
	[[ -z $kill || $kill == --kill ]] || die "unknown option '$kill' (expected --kill)"
	name=apiserver-$cloud
	pid=$(recorded_pid "$name") || die "$name is not running (logs in $STATE/logs)"
	APISERVER_BIN=$(marker_get bin_dir)/clustermesh-apiserver
	[[ -x $APISERVER_BIN ]] || die "$APISERVER_BIN (recorded by \`up\`) is missing"
	export RUST_LOG=${RUST_LOG:-info}
	if [[ -n $kill ]]; then
		kill -KILL "$pid" 2>/dev/null || true
		wait_until "$WAIT_STOP" "$name (PID $pid) exits after SIGKILL" not_alive "$pid"
		info "killed $name (PID $pid)"
	else
		stop_pid "$pid" "$name"
		info "stopped $name (PID $pid)"
	fi
	rm -f "$STATE/pids/$name.pid"
	log=$STATE/logs/$name.log
	while [[ -e $log.$n ]]; do n=$((n + 1)); done
	if [[ -e $log ]]; then mv -f "$log" "$log.$n"; fi
	spawn_apiserver "$cloud"
	wait_apiserver_ready "$cloud"
}
not_alive() { ! pid_alive "$1"; }

# --- the tour -----------------------------------------------------------------------

TOUR_REQUESTS=6

# vip_round CLOUD: TOUR_REQUESTS requests to the echo VIP from CLOUD's client pod; prints
# each answer and which clouds answered. Fails if any request failed.
vip_round() {
	local cloud=$1 ns answer i failed=0 other
	local -A count=()
	ns=$(pod_ns "$cloud" client)
	say "from $cloud's client pod ($(client_ip "$cloud")): curl http://$VIP:$VIP_PORT/ x$TOUR_REQUESTS"
	for ((i = 1; i <= TOUR_REQUESTS; i++)); do
		if answer=$(http_body "$ns" "http://$VIP:$VIP_PORT/"); then
			info "$i: $answer"
			other=${answer##* in }
			count[$other]=$((${count[$other]:-0} + 1))
		else
			info "$i: ${RED}no answer${RESET}"
			failed=$((failed + 1))
		fi
	done
	local summary=''
	for other in "${CLOUDS[@]}"; do
		summary+=" $other ${count[$other]:-0},"
	done
	summary=${summary%,}
	if ((failed)); then summary+="; no answer $failed"; fi
	ok "answered by:$summary"
	((failed == 0))
}

tour_cleanup() {
	local status=$?
	trap - EXIT INT TERM
	section "down (the tour stopped early, status $status)"
	"$SELF" down || true
	exit "$status"
}

cmd_tour() {
	require_root tour
	validate_settings
	foreign_state_dir
	if [[ -e $STATE || -n $(existing_namespaces) ]]; then
		die "a demo is already up, or left over, at prefix $PREFIX / $STATE. The tour brings up and tears down its own: run \`$SELF down\` first (or use another CLUSTERMESH_DEMO_PREFIX and CLUSTERMESH_DEMO_DIR)."
	fi
	find_binaries
	find_ctl
	local t0 cloud failed=0
	t0=$(now_ms)
	trap tour_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	section "1. up: three clouds, two nodes each, in network namespaces"
	"$SELF" up
	section "2. connect every pair of clouds"
	"$SELF" connect
	section "3. ctl status --wait (until healthy: the agents' tunnel reports ride their heartbeats)"
	run_ctl status --wait --timeout 1m
	section "4. ctl services --context aws"
	run_ctl services --context aws
	section "5. the global service default/echo ($VIP:$VIP_PORT) from every cloud"
	for cloud in "${CLOUDS[@]}"; do
		vip_round "$cloud" || failed=1
	done

	section "6. ctl drill failover: aws's echo backends withdrawn under probe traffic from the other clouds"
	run_ctl drill failover --context aws --service default/echo --fault backends --svg "$STATE/drill.svg"
	ok "timeline: $STATE/drill.svg"

	section "7. down"
	trap - EXIT INT TERM
	"$SELF" down
	((failed == 0)) || die "some requests to the VIP were not answered (see above)"
	say "tour done in $(elapsed_since "$t0")"
}

# --- main ---------------------------------------------------------------------------

main() {
	local cmd=${1:-tour}
	if (($# > 0)); then shift; fi
	case $cmd in
	tour) cmd_tour "$@" ;;
	up) cmd_up "$@" ;;
	connect) cmd_connect "$@" ;;
	down) cmd_down "$@" ;;
	exec) cmd_exec "$@" ;;
	env) cmd_env "$@" ;;
	ctl) cmd_ctl "$@" ;;
	restart-apiserver) cmd_restart_apiserver "$@" ;;
	-h | --help | help) usage ;;
	*)
		usage >&2
		die "unknown command '$cmd'"
		;;
	esac
}

main "$@"
