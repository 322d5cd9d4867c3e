"""Probe traffic from a pod for the multicloud e2e suite.

    prober.py STOP_FILE PERIOD_S TIMEOUT_S HOST:PORT[:PATH]...

Every PERIOD_S seconds, starts one HTTP GET per target, each on a new TCP connection
(so each goes through the load balancer's selection afresh) and in its own thread, so
one that hangs until TIMEOUT_S does not delay the next. Stops starting new ones when
STOP_FILE exists, waits for those in flight, and exits 0.

One JSON line per finished probe on stdout, flushed at once so the test can read the
file while probing goes on:

    {"target": "10.96.0.10:80", "start": 1700000000.123, "port": 40312, "ms": 3.1, "answer": "echo-aws-1 in aws"}
    {"target": "10.96.0.10:80", "start": 1700000000.133, "port": 40314, "ms": 1000.4, "error": "timed out"}

`start` is wall-clock time (seconds since the epoch), comparable with the test's own
clock. Standard library only.
"""

import json
import os
import socket
import sys
import threading
import time

LOCK = threading.Lock()


def probe(target, host, port, path, timeout):
    start = time.time()
    t0 = time.monotonic()
    record = {"target": target, "start": start}
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with s:
            s.settimeout(timeout)
            try:
                s.connect((host, port))
            finally:
                # The source port, to match a failure with conntrack entries.
                record["port"] = s.getsockname()[1]
            s.settimeout(max(0.001, timeout - (time.monotonic() - t0)))
            s.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if b" 200 " not in status + b" ":
            record["error"] = f"status {status[:40]!r}"
        else:
            record["answer"] = body.decode(errors="replace").strip()
    except OSError as e:
        record["error"] = str(e) or type(e).__name__
    record["ms"] = round((time.monotonic() - t0) * 1000, 1)
    line = json.dumps(record)
    with LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def main():
    stop_file, period, timeout = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    targets = []
    for arg in sys.argv[4:]:
        host, port, *rest = arg.split(":", 2)
        targets.append((f"{host}:{port}", host, int(port), rest[0] if rest else "/"))
    threads = []
    tick = time.monotonic()
    while not os.path.exists(stop_file):
        for target, host, port, path in targets:
            t = threading.Thread(target=probe, args=(target, host, port, path, timeout))
            t.start()
            threads.append(t)
        threads = [t for t in threads if t.is_alive()]
        tick += period
        time.sleep(max(0.0, tick - time.monotonic()))
    for t in threads:
        t.join()


main()
