#!/usr/bin/env python3
"""Drive `studio-packer serve` from a script, with Python's standard library only.

Usage: packer_client.py [--bin PATH] PROJECT_DIR

Starts the server, initializes, opens the project, prints its summary,
builds it with a progress token, prints every event as it arrives, prints
the build's result, and shuts the server down. Every number and outcome it
prints comes from the packer: the script decides nothing itself.

The client is the generated `packer_protocol.Client` next to this script
(generated from the protocol model: never edit packer_protocol.py).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from packer_protocol import Client  # noqa: E402  (after the path is set)


def main(args):
    binary = "studio-packer"
    if args[:1] == ["--bin"]:
        binary, args = args[1], args[2:]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    root = os.path.abspath(args[0])

    def show(method, params):
        if method == "packer/event":
            extra = ""
            if params["kind"] == "progress":
                extra = f" done={params['done']}/{params['total']}"
            op = f" op={params['operationId']} sequence={params['sequence']}" if "operationId" in params else ""
            print(f"event seq={params['seq']} kind={params['kind']}{op}{extra}")
        elif method == "$/progress":
            print(f"progress token={params['token']} {params['value']['kind']}")

    client = Client([binary, "serve"], on_notification=show)
    info = client.initialize({"processId": os.getpid(), "capabilities": {}})
    print(f"server {info['serverInfo']['name']} {info['serverInfo']['version']}")
    opened = client.open_project({"root": root})
    project = opened["projectId"]
    summary = opened["summary"]
    print(
        f"project {project} generation={summary['generation']} assets={summary['assets']['total']} "
        f"divergence={summary['divergence']['state']} errors={summary['diagnostics']['errors']}"
    )
    result = client.build({"projectId": project, "workDoneToken": "script-build"})
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
