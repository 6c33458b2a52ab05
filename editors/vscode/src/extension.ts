// VS Code glue only: views, commands and notifications wired to the
// client and the adapter. No semantics here either.

import * as vscode from "vscode";
import { LanguageClient, ServerOptions, LanguageClientOptions, WorkDoneProgress } from "vscode-languageclient/node";
import { PackerProject, transportOver } from "./client";
import type { Asset, ErrorObject, FailedData, Mutation, Notifications } from "./protocol";
import {
  ActivityLog,
  assetTree,
  buildMessage,
  previewDialog,
  refreshesStatus,
  statusBar,
  referencesView,
  soundView,
  textureView,
  thumbnailCaption,
  thumbnailUri,
  TreeNode,
} from "./adapter";

let client: LanguageClient | undefined;

class AssetsView implements vscode.TreeDataProvider<TreeNode> {
  private root: TreeNode = { label: "", path: "", children: [] };
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  set(root: TreeNode) {
    this.root = root;
    this.changed.fire();
  }
  getChildren(node?: TreeNode) {
    return (node ?? this.root).children;
  }
  getTreeItem(node: TreeNode): vscode.TreeItem {
    const item = new vscode.TreeItem(
      node.label,
      node.asset ? vscode.TreeItemCollapsibleState.None : vscode.TreeItemCollapsibleState.Collapsed,
    );
    if (node.asset) {
      item.id = node.asset.id;
      item.description = node.asset.description;
      item.iconPath = new vscode.ThemeIcon(node.asset.icon);
      item.tooltip = [node.path, ...node.asset.problems].join("\n");
      item.contextValue = "asset";
    }
    return item;
  }
}

