// The connection to `studio-packer serve`: process and JSON-RPC only.
// No VS Code here, so it runs under node's test runner too.
//
// Every method, its params and its result are the generated types of
// ./protocol (generated from the protocol model: never edit that file), so a
// protocol change that breaks this code breaks `tsc`. The one exception,
// `packer/thumbnail`, which the model lacks so far, is in ./pending.

import { spawn, ChildProcess } from "node:child_process";
import * as rpc from "vscode-jsonrpc/node";
import type {
  ApplyResult,
  Asset,
  BuildResult,
  CancelResult,
  DivergenceResult,
  ErrorObject,
  Event,
  GetAssetResult,
  ListAssetsResult,
  Mutation,
  NotificationMethod,
  Notifications,
  PreviewResult,
  ReferencesResult,
  RequestMethod,
  Requests,
  ProgressParams,
  ProgressToken,
  Summary,
  ThumbnailResult,
} from "./protocol";

/** What the project wrappers need of a connection: one typed request per
 *  packer method. `PackerClient` (vscode-jsonrpc, no VS Code) is one;
 *  `transportOver` makes one of vscode-languageclient's `LanguageClient`. */
export interface Transport {
  sendRequest<M extends RequestMethod>(
    method: M,
    params: Requests[M]["params"],
    token?: rpc.CancellationToken,
  ): Promise<Requests[M]["result"]>;
}

/** vscode-jsonrpc's untyped `sendRequest`, as `MessageConnection` and
 *  `LanguageClient` both have it. */
export interface RpcSender {
  sendRequest(method: string, ...args: unknown[]): Promise<unknown>;
}

/** A `Transport` over an untyped sender. No params and no token are left
 *  out rather than passed as `undefined`: vscode-jsonrpc would send them as
 *  an array of params (`[params, null]`), which the packer refuses. */
export function transportOver(sender: RpcSender): Transport {
  return {
    sendRequest<M extends RequestMethod>(
      method: M,
      params: Requests[M]["params"],
      token?: rpc.CancellationToken,
    ): Promise<Requests[M]["result"]> {
      const args: unknown[] = params === undefined ? [] : [params];
      if (token) args.push(token);
      return sender.sendRequest(method, ...args) as Promise<Requests[M]["result"]>;
    },
  };
}

export class PackerClient implements Transport {
  private readonly transport: Transport;

  private constructor(
    private readonly child: ChildProcess,
    readonly connection: rpc.MessageConnection,
  ) {
    this.transport = transportOver(connection);
  }

  /** Starts the server and initializes it. */
  static async start(serverPath: string): Promise<PackerClient> {
    const child = spawn(serverPath, ["serve"], { stdio: ["pipe", "pipe", "inherit"] });
    const connection = rpc.createMessageConnection(
      new rpc.StreamMessageReader(child.stdout!),
      new rpc.StreamMessageWriter(child.stdin!),
    );
    connection.listen();
    const client = new PackerClient(child, connection);
    await client.sendRequest("initialize", { processId: process.pid, capabilities: {} });
    connection.sendNotification("initialized", {});
    return client;
  }

  sendRequest<M extends RequestMethod>(
    method: M,
    params: Requests[M]["params"],
    token?: rpc.CancellationToken,
  ): Promise<Requests[M]["result"]> {
    return this.transport.sendRequest(method, params, token);
  }

  private onNotification<N extends NotificationMethod>(
    method: N,
    handler: (params: Notifications[N]) => void,
  ): rpc.Disposable {
    return this.connection.onNotification(method, handler);
  }

  onEvent(handler: (event: Event) => void): rpc.Disposable {
    return this.onNotification("packer/event", handler);
  }

  onProgress(handler: (token: ProgressParams["token"], value: ProgressParams["value"]) => void): rpc.Disposable {
    return this.onNotification("$/progress", (p) => handler(p.token, p.value));
  }

  async dispose(): Promise<void> {
    try {
      await this.sendRequest("shutdown", undefined);
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

  summary(): Promise<Summary> {
    return this.transport.sendRequest("packer/summary", { projectId: this.projectId });
  }
  /** Every asset, page by page as the packer pages them. A cursor pins its
   *  generation: when the project moved on meanwhile (-32801), list again. */
  async listAllAssets(pageSize = 200): Promise<Asset[]> {
    for (;;) {
      const items: Asset[] = [];
      let cursor: string | null = null;
      try {
        do {
          const page: ListAssetsResult = await this.transport.sendRequest("packer/listAssets", {
            projectId: this.projectId,
            limit: pageSize,
            ...(cursor ? { cursor } : {}),
          });
          items.push(...page.items);
          cursor = page.nextCursor;
        } while (cursor);
        return items;
      } catch (e) {
        if ((e as Partial<ErrorObject> | undefined)?.code !== -32801) throw e;
      }
    }
  }
  /** The registered asset at a project path (`assets/sprites/hero.png`),
   *  if there is one. `pathPrefix` is a plain prefix and pages are sorted
   *  by path, so the path itself, if registered, is the first item. */
  async assetAt(assetPath: string): Promise<Asset | undefined> {
    const page = await this.transport.sendRequest("packer/listAssets", {
      projectId: this.projectId,
      filter: { pathPrefix: assetPath },
      limit: 1,
    });
    return page.items.find((a) => a.path === assetPath);
  }
  getAsset(assetId: string): Promise<GetAssetResult> {
    return this.transport.sendRequest("packer/getAsset", { projectId: this.projectId, assetId });
  }
  /** What the asset's file names and what names it, each with its place. */
  references(assetId: string): Promise<ReferencesResult> {
    return this.transport.sendRequest("packer/references", { projectId: this.projectId, assetId });
  }
  /** A picture of the texture `target` gets (the packer's default target
   *  when none is given); -32803 `notCooked` until a build cooked it. */
  thumbnail(assetId: string, size: number, target?: string): Promise<ThumbnailResult> {
    return this.transport.sendRequest("packer/thumbnail", {
      projectId: this.projectId,
      assetId,
      size,
      ...(target !== undefined ? { target } : {}),
    });
  }
  preview(mutation: Mutation): Promise<PreviewResult> {
    return this.transport.sendRequest("packer/previewMutation", { projectId: this.projectId, mutation });
  }
  apply(mutation: Mutation, expectedGeneration?: number): Promise<ApplyResult> {
    return this.transport.sendRequest("packer/applyMutation", {
      projectId: this.projectId,
      mutation,
      ...(expectedGeneration !== undefined ? { expectedGeneration } : {}),
    });
  }
  build(workDoneToken: ProgressToken, token?: rpc.CancellationToken): Promise<BuildResult> {
    return this.transport.sendRequest("packer/build", { projectId: this.projectId, workDoneToken }, token);
  }
  divergence(): Promise<DivergenceResult> {
    return this.transport.sendRequest("packer/divergence", { projectId: this.projectId });
  }
  cancel(operationId: string): Promise<CancelResult> {
    return this.transport.sendRequest("packer/cancel", { operationId });
  }
}
