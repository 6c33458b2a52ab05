//! The `studio-packer` command line. Every command that reads or changes a
//! project is a JSON-RPC client of the same server code; none computes a
//! semantic of its own.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use studio_packer::client::Client;

#[derive(Parser)]
#[command(name = "studio-packer", version, about = "The asset packer a game studio's tools drive over JSON-RPC")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve JSON-RPC (LSP base protocol) on stdin/stdout.
    Serve,
    /// Create a new project in DIR.
    Init {
        dir: PathBuf,
        /// The project's name (default: the folder's name).
        #[arg(long)]
        name: Option<String>,
    },
    /// Print a project's summary.
    Status {
        dir: PathBuf,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Call one method and print its JSON result.
    Call {
        /// The method, e.g. `packer/listAssets`.
        method: String,
        /// The params as JSON; `projectId` is filled in from --root when absent.
        #[arg(default_value = "{}")]
        params: String,
        /// The project to open first.
        #[arg(long)]
        root: Option<PathBuf>,
        /// Print every `packer/event` received to stderr, one JSON per line.
        #[arg(long)]
        events: bool,
    },
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve => {
            let code = serve();
            return ExitCode::from(code as u8);
        }
        Command::Init { dir, name } => init(&dir, name.as_deref()),
        Command::Status { dir, json } => status(&dir, json),
        Command::Call { method, params, root, events } => call(&method, &params, root.as_deref(), events),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr (or to the file named by STUDIO_PACKER_LOG_FILE), never
/// to stdout, which belongs to the protocol. The level comes from STUDIO_PACKER_LOG.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("STUDIO_PACKER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false);
    match std::env::var_os("STUDIO_PACKER_LOG_FILE") {
        Some(path) => match std::fs::OpenOptions::new().create(true).append(true).open(&path) {
            Ok(file) => builder.with_writer(std::sync::Mutex::new(file)).init(),
            Err(e) => {
                builder.with_writer(std::io::stderr).init();
                tracing::warn!(error = %e, "cannot open STUDIO_PACKER_LOG_FILE; logging to stderr");
            }
        },
        None => builder.with_writer(std::io::stderr).init(),
    }
}

fn serve() -> i32 {
    studio_packer::server::run(std::io::stdin(), std::io::stdout())
}

fn init(dir: &Path, name: Option<&str>) -> Result<()> {
    studio_packer::project::create(dir, name)
        .with_context(|| format!("cannot create a project in {}", dir.display()))?;
    println!("created a packer project in {}", dir.display());
    Ok(())
}

fn absolute(dir: &Path) -> Result<PathBuf> {
    std::path::absolute(dir).with_context(|| format!("{}: not a usable path", dir.display()))
}

/// Opens `dir` through a client and returns the client and the project id.
fn open(dir: &Path, events: bool) -> Result<(Client, String)> {
    let mut client = Client::in_process().context("cannot start the packer")?;
    if events {
        client.on_notification = Box::new(|n| {
            if n["method"] == "packer/event" {
                eprintln!("{}", n["params"]);
            }
        });
    }
    client.request("initialize", json!({ "processId": std::process::id(), "capabilities": {} })).map_err(rpc)?;
    let root = absolute(dir)?;
    let opened = client.request("packer/openProject", json!({ "root": root })).map_err(rpc)?;
    let id = opened["projectId"].as_str().context("openProject answered without a projectId")?.to_string();
    Ok((client, id))
}

fn rpc(e: studio_packer::transport::RpcError) -> anyhow::Error {
    match e.data {
        Some(data) => anyhow::anyhow!("{} (code {}, {})", e.message, e.code, data),
        None => anyhow::anyhow!("{} (code {})", e.message, e.code),
    }
}

fn status(dir: &Path, as_json: bool) -> Result<()> {
    let (mut client, id) = open(dir, false)?;
    let summary = client.request("packer/summary", json!({ "projectId": id })).map_err(rpc)?;
    let projects = client.request("packer/listProjects", json!({})).map_err(rpc)?;
    client.close();
    if as_json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    let name = projects["projects"][0]["name"].as_str().unwrap_or("?");
    print!("{}", render_summary(name, &summary, std::io::stdout().is_terminal()));
    Ok(())
}

/// Lays the packer's summary out for a person; every number comes from it.
fn render_summary(name: &str, s: &Value, _tty: bool) -> String {
    let counts = |v: &Value| -> String {
        let Some(map) = v.as_object() else {
            return String::new();
        };
        let parts: Vec<String> =
            map.iter().filter(|(_, n)| n.as_u64().unwrap_or(0) > 0).map(|(k, n)| format!("{k} {n}")).collect();
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    };
    let divergence = &s["divergence"];
    let divergence = match divergence["state"].as_str() {
        Some("clean") => "clean".to_string(),
        _ => format!("diverged ({} differences between disk and registry)", divergence["count"]),
    };
    format!(
        "project {name} (generation {})\n  assets:      {} ({})\n  status:      {}\n  diagnostics: {} errors, {} warnings\n  divergence:  {divergence}\n  lane:        {} queued, {} running\n",
        s["generation"],
        s["assets"]["total"],
        counts(&s["assets"]["byKind"]),
        counts(&s["assets"]["byStatus"]),
        s["diagnostics"]["errors"],
        s["diagnostics"]["warnings"],
        s["lane"]["queued"],
        s["lane"]["running"],
    )
}

fn call(method: &str, params: &str, root: Option<&Path>, events: bool) -> Result<()> {
    let mut params: Value =
        serde_json::from_str(params).with_context(|| format!("params are not valid JSON: {params}"))?;
    if !params.is_object() {
        bail!("params must be a JSON object");
    }
    let (mut client, id) = match root {
        Some(root) => {
            let (c, id) = open(root, events)?;
            (c, Some(id))
        }
        None => {
            let mut c = Client::in_process().context("cannot start the packer")?;
            c.request("initialize", json!({ "processId": std::process::id(), "capabilities": {} })).map_err(rpc)?;
            (c, None)
        }
    };
    if let (Some(id), Some(obj)) = (id, params.as_object_mut()) {
        if method != "packer/openProject" && method != "packer/listProjects" && method != "packer/cancel" {
            obj.entry("projectId").or_insert(json!(id));
        }
    }
    let result = client.request(method, params);
    client.close();
    let value = result.map_err(rpc)?;
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}
