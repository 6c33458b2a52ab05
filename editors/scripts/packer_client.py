#!/usr/bin/env python3
"""Drive `studio-packer serve` from a script, with Python's standard library only.

Usage: packer_client.py [--bin PATH] PROJECT_DIR

Starts the server, initializes, opens the project, prints its summary,
builds it with a progress token, prints every event as it arrives, prints
the build's result, and shuts the server down. Every number and outcome it
prints comes from the packer: the script decides nothing itself.
"""

import json
import os
import subprocess
import sys


class Client:
    """A minimal JSON-RPC client over the LSP base protocol (Content-Length framing)."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.next_id = 1
        self.on_notification = lambda method, params: None

    def _send(self, message):
        body = json.dumps(message).encode("utf-8")
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def _read(self):
        length = None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise EOFError("the server closed its output")
            line = line.strip()
            if not line:
                break
            name, _, value = line.decode("ascii").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return json.loads(self.proc.stdout.read(length))

    def notify(self, method, params=None):
        self._send({"jsonrpc": "2.0", "method": method, "params": params or {}})

    def request(self, method, params=None):
        request_id = self.next_id
        self.next_id += 1
        self._send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}})
        while True:
            message = self._read()
            if "method" in message:
                self.on_notification(message["method"], message.get("params"))
            elif message.get("id") == request_id:
                if "error" in message:
                    error = message["error"]
                    raise RuntimeError(f"{method} failed: {error['code']} {error['message']}")
                return message.get("result")

    def close(self):
        self.request("shutdown")
        self.notify("exit")
        return self.proc.wait(timeout=30)


def main(args):
    binary = "studio-packer"
    if args[:1] == ["--bin"]:
        binary, args = args[1], args[2:]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    root = os.path.abspath(args[0])
    client = Client([binary, "serve"])

    def show(method, params):
        if method == "packer/event":
            extra = ""
            if params["kind"] == "progress":
                extra = f" done={params['done']}/{params['total']}"
            op = f" op={params['operationId']} sequence={params['sequence']}" if "operationId" in params else ""
            print(f"event seq={params['seq']} kind={params['kind']}{op}{extra}")
        elif method == "$/progress":
            print(f"progress token={params['token']} {params['value']['kind']}")

    client.on_notification = show
    info = client.request("initialize", {"processId": os.getpid(), "capabilities": {}})
    print(f"server {info['serverInfo']['name']} {info['serverInfo']['version']}")
    opened = client.request("packer/openProject", {"root": root})
    project = opened["projectId"]
    summary = opened["summary"]
    print(
        f"project {project} generation={summary['generation']} assets={summary['assets']['total']} "
        f"divergence={summary['divergence']['state']} errors={summary['diagnostics']['errors']}"
    )
    result = client.request("packer/build", {"projectId": project, "workDoneToken": "script-build"})
    for pack in result["packs"]:
        print(f"pack {pack['path']} assets={pack['assets']} bytes={pack['bytes']}")
    stats = result["stats"]
    print(f"build {result['outcome']} processed={stats['processed']} reused={stats['reused']}")
    for d in result["diagnostics"]:
        print(f"{d['severity']}[{d['code']}]: {d.get('path', '')}: {d['message']}")
    code = client.close()
    print(f"exit {code}")
    return 0 if result["outcome"] == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
