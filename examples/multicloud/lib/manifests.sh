# shellcheck shell=bash
# Each cloud's manifests, from manifests.yaml.in.

# render_manifests CLOUD: manifests.yaml.in with CLOUD's names and addresses.
render_manifests() {
	local cloud=$1
	sed -e '/^#/d' \
		-e "s|@CLOUD@|$cloud|g" \
		-e "s|@NODE1_POD_CIDR@|$(node_pod_cidr "$cloud" 1)|g" \
		-e "s|@NODE2_POD_CIDR@|$(node_pod_cidr "$cloud" 2)|g" \
		-e "s|@NODE1_IP@|$(node_ip "$cloud" 1)|g" \
		-e "s|@NODE2_IP@|$(node_ip "$cloud" 2)|g" \
		-e "s|@ECHO_IP@|$(echo_ip "$cloud")|g" \
		-e "s|@ECHO_NODE@|$(node_name "$cloud" "$ECHO_NODE")|g" \
		-e "s|@CLIENT_IP@|$(client_ip "$cloud")|g" \
		-e "s|@VIP@|$VIP|g" \
		-e "s|@VIP_PORT@|$VIP_PORT|g" \
		-e "s|@ECHO_PORT@|$ECHO_PORT|g" \
		"$HERE/manifests.yaml.in"
}

# write_manifests CLOUD: into $STATE/CLOUD/manifests/cluster.yaml, atomically (a temp
# file, then rename, as a ConfigMap update does), since the apiserver watches the dir.
write_manifests() {
	local cloud=$1 dir=$STATE/$1/manifests
	mkdir -p "$dir"
	render_manifests "$cloud" >"$dir/.cluster.yaml.tmp"
	if grep -q '@[A-Z0-9_]*@' "$dir/.cluster.yaml.tmp"; then
		die "unfilled placeholder in $dir/.cluster.yaml.tmp"
	fi
	mv -f "$dir/.cluster.yaml.tmp" "$dir/cluster.yaml"
}