export async function activate(context: vscode.ExtensionContext) {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) return;
  const serverPath = vscode.workspace.getConfiguration("studioPacker").get<string>("serverPath", "studio-packer");
  // vscode-languageclient runs the process and the protocol: initialize,
  // cancellation, and $/progress shown in VS Code's own progress UI.
  const serverOptions: ServerOptions = { command: serverPath, args: ["serve"] };
  const clientOptions: LanguageClientOptions = { documentSelector: [], workspaceFolder: folder };
  client = new LanguageClient("studioPacker", "Studio Packer", serverOptions, clientOptions);
  await client.start();
  const project = await PackerProject.open(transportOver(client), folder.uri.fsPath);
  const activity = new ActivityLog();
  const channel = vscode.window.createOutputChannel("Studio Packer Activity");
  const bar = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left);
  const assets = new AssetsView();
  context.subscriptions.push(channel, bar, vscode.window.registerTreeDataProvider("studioPacker.assets", assets));

  // One refresh at a time; snapshots published meanwhile ask for one more.
  let refreshing = false;
  let again = false;
  const refreshSoon = async () => {
    if (refreshing) {
      again = true;
      return;
    }
    refreshing = true;
    try {
      do {
        again = false;
        await refresh();
      } while (again);
    } finally {
      refreshing = false;
    }
  };
  const refresh = async () => {
    const model = statusBar(await project.summary());
    bar.text = model.text;
    bar.tooltip = model.tooltip;
    bar.backgroundColor = model.warning ? new vscode.ThemeColor("statusBarItem.warningBackground") : undefined;
    bar.show();
    assets.set(assetTree(await project.listAllAssets()));
  };
  client.onNotification("packer/event", (event: Notifications["packer/event"]) => {
    channel.appendLine(activity.push(event));
    // The status bar follows the packer's snapshots and state events, never a timer.
    if (refreshesStatus(event)) void refreshSoon();
  });
  // This window stopped reading for a while and the packer skipped events
  // for it: the events are in the journal; what is shown is simply fetched again.
  client.onNotification("packer/eventsDropped", (n: Notifications["packer/eventsDropped"]) => {
    channel.appendLine(`(events ${n.fromSeq}..${n.toSeq} were not received; see packer/replayEvents)`);
    void refreshSoon();
  });
  await refresh();

  const pickAsset = async (): Promise<Asset | undefined> => {
    const items = await project.listAllAssets();
    const pick = await vscode.window.showQuickPick(
      items.map((a) => ({ label: a.path, description: a.kind, asset: a })),
      { placeHolder: "Asset" },
    );
    return pick?.asset;
  };
  // The file of the active editor: a text editor's, or a custom editor's
  // (VS Code shows an image in its image preview, not in a text editor).
  const activeFile = (): vscode.Uri | undefined => {
    const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    if (input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom) return input.uri;
    return vscode.window.activeTextEditor?.document.uri;
  };
  const escape = (text: string) =>
    text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
  const list = (lines: string[], cls = "") => `<ul class="${cls}">${lines.map((l) => `<li>${escape(l)}</li>`).join("")}</ul>`;
  // A target's picture as its GPU gets it, or the packer's word that it
  // has none yet (-32803 notCooked); any other error is an error.
  const picture = async (assetId: string, target?: string): Promise<string> => {
    try {
      const thumb = await project.thumbnail(assetId, 128, target);
      const img = `<img src="${thumbnailUri(thumb)}" width="${thumb.width}" height="${thumb.height}">`;
      return `<figure>${img}<figcaption>${escape(thumbnailCaption(thumb))}</figcaption></figure>`;
    } catch (e) {
      const error = e as Partial<ErrorObject>;
      if (error.code !== -32803 || (error.data as FailedData | undefined)?.reason !== "notCooked") throw e;
      return `<p>${escape(error.message ?? "")}</p>`;
    }
  };
  // The registered asset of the clicked or active file; says so when there is none.
  const assetOf = async (uri?: vscode.Uri) => {
    const file = uri ?? activeFile();
    if (!file) return undefined;
    const assetPath = vscode.workspace.asRelativePath(file, false);
    const asset = await project.assetAt(assetPath);
    if (!asset) void vscode.window.showErrorMessage(`Not a registered asset: ${assetPath}`);
    return asset;
  };
  const showTexture = async (uri?: vscode.Uri) => {
    const asset = await assetOf(uri);
    if (!asset) return;
    const model = textureView(await project.getAsset(asset.id), (await project.summary()).targets);
    // Only an image has textures. With no target named by the packer yet,
    // its default target is asked (for its notCooked message).
    const named = model.targets.map((t): string | undefined => t.target);
    const targets = asset.kind !== "image" ? [] : named.length > 0 ? named : [undefined];
    const pictures: string[] = [];
    for (const target of targets) pictures.push(await picture(asset.id, target));
    const panel = vscode.window.createWebviewPanel("studioPacker.texture", `Texture: ${asset.path}`, vscode.ViewColumn.Beside, {});
    panel.webview.html = `<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<style>img { image-rendering: pixelated; } .problems { color: var(--vscode-errorForeground); }</style></head>
<body><h3>${escape(asset.path)}</h3>${pictures.join("")}
${list(model.targets.map((t) => t.line))}${list(model.problems, "problems")}${list(model.settings)}</body></html>`;
  };
  const showSound = async (uri?: vscode.Uri) => {
    const asset = await assetOf(uri);
    if (!asset) return;
    const model = soundView(await project.getAsset(asset.id));
    const panel = vscode.window.createWebviewPanel("studioPacker.sound", `Sound: ${asset.path}`, vscode.ViewColumn.Beside, {});
    panel.webview.html = `<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>.problems { color: var(--vscode-errorForeground); }</style></head>
<body><h3>${escape(asset.path)}</h3>${list([model.stream, model.loudness])}${list(model.problems, "problems")}${list(model.settings)}</body></html>`;
  };
  // The packer's references of the asset in the editor (or the one clicked):
  // picking one opens the file it is written in, at its line.
  const showReferences = async (uri?: vscode.Uri) => {
    const asset = await assetOf(uri);
    if (!asset) return;
    const model = referencesView(await project.references(asset.id));
    const picked = await vscode.window.showQuickPick(
      model.entries.map((e) => ({ label: e.label, description: e.description, entry: e })),
      { title: model.title, placeHolder: model.notes.join("; ") || "Open where the reference is written" },
    );
    if (!picked) return;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    if (!folder) return;
    const at = new vscode.Position(picked.entry.line - 1, picked.entry.column - 1);
    await vscode.window.showTextDocument(vscode.Uri.joinPath(folder, picked.entry.path), {
      selection: new vscode.Range(at, at),
    });
  };
  const previewThenApply = async (mutation: Mutation) => {
    const preview = await project.preview(mutation);
    const model = previewDialog(preview);
    if (model.blocked) {
      void vscode.window.showErrorMessage(model.lines.join("\n"), { modal: true });
      return;
    }
    const answer = await vscode.window.showWarningMessage(
      model.needsConfirmation ? "Apply despite the warnings?" : "Apply these changes?",
      { modal: true, detail: model.lines.join("\n") },
      "Apply",
    );
    if (answer !== "Apply") return;
    const result = await project.apply(mutation, preview.baseGeneration);
    if (result.outcome !== "applied") {
      void vscode.window.showErrorMessage(previewDialog(result).lines.join("\n"));
    }
  };

  context.subscriptions.push(
    vscode.commands.registerCommand("studioPacker.refresh", refresh),
    vscode.commands.registerCommand("studioPacker.move", async () => {
      const asset = await pickAsset();
      if (!asset) return;
      const to = await vscode.window.showInputBox({ prompt: "New path", value: asset.path });
      if (to) await previewThenApply({ kind: "move", assetId: asset.id, to });
    }),
    vscode.commands.registerCommand("studioPacker.delete", async () => {
      const asset = await pickAsset();
      if (asset) await previewThenApply({ kind: "delete", assetIds: [asset.id] });
    }),
    vscode.commands.registerCommand("studioPacker.showTexture", showTexture),
    vscode.commands.registerCommand("studioPacker.showSound", showSound),
    vscode.commands.registerCommand("studioPacker.showReferences", showReferences),
    vscode.commands.registerCommand("studioPacker.reconcile", () => previewThenApply({ kind: "reconcile" })),
    vscode.commands.registerCommand("studioPacker.build", () =>
      vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: "Building packs", cancellable: true },
        async (progress, cancel) => {
          const token = `vscode-build-${Date.now()}`;
          // Per token, through the library's own $/progress dispatch (a plain
          // onNotification would replace it).
          const sub = client!.onProgress(WorkDoneProgress.type, token, (value) => {
            if (value.kind === "report") progress.report({ message: value.message });
          });
          try {
            const result = await project.build(token, cancel);
            const message = buildMessage(result);
            if (result.outcome === "succeeded") void vscode.window.showInformationMessage(message);
            else void vscode.window.showErrorMessage(message);
          } finally {
            sub.dispose();
          }
        },
      ),
    ),
  );
}

export async function deactivate() {
  await client?.stop();
}
