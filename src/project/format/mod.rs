//! The project's own files and their formats: `packer.toml` (`manifest`),
//! `packer.registry.jsonl` with its conflict records (`registry`), the
//! three-way merge git asks for (`merge`) and the parsed registry cached in
//! binary (`registry_bin`).
//!
//! A layer above `model`: these files import `model` and each other, never
//! the disk, the snapshot or the write path.

pub mod manifest;
pub mod merge;
pub mod registry;
pub mod registry_bin;
