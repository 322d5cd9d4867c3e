"""One new TCP connection and HTTP request per target every PERIOD seconds, until the
stop file appears; then a JSON summary on stdout. Progress (successes per target) is
rewritten to the progress file every 100 ms so the test can wait on it."""

import json
import os
import socket
import sys
import time
import traceback

PERIOD = 0.01
TIMEOUT = 1.0


def probe(host, port, path):
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT) as s:
            s.settimeout(TIMEOUT)
            s.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            return None, f"status {head[:40]!r}"
        return body.decode(errors="replace"), None
    except OSError as e:
        return None, str(e)


def main():
    stop_file, progress_file = sys.argv[1], sys.argv[2]
    targets = [t.rsplit(":", 2) for t in sys.argv[3:]]  # host:port:path
    results = {f"{h}:{p}": {"ok": 0, "failed": [], "answers": {}} for h, p, _ in targets}
    start = time.monotonic()
    tick = start
    last_progress = 0.0
    while not os.path.exists(stop_file):
        for host, port, path in targets:
            r = results[f"{host}:{port}"]
            answer, error = probe(host, int(port), path)
            if error is None:
                r["ok"] += 1
                r["answers"][answer] = r["answers"].get(answer, 0) + 1
            else:
                r["failed"].append({"at_s": round(time.monotonic() - start, 3), "error": error})
        now = time.monotonic()
        if now - last_progress >= 0.1:
            with open(progress_file + ".tmp", "w") as f:
                json.dump({k: v["ok"] for k, v in results.items()}, f)
            os.replace(progress_file + ".tmp", progress_file)
            last_progress = now
        tick += PERIOD
        time.sleep(max(0.0, tick - time.monotonic()))
    json.dump(results, sys.stdout)


try:
    main()
except BaseException:
    traceback.print_exc()
    sys.stderr.flush()
    sys.exit(2)
