#!/usr/bin/env python3
"""A fault-injecting HTTP proxy on loopback in front of the AWS emulator.

Each request is forwarded to the upstream endpoint, except that a chosen
fraction of each service's requests (spread evenly from a random phase; the
kind of fault drawn by a seeded random generator) meets one of these faults:

  throttle  the service's own throttling error (DynamoDB and the JSON APIs:
            400 ThrottlingException; S3: 503 SlowDown), not forwarded
  error500  500 InternalError, not forwarded
  reset     the connection is closed without an answer, not forwarded
  lost      forwarded and applied upstream, then the connection is closed:
            the caller cannot tell whether it happened
  timeout   held past the caller's timeout, then closed, not forwarded

Usage: fault_proxy.py UPSTREAM RATE SEED [HOLD_SECONDS [SERVICES]]
  prints `listening on PORT` when ready. GET /__faults returns the counts of
  requests and of each fault per service as JSON; POST /__faults with
  {"rate": R} changes the rate (0 turns faults off).
"""

import http.client
import http.server
import json
import random
import socket
import sys
import threading
import time
import urllib.parse

UPSTREAM = urllib.parse.urlparse(sys.argv[1])
RATE = [float(sys.argv[2])]
RNG = random.Random(int(sys.argv[3]))
HOLD_SECONDS = float(sys.argv[4]) if len(sys.argv) > 4 else 3.0
SERVICES = set(sys.argv[5].split(",")) if len(sys.argv) > 5 else None
KINDS = ["throttle", "error500", "reset", "lost", "timeout"]
LOCK = threading.Lock()
COUNTS = {}
ACC = {}


def service_of(headers):
    """The signing name in the credential scope: dynamodb, s3, kinesis, ..."""
    auth = headers.get("Authorization", "")
    try:
        scope = auth.split("Credential=")[1].split(",")[0].split("/")
        return scope[3]
    except IndexError:
        return "unsigned"


def count(service, what):
    with LOCK:
        c = COUNTS.setdefault(service, {"requests": 0})
        c[what] = c.get(what, 0) + 1


def choose(service):
    """Exactly RATE of each service's calls fail, spread evenly from a random
    phase, each with a random kind of fault."""
    with LOCK:
        if SERVICES is not None and service not in SERVICES:
            return None
        acc = ACC.setdefault(service, RNG.random()) + RATE[0]
        if acc < 1.0:
            ACC[service] = acc
            return None
        ACC[service] = acc - 1.0
        return RNG.choice(KINDS)


def error_body(service, code, status):
    if service == "s3":
        body = f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>injected {code}</Message><RequestId>fault</RequestId></Error>"
        return status, "application/xml", body.encode()
    body = json.dumps({"__type": code, "message": f"injected {code}"})
    return status, "application/x-amz-json-1.0", body.encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.handle_any()

    def do_PUT(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def do_DELETE(self):
        self.handle_any()

    def do_HEAD(self):
        self.handle_any()

    def drop(self):
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    def reply(self, status, ctype, body, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def handle_any(self):
        body = self.read_body()
        if self.path.startswith("/__faults"):
            if self.command == "POST":
                RATE[0] = float(json.loads(body)["rate"])
            with LOCK:
                out = json.dumps(COUNTS).encode()
            return self.reply(200, "application/json", out)
        service = service_of(self.headers)
        count(service, "requests")
        fault = choose(service)
        if fault:
            count(service, fault)
        if fault == "throttle":
            code = "SlowDown" if service == "s3" else "ThrottlingException"
            return self.reply(*error_body(service, code, 503 if service == "s3" else 400))
        if fault == "error500":
            return self.reply(*error_body(service, "InternalError", 500))
        if fault == "reset":
            return self.drop()
        if fault == "timeout":
            time.sleep(HOLD_SECONDS)
            return self.drop()
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "transfer-encoding"}
        headers["Content-Length"] = str(len(body))
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if fault == "lost":
            return self.drop()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "content-length", "connection", "date", "server"):
                self.send_header(k, v)
        # A HEAD answer has no body but the object's length.
        length = resp.getheader("Content-Length") if self.command == "HEAD" else None
        self.send_header("Content-Length", length or str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
