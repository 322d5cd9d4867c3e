# shellcheck shell=bash
# The network: a hub namespace holding the underlay bridge, one namespace per node with
# its eth0 on that bridge, pods as namespaces behind point-to-point veths to their node
# (every pod packet is routed by its node, as with Calico). Every link is created
# inside these namespaces (`ip -n`); the host's own namespace is never touched, and
# nothing has a route to the outside world.

# add_ns NAME: a new namespace with its loopback up.
add_ns() {
	ip netns add "$1"
	ip -n "$1" link set lo up
}

build_hub() {
	local hub
	hub=$(hub_ns)
	add_ns "$hub"
	ip -n "$hub" link add br0 type bridge
	ip -n "$hub" addr add "${HUB_IP}/${UNDERLAY_BITS}" dev br0
	ip -n "$hub" link set br0 up
}

# build_node CLOUD N: the node namespace on the underlay, forwarding on.
build_node() {
	local cloud=$1 n=$2 hub node hub_if
	hub=$(hub_ns)
	node=$(node_ns "$cloud" "$n")
	hub_if=$cloud$n # on the hub's side of the bridge: aws1, onprem2
	add_ns "$node"
	ip -n "$hub" link add "$hub_if" type veth peer name eth0 netns "$node"
	ip -n "$hub" link set "$hub_if" master br0 up
	ip -n "$node" addr add "$(node_ip "$cloud" "$n")/${UNDERLAY_BITS}" dev eth0
	ip -n "$node" link set eth0 up
	# A real node has a default route, which is what lets its own processes connect()
	# to a service VIP before the agent's nat output hook rewrites the destination. These
	# nodes have none (no way out), so the service range gets a route of its own, on the
	# underlay (here every address in it is a global service the agent DNATs or rejects).
	ip -n "$node" route add "$SERVICE_CIDR" dev eth0
	ip netns exec "$node" sysctl -qw net.ipv4.ip_forward=1
}

# build_pod CLOUD N POD IP: pod namespace POD on node N at IP/32, behind veth POD0.
build_pod() {
	local cloud=$1 n=$2 pod=$3 ip=$4 node ns gw node_if
	node=$(node_ns "$cloud" "$n")
	ns=$(pod_ns "$cloud" "$pod")
	gw=$(node_pod_gw "$cloud" "$n")
	node_if=${pod}0 # on the node's side: echo0, client0
	add_ns "$ns"
	ip -n "$node" link add "$node_if" type veth peer name eth0 netns "$ns"
	ip -n "$node" addr add "$gw/32" dev "$node_if"
	ip -n "$node" link set "$node_if" up
	ip -n "$node" route add "$ip/32" dev "$node_if" src "$gw"
	ip -n "$ns" addr add "$ip/32" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add "$gw" dev eth0 scope link
	ip -n "$ns" route add default via "$gw" dev eth0
}

# cni_routes CLOUD: what a CNI would do between the two nodes of one cloud: each node
# routes the other's pod /24 via the other's underlay address. (Between clouds the
# node agents route remote pod CIDRs through WireGuard.)
cni_routes() {
	local cloud=$1
	ip -n "$(node_ns "$cloud" 1)" route add "$(node_pod_cidr "$cloud" 2)" via "$(node_ip "$cloud" 2)" dev eth0
	ip -n "$(node_ns "$cloud" 2)" route add "$(node_pod_cidr "$cloud" 1)" via "$(node_ip "$cloud" 1)" dev eth0
}

build_topology() {
	local cloud n
	build_hub
	for cloud in "${CLOUDS[@]}"; do
		for n in "${NODES[@]}"; do build_node "$cloud" "$n"; done
		build_pod "$cloud" "$ECHO_NODE" echo "$(echo_ip "$cloud")"
		build_pod "$cloud" 2 client "$(client_ip "$cloud")"
		cni_routes "$cloud"
	done
}
