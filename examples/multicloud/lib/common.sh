# shellcheck shell=bash
# shellcheck disable=SC2034 # the settings are used by demo.sh and the other lib files
# Settings, names, addresses and small helpers shared by demo.sh and lib/*.sh.
#
# Everything the demo creates is named from two settings, so parallel runs (tests) only
# need their own values:
#   CLUSTERMESH_DEMO_PREFIX  prefix of every network namespace and WireGuard interface
#                            (default cmdemo; 1-10 of [a-z0-9], starting with a letter)
#   CLUSTERMESH_DEMO_DIR     the state directory: configs, certificates, logs, PIDs
#                            (default /tmp/clustermesh-demo)
# and the binaries come from
#   CLUSTERMESH_BIN_DIR      clustermesh-apiserver, node-agent and ctl (default
#                            target/release of the repository, else target/debug)
#   CLUSTERMESH_CTL          ctl, if it is not in CLUSTERMESH_BIN_DIR
# and one placement setting, for tests that kill the backend's node without its cloud's
# apiserver (which runs on node 1):
#   CLUSTERMESH_DEMO_ECHO_NODE  the node (1 or 2) of every cloud's echo pod (default 1)

PREFIX=${CLUSTERMESH_DEMO_PREFIX:-cmdemo}
STATE=${CLUSTERMESH_DEMO_DIR:-/tmp/clustermesh-demo}

# The marker that makes a directory ours: `down` deletes only a state dir that has it.
MARKER=.clustermesh-demo

CLOUDS=(aws gcp onprem)
NODES=(1 2)

# The underlay: one bridge in the hub namespace, no route anywhere else.
UNDERLAY_NET=172.30.0
UNDERLAY_BITS=24
HUB_IP=${UNDERLAY_NET}.1

API_PORT=7443           # apiserver gRPC (mTLS): agents, peers, ctl
API_METRICS_PORT=9090   # apiserver /metrics /healthz /readyz
AGENT_METRICS_PORT=9962 # agent /metrics /healthz /readyz
WG_PORT=51820
# WireGuard persistent keepalive (s). Turning it on makes each tunnel handshake at once,
# so tunnels are up (and `ctl status` healthy) right after connect, not at first packet.
WG_KEEPALIVE=25
# How long a silent peer apiserver counts as up (`run --peer-timeout`, default 3s, for
# WAN links). The underlay here has no latency, so a cut cluster is dropped in 1 s.
PEER_TIMEOUT=1s

ECHO_NODE=${CLUSTERMESH_DEMO_ECHO_NODE:-1}

VIP=10.96.0.10
# The ClusterIP range the VIP is taken from.
SERVICE_CIDR=10.96.0.0/16
VIP_PORT=80
ECHO_PORT=8080

# Deadlines (seconds) for the waits; every wait polls a condition until its deadline.
WAIT_ECHO=${CLUSTERMESH_DEMO_WAIT_ECHO:-20}
WAIT_API=${CLUSTERMESH_DEMO_WAIT_API:-60}
WAIT_AGENT=${CLUSTERMESH_DEMO_WAIT_AGENT:-60}
WAIT_MESH=${CLUSTERMESH_DEMO_WAIT_MESH:-60}
WAIT_STOP=${CLUSTERMESH_DEMO_WAIT_STOP:-10}
POLL=0.1

# --- names and addresses ------------------------------------------------------------

cloud_id() {
	case $1 in
	aws) echo 1 ;;
	gcp) echo 2 ;;
	onprem) echo 3 ;;
	*) die "unknown cloud '$1' (expected one of: ${CLOUDS[*]})" ;;
	esac
}

hub_ns() { echo "${PREFIX}-hub"; }
node_ns() { echo "${PREFIX}-$1$2"; }           # cloud node -> cmdemo-aws1
pod_ns() { echo "${PREFIX}-$1-$2"; }           # cloud pod  -> cmdemo-aws-echo
node_name() { echo "$1-node$2"; }              # the Kubernetes node name
wg_iface() { echo "${PREFIX}wg$(cloud_id "$1")$2"; } # cmdemowg11: unique host-wide
node_ip() { echo "${UNDERLAY_NET}.$(($(cloud_id "$1") * 10 + $2))"; }
cluster_pod_cidr() { echo "10.$(cloud_id "$1").0.0/16"; }
node_pod_cidr() { echo "10.$(cloud_id "$1").$2.0/24"; }
node_pod_gw() { echo "10.$(cloud_id "$1").$2.1"; }
echo_ip() { echo "10.$(cloud_id "$1").${ECHO_NODE}.10"; } # the echo pod, on node ECHO_NODE
client_ip() { echo "10.$(cloud_id "$1").2.20"; } # the client pod, on node 2
api_addr() { echo "$(node_ip "$1" 1):${API_PORT}"; }
api_metrics_addr() { echo "$(node_ip "$1" 1):${API_METRICS_PORT}"; }
agent_metrics_addr() { echo "$(node_ip "$1" "$2"):${AGENT_METRICS_PORT}"; }

# Every namespace of the demo, hub last (nodes hold the veths into it).
all_namespaces() {
	local cloud n
	for cloud in "${CLOUDS[@]}"; do
		pod_ns "$cloud" echo
		pod_ns "$cloud" client
		for n in "${NODES[@]}"; do node_ns "$cloud" "$n"; done
	done
	hub_ns
}

# --- output -------------------------------------------------------------------------

if [[ -t 1 ]]; then
	BOLD=$'\e[1m' DIM=$'\e[2m' RED=$'\e[31m' GREEN=$'\e[32m' RESET=$'\e[0m'
else
	BOLD='' DIM='' RED='' GREEN='' RESET=''
fi

