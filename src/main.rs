//! The `studio-packer` command line. Every command that reads or changes a
//! project is a JSON-RPC client of the same server code, except `check`,
//! which loads the project read-only through the same engine
//! (`project::check`); none computes a semantic of its own.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use studio_packer::protocol::model::{
    BuildOutcome, BuildResult, CacheStatsResult, DivergenceState, ListProjectsResult, PruneCacheResult, RemoteStats,
    Summary,
};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};
use studio_packer::client::Client;

mod cli;

use cli::{absolute, open, rpc};

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
    /// Build the project's packs (through the project's owner when one runs).
    Build {
        dir: PathBuf,
        /// Ignore the processing cache.
        #[arg(long)]
        clean: bool,
        /// Build only this target of `[[build.targets]]` (default: every one).
        #[arg(long, value_name = "NAME")]
        target: Option<String>,
        /// Print the result as JSON (and no progress).
        #[arg(long)]
        json: bool,
    },
    /// Check a project for CI and pre-commit, changing nothing.
    ///
    /// Reports registry and manifest errors, entries whose file is missing
    /// or changed, untracked files and unresolved registry conflicts, each
    /// with its file and line. Exit 0: clean; 1: errors found; 2: no
    /// project to check.
    Check {
        dir: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run a source-control command as one change of the project.
    ///
    /// The project's running packer (found from DIR, or from the current
    /// folder upwards) holds divergence back while the command runs and
    /// then publishes the net difference once. With no packer running the
    /// command simply runs; with no command, the packer is asked to look at
    /// the project now. Exits with the command's code.
    Vcs {
        #[arg(long)]
        root: Option<PathBuf>,
        /// Say nothing on stderr (the git hooks use it).
        #[arg(long)]
        quiet: bool,
        /// The command, after `--`: `studio-packer vcs -- git checkout feature`.
        #[arg(last = true)]
        command: Vec<String>,
    },
    /// The merge driver git runs for packer.registry.jsonl (see `git-setup`).
    ///
    /// Merges THEIRS into OURS by asset id. Exit 0: merged; 1: conflicts,
    /// recorded in OURS; 2: nothing merged.
    MergeRegistry {
        base: PathBuf,
        ours: PathBuf,
        theirs: PathBuf,
        /// The registry's path in the repository (git's %P), for messages.
        name: Option<String>,
    },
    /// Make git merge the registry by asset id, and tell the packer of checkouts.
    ///
    /// Sets up the repository holding DIR (default: the current folder):
    /// a `.gitattributes` line in DIR, the merge driver in the repository's
    /// local config, and post-checkout, post-merge and post-rewrite hooks
    /// that ask a running packer to look at the project at once.
    GitSetup {
        dir: Option<PathBuf>,
        /// Also install a pre-commit hook that runs `studio-packer check`.
        #[arg(long)]
        pre_commit: bool,
    },
    /// The processing cache: what it holds, and keeping it in bounds.
    Cache {
        #[command(subcommand)]
        command: CacheCommand,
    },
    /// Register files, folders or globs as assets (one `register`, previewed first).
    ///
    /// PATH is relative to the current folder. A file is registered as
    /// named; a folder (recursively) or a quoted glob (`'assets/**/*.png'`)
    /// stands for the files the packer reports as unregistered there (under
    /// the asset roots, not excluded). The paths travel in the request, so
    /// a folder of ten thousand files is one change.
    #[command(after_help = CHANGE_EXIT_CODES)]
    Add {
        /// Files, folders or globs, relative to the current folder.
        #[arg(required = true)]
        paths: Vec<String>,
        #[command(flatten)]
        change: ChangeArgs,
    },
    /// Move or rename an asset (it keeps its id).
    ///
    /// ASSET is an asset id or path; DEST a path, or a folder (ending with
    /// `/` or existing) that receives the asset under its file name.
    #[command(after_help = CHANGE_EXIT_CODES)]
    Mv {
        asset: String,
        dest: String,
        #[command(flatten)]
        change: ChangeArgs,
    },
    /// Delete assets: their files and their registry entries.
    #[command(after_help = CHANGE_EXIT_CODES)]
    Rm {
        #[arg(required = true)]
        assets: Vec<String>,
        /// Unregister only: the entries go, the files stay.
        #[arg(long)]
        keep_file: bool,
        #[command(flatten)]
        change: ChangeArgs,
    },
    /// List the project's assets: id, kind, status, path.
    Ls {
        /// Only this kind (image, audio, data, text, font, binary).
        #[arg(long)]
        kind: Option<String>,
        /// Only this status (ok, invalid, modified, missing).
        #[arg(long)]
        status: Option<String>,
        /// Only assets with this tag.
        #[arg(long)]
        tag: Option<String>,
        /// Only paths that start with this (relative to the current folder).
        #[arg(long)]
        prefix: Option<String>,
        /// Only paths that contain this, in any case.
        #[arg(long)]
        text: Option<String>,
        /// Print `{"generation", "items"}` as JSON, with every asset in full.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        project: ProjectArg,
    },
    /// Show an asset (by id or path): metadata, tags, settings, diagnostics.
    Show {
        asset: String,
        /// Print the asset as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        project: ProjectArg,
    },
    /// Resolve the project's divergence as the packer proposes (previewed first).
    #[command(after_help = CHANGE_EXIT_CODES)]
    Reconcile {
        #[command(flatten)]
        change: ChangeArgs,
    },
    /// Print the project's events: the journal so far, or live with --follow.
    Events {
        /// Follow the live events until interrupted (with --after, the journal after SEQ first).
        #[arg(long, short)]
        follow: bool,
        /// Only events after this seq.
        #[arg(long, value_name = "SEQ")]
        after: Option<u64>,
        /// One JSON object per line, as the packer sends them.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        project: ProjectArg,
    },
    /// List a pack's entries.
    Inspect { pack: PathBuf },
    /// Check a pack's checksum and every entry's content.
    Verify { pack: PathBuf },
    /// Write a pack's entries (processed) as files under DIR.
    Unpack { pack: PathBuf, dir: PathBuf },
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

const CHANGE_EXIT_CODES: &str = "Exit codes: 0 applied (or nothing to change), 1 blocked or rejected by the \
packer (nothing changed), 2 error (bad input, no project, no answer), 3 previewed only (no --yes without \
a terminal, or the answer was no).";

/// The project a verb works on.
#[derive(Args)]
struct ProjectArg {
    /// The project's folder (default: found from the current folder upwards).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
}

/// What every verb that changes the project takes.
#[derive(Args)]
struct ChangeArgs {
    /// Apply without asking (without it and without a terminal, nothing is applied).
    #[arg(long, short)]
    yes: bool,
    #[command(flatten)]
    project: ProjectArg,
}

impl ChangeArgs {
    fn confirm(&self) -> cli::mutate::Confirm {
        cli::mutate::Confirm { yes: self.yes }
    }
}

#[derive(Subcommand)]
enum CacheCommand {
    /// What the local processing cache holds, and which remote cache is used.
    Stats {
        dir: PathBuf,
        /// Print the statistics as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Evict the least recently used entries until the cache fits.
    Prune {
        dir: PathBuf,
        /// The size to fit in, e.g. `2GiB` or `500MB` (default: `[cache] max_size`).
        #[arg(long)]
        max_size: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Large allocations (an open's vectors of every asset, a texture's pixels)
/// are mapped and unmapped on their own, at a fixed size from 1 MiB: glibc
/// otherwise raises that size to the largest block freed so far, and the
/// freed vectors of an open leave holes in the heap that the process keeps
/// (8 of 118 MB resident at 100,000 assets; see BENCHMARKS.md).
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a parameter of the allocator; called first
    // thing in main, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

fn main() -> ExitCode {
    tune_allocator();
    init_logging();
    let cli = Cli::parse();
    // `events --follow` lives as long as a person watches: when it owns the
    // project, it watches the files like `serve` does.
    if !matches!(cli.command, Command::Serve | Command::Events { follow: true, .. }) {
        studio_packer::project::watch_on_demand();
    }
    let result = match cli.command {
        Command::Serve => {
            let code = serve();
            return ExitCode::from(code as u8);
        }
        Command::Init { dir, name } => init(&dir, name.as_deref()),
        Command::Status { dir, json } => status(&dir, json),
        Command::Call { method, params, root, events } => call(&method, &params, root.as_deref(), events),
        Command::Build { dir, clean, target, json } => match build(&dir, clean, target.as_deref(), json) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::FAILURE,
            Err(e) => Err(e),
        },
        Command::Cache { command: CacheCommand::Stats { dir, json } } => cache_stats(&dir, json),
        Command::Cache { command: CacheCommand::Prune { dir, max_size, json } } => {
            match cache_prune(&dir, max_size.as_deref(), json) {
                Ok(true) => Ok(()),
                Ok(false) => return ExitCode::FAILURE,
                Err(e) => Err(e),
            }
        }
        Command::MergeRegistry { base, ours, theirs, name } => {
            let name = name.unwrap_or_else(|| ours.display().to_string());
            return merge_registry(&base, &ours, &theirs, &name);
        }
        Command::GitSetup { dir, pre_commit } => git_setup(dir.as_deref(), pre_commit),
        Command::Check { dir, json } => return check(&dir, json),
        Command::Vcs { root, quiet, command } => {
            let code = studio_packer::vcs::run(root.as_deref(), &command, quiet);
            return ExitCode::from(u8::try_from(code).unwrap_or(1));
        }
        Command::Add { paths, change } => {
            return verb(cli::add::run(change.project.root.as_deref(), &paths, change.confirm()))
        }
        Command::Mv { asset, dest, change } => {
            return verb(cli::change::mv(change.project.root.as_deref(), &asset, &dest, change.confirm()))
        }
        Command::Rm { assets, keep_file, change } => {
            return verb(cli::change::rm(change.project.root.as_deref(), &assets, keep_file, change.confirm()))
        }
        Command::Ls { kind, status, tag, prefix, text, json, project } => {
            let filter = cli::assets::Filter { kind, status, tag, text, prefix };
            return verb(cli::assets::ls(project.root.as_deref(), &filter, json));
        }
        Command::Show { asset, json, project } => {
            return verb(cli::assets::show(project.root.as_deref(), &asset, json))
        }
        Command::Reconcile { change } => {
            return verb(cli::change::reconcile(change.project.root.as_deref(), change.confirm()))
        }
        Command::Events { follow, after, json, project } => {
            return verb(cli::events::run(project.root.as_deref(), after, follow, json))
        }
        Command::Inspect { pack } => inspect(&pack),
        Command::Verify { pack } => verify(&pack),
        Command::Unpack { pack, dir } => unpack(&pack, &dir),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A verb's exit code; its error said on stderr (exit 2).
fn verb(result: Result<u8>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(cli::exit::ERROR)
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
    if studio_packer::git::in_repository(dir) {
        println!(
            "it is in a git repository: `studio-packer git-setup {}` merges its registry by asset id",
            dir.display()
        );
    }
    Ok(())
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
    let projects: ListProjectsResult = cli::typed("packer/listProjects", projects)?;
    let name = projects.projects.first().and_then(|p| p.name.as_deref()).unwrap_or("?");
    print!("{}", render_summary(name, &cli::typed("packer/summary", summary)?));
    Ok(())
}

/// Lays the packer's summary out for a person; every number comes from it.
fn render_summary(name: &str, s: &Summary) -> String {
    let counts = |counts: Value| -> String {
        let Some(map) = counts.as_object() else {
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
    let divergence = match s.divergence.state {
        DivergenceState::Clean => "clean".to_string(),
        DivergenceState::Diverged => {
            format!("diverged ({} differences between disk and registry)", s.divergence.count)
        }
    };
    // A source-control operation in progress holds divergence back: say so.
    let held: Vec<&str> = s.external_changes.iter().map(|c| c.reason.as_str()).collect();
    let divergence =
        if held.is_empty() { divergence } else { format!("{divergence}, held while `{}` runs", held.join("`, `")) };
    format!(
        "project {name} (generation {})\n  assets:      {} ({})\n  status:      {}\n  diagnostics: {} errors, {} warnings\n  divergence:  {divergence}\n  lane:        {} queued, {} running\n",
        s.generation,
        s.assets.total,
        counts(serde_json::to_value(&s.assets.by_kind).unwrap_or_default()),
        counts(serde_json::to_value(&s.assets.by_status).unwrap_or_default()),
        s.diagnostics.errors,
        s.diagnostics.warnings,
        s.lane.queued,
        s.lane.running,
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

/// Builds through the server like any client; prints progress and the
/// packer's diagnostics the way a compiler does. Returns whether it succeeded.
fn build(dir: &Path, clean: bool, target: Option<&str>, as_json: bool) -> Result<bool> {
    let (mut client, id) = open(dir, false)?;
    let show_bar = !as_json && std::io::stderr().is_terminal();
    let bar = indicatif::ProgressBar::hidden();
    if show_bar {
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg:>12} [{bar:30}] {pos}/{len} {elapsed}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
    }
    let shared = bar.clone();
    let plain = !as_json && !show_bar;
    let mut last_plain = std::time::Instant::now() - std::time::Duration::from_secs(1);
    client.on_notification = Box::new(move |n| {
        if n["method"] != "packer/event" || n["params"]["kind"] != "progress" {
            return;
        }
        let p = &n["params"];
        let (done, total) = (p["done"].as_u64().unwrap_or(0), p["total"].as_u64().unwrap_or(0));
        shared.set_length(total);
        shared.set_position(done);
        shared.set_message(p["message"].as_str().unwrap_or("").to_string());
        if plain && last_plain.elapsed() >= std::time::Duration::from_millis(500) {
            last_plain = std::time::Instant::now();
            eprintln!("  {done}/{total} {}", p["message"].as_str().unwrap_or(""));
        }
    });
    let mut params = json!({ "projectId": id, "clean": clean });
    if let Some(target) = target {
        params["target"] = json!(target);
    }
    let result = client.request("packer/build", params);
    client.close();
    bar.finish_and_clear();
    let r = result.map_err(rpc)?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(r["outcome"] == "succeeded");
    }
    let r: BuildResult = cli::typed("packer/build", r)?;
    for d in &r.diagnostics {
        eprintln!("{}", cli::render::diagnostic(d));
    }
    let s = &r.stats;
    match r.outcome {
        BuildOutcome::Succeeded => {
            for p in &r.packs {
                let state = if p.written { "written" } else { "unchanged" };
                println!("  {} ({} assets, {} bytes, {state})", p.path, p.assets, p.bytes);
            }
            if r.targets.len() > 1 {
                for t in &r.targets {
                    let (name, profile, ts) = (&t.target, cli::render::name(&t.profile), &t.stats);
                    println!("  target {name} ({profile}): {} processed, {} reused", ts.processed, ts.reused);
                }
            }
            println!(
                "built {} assets: {} processed, {} reused, {} bytes in, {} bytes out, in {} ms",
                s.assets, s.processed, s.reused, s.bytes_in, s.bytes_out, s.duration_ms
            );
            if let Some(line) = remote_line(&s.remote) {
                println!("{line}");
            }
            Ok(true)
        }
        other => {
            eprintln!("build {}: every pack is as it was", cli::render::name(&other));
            Ok(false)
        }
    }
}

/// The remote cache's statistics as one line; none when it was not used.
fn remote_line(r: &RemoteStats) -> Option<String> {
    if r.mode == studio_packer::project::format::manifest::RemoteMode::Off {
        return None;
    }
    Some(format!(
        "remote cache ({}): {} hits, {} misses, {} corrupt, {} uploaded, {} errors, {} bytes down, {} bytes up",
        cli::render::name(&r.mode),
        r.hits,
        r.misses,
        r.corrupt,
        r.uploaded,
        r.errors,
        r.bytes_down,
        r.bytes_up
    ))
}

fn cache_stats(dir: &Path, as_json: bool) -> Result<()> {
    let (mut client, id) = open(dir, false)?;
    let result = client.request("packer/cacheStats", json!({ "projectId": id }));
    client.close();
    let s = result.map_err(rpc)?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(());
    }
    let s: CacheStatsResult = cli::typed("packer/cacheStats", s)?;
    let local = &s.local;
    let bound = match local.max_size {
        Some(max) => format!("max_size {max} bytes"),
        None => "no max_size".to_string(),
    };
    println!(
        "local cache: {} entries, {} bytes ({} on disk in {} segments; {bound})",
        local.entries, local.bytes, local.disk_bytes, local.segments
    );
    match &s.remote {
        Some(remote) => println!("remote cache: {} ({})", remote.url, cli::render::name(&remote.mode)),
        None => println!("remote cache: none"),
    }
    Ok(())
}

/// Prunes through the server (in the project's lane, never beside a
/// build). Returns whether it succeeded.
fn cache_prune(dir: &Path, max_size: Option<&str>, as_json: bool) -> Result<bool> {
    let max = match max_size {
        Some(text) => Some(
            studio_packer::project::format::manifest::parse_size(text)
                .with_context(|| format!("--max-size {text:?}: not a size (e.g. 2GiB, 500MB, 1048576)"))?,
        ),
        None => None,
    };
    let (mut client, id) = open(dir, false)?;
    let mut params = json!({ "projectId": id });
    if let Some(max) = max {
        params["maxSize"] = json!(max);
    }
    let result = client.request("packer/pruneCache", params);
    client.close();
    let r = result.map_err(rpc)?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(r["outcome"] == "succeeded");
    }
    let r: PruneCacheResult = cli::typed("packer/pruneCache", r)?;
    match (&r.outcome, &r.evicted, &r.after, r.max_size) {
        (BuildOutcome::Succeeded, Some(evicted), Some(after), Some(max)) => println!(
            "evicted {} entries ({} bytes); the cache holds {} entries in {} bytes (max {max})",
            evicted.entries, evicted.bytes, after.entries, after.bytes
        ),
        _ => {
            for d in &r.diagnostics {
                eprintln!("{}", cli::render::diagnostic(d));
            }
        }
    }
    Ok(r.outcome == BuildOutcome::Succeeded)
}

fn merge_registry(base: &Path, ours: &Path, theirs: &Path, name: &str) -> ExitCode {
    use studio_packer::git::{self, MergeOutcome};
    match git::merge_registry(base, ours, theirs, name) {
        Ok(MergeOutcome::Clean { entries }) => {
            eprintln!("{name}: merged by asset id ({entries} assets)");
            ExitCode::SUCCESS
        }
        Ok(MergeOutcome::Conflicts(conflicts)) => {
            eprintln!(
                "{name}: {} conflict(s), each recorded as a `conflict` line after the entries (which hold our side):",
                conflicts.len()
            );
            for c in &conflicts {
                eprintln!("  {}", c.describe());
            }
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}; nothing merged");
            ExitCode::from(2)
        }
    }
}

fn check(dir: &Path, as_json: bool) -> ExitCode {
    let report = match studio_packer::check::check(dir) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if as_json {
        println!("{}", serde_json::to_string_pretty(&report).expect("a report serialises"));
    } else {
        // Paths as the person would open them from here.
        let shown =
            |file: &str| if dir == Path::new(".") { file.to_string() } else { dir.join(file).display().to_string() };
        for f in &report.findings {
            let file = f.path.as_deref().unwrap_or_default();
            let at = match (f.line, f.column) {
                (Some(l), Some(c)) => format!("{}:{l}:{c}", shown(file)),
                (Some(l), None) => format!("{}:{l}", shown(file)),
                _ => shown(file),
            };
            let severity = serde_json::to_value(f.severity).ok().and_then(|v| v.as_str().map(str::to_string));
            println!("{at}: {}[{}]: {}", severity.unwrap_or_default(), f.code, f.message);
        }
        let clean = if report.clean { "clean" } else { "not clean" };
        println!("{clean}: {} error(s), {} warning(s), {} asset(s)", report.errors, report.warnings, report.assets);
    }
    if report.clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn git_setup(dir: Option<&Path>, pre_commit: bool) -> Result<()> {
    use studio_packer::git::Hook;
    let dir = absolute(dir.unwrap_or(Path::new(".")))?;
    let setup = studio_packer::git::setup(&dir, pre_commit).map_err(|e| anyhow::anyhow!(e))?;
    println!(
        "{}: the registry is merged by asset id ({}the merge driver `{}` is in the repository's config)",
        setup.repository.display(),
        if setup.attributes_added { "`.gitattributes` names it; " } else { "" },
        studio_packer::git::DRIVER
    );
    for (name, hook) in &setup.hooks {
        match hook {
            Hook::Installed => println!("{name} hook: installed"),
            Hook::Present => println!("{name} hook: already installed"),
            Hook::Foreign { path, line } => {
                println!(
                    "{name} hook: {} is not ours and was left alone; add this line to it:\n  {line}",
                    path.display()
                )
            }
        }
    }
    Ok(())
}

fn inspect(pack: &Path) -> Result<()> {
    let r = studio_packer::build::pack::PackReader::open(pack)?;
    println!("{} entries, {} bytes, checksum {}", r.entries().len(), r.len(), studio_packer::hash::hex(&r.checksum()));
    for e in r.entries() {
        // A texture: its size, `VkFormat` and levels, as the table says.
        let texture = if e.image.vk_format != 0 {
            let i = &e.image;
            format!(" {}x{} vk{} {} levels", i.width, i.height, i.vk_format, i.levels)
        } else {
            String::new()
        };
        println!(
            "{:<40} {:<26} {:<6} {:<5} {:>9} -> {:>9} {}{texture}",
            e.path,
            e.asset_id,
            e.kind.as_str(),
            e.format.as_str(),
            e.raw_length,
            e.length,
            if e.compression == studio_packer::build::pack::Compression::Zstd { "zstd" } else { "raw" }
        );
    }
    Ok(())
}

fn verify(pack: &Path) -> Result<()> {
    let r = studio_packer::build::pack::PackReader::open(pack)?;
    r.verify()?;
    println!("ok: {} entries, checksum {}", r.entries().len(), studio_packer::hash::hex(&r.checksum()));
    Ok(())
}

fn unpack(pack: &Path, dir: &Path) -> Result<()> {
    let r = studio_packer::build::pack::PackReader::open(pack)?;
    for e in r.entries() {
        // A pack is input like any other: its paths must stay inside DIR.
        let rel = studio_packer::project::model::paths::normalize(&e.path)
            .map_err(|p| anyhow::anyhow!("refusing entry `{}`: {}", e.path, p.message))?;
        let target = studio_packer::project::model::paths::absolute(dir, &rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&target, r.read(e)?).with_context(|| format!("writing {}", target.display()))?;
    }
    println!("unpacked {} entries into {}", r.entries().len(), dir.display());
    Ok(())
}
