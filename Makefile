# clustermesh: the two commands a new user needs are `make demo` and `make test`.

SHELL := /bin/bash
CARGO ?= cargo

# Debian packages the build and the tests need:
#  - etcd-server: the etcd store backend is tested against a real etcd process;
#  - protobuf-compiler, libprotobuf-dev: etcd-client's build script runs protoc;
#  - nftables: the node agent's load balancer is tested against real nftables;
#  - iptables: the kube-proxy-style baseline of `make bench`'s lb-scale scenario;
#  - wireguard-go, wireguard-tools: the userspace WireGuard device (this kernel has no
#    WireGuard module) and `wg`, to check tunnels from the outside;
#  - iproute2: `ip netns`, for the tests that build hosts out of network namespaces;
#  - iperf3: tunnel throughput in `make bench`;
#  - python3, curl: the pods' HTTP servers, probers and clients in the e2e tests.
DEBIAN_PACKAGES := etcd-server protobuf-compiler libprotobuf-dev nftables iptables wireguard-go \
	wireguard-tools iproute2 iperf3 python3 curl

# boringtun-cli, the tunnel scenario's second userspace WireGuard, is not a Debian
# package: `make bench-tools` builds it from crates.io into target/bench-tools.
BORINGTUN_VERSION := 0.7.1

.PHONY: all deps test lint fmt demo bench bench-micro bench-tools

all: test

## deps: install missing Debian packages (idempotent, quiet when all are present)
deps:
	@missing=""; \
	for pkg in $(DEBIAN_PACKAGES); do \
		dpkg-query -W -f='$${Status}' "$$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing$$missing"; \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"; \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

## lint: formatting and clippy, warnings are errors
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## test: everything — unit, in-process integration, store conformance on every backend
test: deps lint
	@mkdir -p target
	@set -o pipefail; $(CARGO) test --workspace --no-fail-fast 2>&1 | tee target/test-output.log
	@# One closing line with the totals of every test binary above.
	@awk '/^test result:/ { for (i = 2; i <= NF; i++) { if ($$i ~ /^passed;/) p += $$(i-1); if ($$i ~ /^failed;/) f += $$(i-1) } } \
		END { printf "%d passed, %d failed\n", p, f }' target/test-output.log

fmt:
	$(CARGO) fmt --all

## bench: every scenario of the bench harness, each against its baseline in the same run
##        (as root; about 10 minutes after the build). One scenario: `make bench SCENARIO=failover`.
##        Results are appended to bench/results/latest.jsonl; docs/performance.md
bench: deps bench-tools
	$(CARGO) build --release -p clustermesh-apiserver -p node-agent -p ctl -p clustermesh-bench
	@# The tunnel scenario runs node-agent's dataplane benchmark: built here, with the rest.
	$(CARGO) bench --no-run -q -p node-agent --bench dataplane
	$(CARGO) run --release -q -p clustermesh-bench -- $(SCENARIO)

## bench-micro: component benchmarks: the store backends, a manifest change to a peer's
##              store, and (as root) the two-cluster dataplane (docs/performance.md)
bench-micro: deps bench-tools
	$(CARGO) bench -p clustermesh-apiserver --bench store
	$(CARGO) bench -p clustermesh-apiserver --bench sync_latency
	$(CARGO) build --release -p clustermesh-apiserver
	PATH="$(CURDIR)/target/bench-tools/bin:$$PATH" $(CARGO) bench -p node-agent --bench dataplane

## bench-tools: boringtun-cli, the dataplane benchmark's second userspace WireGuard, from
##              crates.io (a no-op once installed)
bench-tools:
	$(CARGO) install --quiet --locked boringtun-cli --version $(BORINGTUN_VERSION) --root target/bench-tools

## demo: the multicloud tour (three clouds in network namespaces, as root): release
##       binaries, then examples/multicloud/demo.sh (up, connect, status, VIP, down)
demo:
	$(CARGO) build --release -p clustermesh-apiserver -p node-agent -p ctl
	examples/multicloud/demo.sh
