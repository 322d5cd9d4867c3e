#!/usr/bin/env python3
"""The demo's backend pod: answers every GET with one line naming its pod and cloud.

    echo.py --bind 10.1.1.10 --port 8080 --pod echo-aws-1 --cloud aws

Standard library only. One line per request goes to stderr (the demo's log file).
"""

import argparse
import http.server
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", required=True, help="the pod IP to listen on")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--pod", required=True, help="this pod's name")
    parser.add_argument("--cloud", required=True, help="this pod's cloud (cluster)")
    args = parser.parse_args()
    body = f"{args.pod} in {args.cloud}\n".encode()

    class Echo(http.server.BaseHTTPRequestHandler):
        server_version = "echo/1"
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (the stdlib's naming)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_HEAD(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()

        def log_message(self, fmt: str, *fmt_args: object) -> None:
            sys.stderr.write(f"{self.client_address[0]} {fmt % fmt_args}\n")

    class Server(http.server.ThreadingHTTPServer):
        # The stdlib's listen backlog is 5: a burst of new connections (the e2e suite
        # probes every 10 ms) while the interpreter is briefly starved of CPU would
        # overflow it, and the kernel drops the SYNs (ListenOverflows), which clients
        # see as a 1 s stall. Real servers listen with hundreds (nginx: 511).
        request_queue_size = 511

    server = Server((args.bind, args.port), Echo)
    server.daemon_threads = True
    sys.stderr.write(f"{args.pod} in {args.cloud}: listening on {args.bind}:{args.port}\n")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
