// The connection to `studio-packer serve`: process and JSON-RPC only.
// No VS Code here, so it runs under node's test runner too.

import { spawn, ChildProcess } from "node:child_process";
import * as rpc from "vscode-jsonrpc/node";

export interface PackerEvent {
  projectId: string;
  seq: number;
  kind: string;
  operationId?: string;
  sequence?: number;
  [field: string]: unknown;
}

/** What the project wrappers need of a connection: satisfied by
 *  `PackerClient` (vscode-jsonrpc, no VS Code) and by vscode-languageclient's
 *  `LanguageClient` (in the extension). */
export interface Transport {
  sendRequest(method: string, params?: any, token?: rpc.CancellationToken): Promise<any>;
}

export class PackerClient implements Transport {
  private constructor(
    private readonly child: ChildProcess,
    readonly connection: rpc.MessageConnection,
  ) {}

  /** Starts the server and initializes it. */
  static async start(serverPath: string): Promise<PackerClient> {
    const child = spawn(serverPath, ["serve"], { stdio: ["pipe", "pipe", "inherit"] });
    const connection = rpc.createMessageConnection(
      new rpc.StreamMessageReader(child.stdout!),
      new rpc.StreamMessageWriter(child.stdin!),
    );
    connection.listen();
    const client = new PackerClient(child, connection);
    await connection.sendRequest("initialize", { processId: process.pid, capabilities: {} });
    connection.sendNotification("initialized", {});
    return client;
  }

  sendRequest(method: string, params?: any, token?: rpc.CancellationToken): Promise<any> {
    return token ? this.connection.sendRequest(method, params, token) : this.connection.sendRequest(method, params);
  }

  onEvent(handler: (event: PackerEvent) => void): rpc.Disposable {
    return this.connection.onNotification("packer/event", handler);
  }

  onProgress(handler: (token: string | number, value: any) => void): rpc.Disposable {
    return this.connection.onNotification("$/progress", (p: any) => handler(p.token, p.value));
  }

  async dispose(): Promise<void> {
    try {
      await this.connection.sendRequest("shutdown");
      this.connection.sendNotification("exit");
    } finally {
      await new Promise<void>((resolve) => {
        if (this.child.exitCode !== null) return resolve();
        this.child.once("exit", () => resolve());
        setTimeout(() => {
          this.child.kill();
          resolve();
        }, 5000).unref();
      });
      this.connection.dispose();
    }
  }
}

/** One open project: thin wrappers that name the packer's methods. */
export class PackerProject {
  constructor(
    readonly transport: Transport,
    readonly projectId: string,
  ) {}

  static async open(transport: Transport, root: string): Promise<PackerProject> {
    const r = await transport.sendRequest("packer/openProject", { root });
    return new PackerProject(transport, r.projectId);
  }

  private request(method: string, params: object, token?: rpc.CancellationToken): Promise<any> {
    return this.transport.sendRequest(method, params, token);
  }

  summary() {
    return this.request("packer/summary", { projectId: this.projectId });
  }
  /** Every asset, page by page as the packer pages them. A cursor pins its
   *  generation: when the project moved on meanwhile (-32801), list again. */
  async listAllAssets(pageSize = 200): Promise<any[]> {
    for (;;) {
      const items: any[] = [];
      let cursor: string | null = null;
      try {
        do {
          const page: any = await this.request("packer/listAssets", {
            projectId: this.projectId,
            limit: pageSize,
            ...(cursor ? { cursor } : {}),
          });
          items.push(...page.items);
          cursor = page.nextCursor;
        } while (cursor);
        return items;
      } catch (e: any) {
        if (e?.code !== -32801) throw e;
      }
    }
  }
  preview(mutation: object) {
    return this.request("packer/previewMutation", { projectId: this.projectId, mutation });
  }
  apply(mutation: object, expectedGeneration?: number) {
    return this.request("packer/applyMutation", {
      projectId: this.projectId,
      mutation,
      ...(expectedGeneration !== undefined ? { expectedGeneration } : {}),
    });
  }
  build(workDoneToken: string, token?: rpc.CancellationToken) {
    return this.request("packer/build", { projectId: this.projectId, workDoneToken }, token);
  }
  divergence() {
    return this.request("packer/divergence", { projectId: this.projectId });
  }
  cancel(operationId: string) {
    return this.request("packer/cancel", { operationId });
  }
}