say() { printf '%s==>%s %s\n' "$BOLD" "$RESET" "$*"; }
info() { printf '    %s\n' "$*"; }
ok() { printf '    %s✓%s %s\n' "$GREEN" "$RESET" "$*"; }
warn() { printf '%swarning:%s %s\n' "$RED" "$RESET" "$*" >&2; }
die() {
	printf '%serror:%s %s\n' "$RED" "$RESET" "$*" >&2
	exit 1
}
section() {
	local line
	line=$(printf '%*s' 72 '' | tr ' ' '=')
	printf '\n%s%s\n  %s\n%s%s\n' "$BOLD" "$line" "$*" "$line" "$RESET"
}

now_ms() { date +%s%3N; }
# Seconds since a now_ms value, with one decimal.
elapsed_since() {
	local ms=$(($(now_ms) - $1))
	printf '%d.%d s' $((ms / 1000)) $((ms % 1000 / 100))
}

# --- checks -------------------------------------------------------------------------

validate_settings() {
	[[ $PREFIX =~ ^[a-z][a-z0-9]{0,9}$ ]] ||
		die "CLUSTERMESH_DEMO_PREFIX='$PREFIX': use 1 to 10 characters of [a-z0-9], starting with a letter (it prefixes interface names, at most 15 characters)"
	[[ $STATE == /* && $STATE != / ]] ||
		die "CLUSTERMESH_DEMO_DIR='$STATE' must be an absolute path other than /"
	[[ $ECHO_NODE == 1 || $ECHO_NODE == 2 ]] ||
		die "CLUSTERMESH_DEMO_ECHO_NODE='$ECHO_NODE': the echo pod's node is 1 or 2"
}

require_root() {
	[[ $(id -u) -eq 0 ]] ||
		die "demo.sh $1 must run as root: it creates network namespaces, veths, WireGuard devices and nftables rules (all inside its own namespaces). Try: sudo $0 $1"
}

DEBIAN_PACKAGES=(iproute2 nftables wireguard-go wireguard-tools python3 curl)

# Installs the missing Debian packages (quiet and quick when all are present).
ensure_packages() {
	local pkg missing=()
	for pkg in "${DEBIAN_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$pkg")
	done
	((${#missing[@]} == 0)) && return 0
	command -v apt-get >/dev/null ||
		die "missing packages (${missing[*]}) and no apt-get to install them with"
	say "installing missing Debian packages: ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The stdlib python the echo pods run: Debian's, not whatever shim is first on PATH.
python_bin() {
	if [[ -x /usr/bin/python3 ]]; then echo /usr/bin/python3; else command -v python3; fi
}

# --- binaries -----------------------------------------------------------------------

# Sets BIN_DIR (and says which): $CLUSTERMESH_BIN_DIR, else target/release when it has
# both daemons, else target/debug.
find_binaries() {
	local release=$REPO/target/release debug=$REPO/target/debug
	if [[ -n ${CLUSTERMESH_BIN_DIR:-} ]]; then
		BIN_DIR=$CLUSTERMESH_BIN_DIR
		BIN_WHY="from CLUSTERMESH_BIN_DIR"
	elif [[ -x $release/clustermesh-apiserver && -x $release/node-agent ]]; then
		BIN_DIR=$release
		BIN_WHY="release build"
	elif [[ -x $debug/clustermesh-apiserver && -x $debug/node-agent ]]; then
		BIN_DIR=$debug
		BIN_WHY="debug build: no release binaries in $release"
	else
		die "no clustermesh-apiserver and node-agent in $release or $debug: run \`make demo\`, or \`cargo build --release -p clustermesh-apiserver -p node-agent -p ctl\`, or set CLUSTERMESH_BIN_DIR"
	fi
	local bin
	for bin in clustermesh-apiserver node-agent; do
		[[ -x $BIN_DIR/$bin ]] || die "$BIN_DIR/$bin is missing or not executable"
	done
	APISERVER_BIN=$BIN_DIR/clustermesh-apiserver
	AGENT_BIN=$BIN_DIR/node-agent
}

# Sets CTL_BIN, or fails saying where it looked.
find_ctl() {
	if [[ -n ${CLUSTERMESH_CTL:-} ]]; then
		CTL_BIN=$CLUSTERMESH_CTL
	else
		[[ -n ${BIN_DIR:-} ]] || find_binaries
		CTL_BIN=$BIN_DIR/ctl
	fi
	[[ -x $CTL_BIN ]] ||
		die "ctl not found at $CTL_BIN: build it (\`cargo build --release -p ctl\`, which \`make demo\` does) or point CLUSTERMESH_CTL at it"
}

# --- waiting ------------------------------------------------------------------------

# wait_until SECONDS WHAT CMD...: polls CMD every $POLL s until it succeeds; fails after
# SECONDS. WAIT_HOOK, if set, names a function run on every round (it may die).
wait_until() {
	local seconds=$1 what=$2
	shift 2
	local deadline=$(($(now_ms) + seconds * 1000))
	until "$@"; do
		if [[ -n ${WAIT_HOOK:-} ]]; then "$WAIT_HOOK"; fi
		(($(now_ms) < deadline)) || die "$what: not true within ${seconds} s"
		sleep "$POLL"
	done
}

# http_ok NS URL: a 200 answer to GET URL from inside NS.
http_ok() {
	ip netns exec "$1" curl -sf -o /dev/null --max-time 1 "$2" 2>/dev/null
}

# http_body NS URL: the body of GET URL from inside NS (fails on non-2xx).
http_body() {
	ip netns exec "$1" curl -sf --max-time 2 "$2" 2>/dev/null
}

ns_exists() { [[ -e /var/run/netns/$1 ]]; }
