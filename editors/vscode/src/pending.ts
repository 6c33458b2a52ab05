// Methods the server answers that the generated model does not have yet.
//
// `packer/thumbnail` is served (src/protocol/mod.rs, METHODS and Request)
// and documented (protocol/README.md), but src/protocol/meta.rs has no row
// for it, so ./protocol (generated from that model) has neither its types
// nor its `Requests` entry. Until the model gains the row, its params and
// result are written here exactly as protocol/README.md and the Rust types
// (ThumbnailParams, model::ThumbnailResult) give them. Fix the model, then
// regenerate, and delete this file: the check below stops compiling as soon
// as ./protocol has the method, so these copies cannot outlive the need.

import type { RequestMethod, Requests } from "./protocol";

/** `packer/thumbnail` params (protocol/README.md). */
export interface ThumbnailParams {
  projectId: string;
  /** An image. */
  assetId: string;
  /** The longest side wanted, 1 to 1024. */
  size: number;
  /** A `name` of `[[build.targets]]`; the packer's default: the first declared. */
  target?: string;
}

/** `packer/thumbnail` result (protocol/README.md). */
export interface ThumbnailResult {
  target: string;
  /** The GPU format it was decoded from, as in `cooked`. */
  format: string;
  /** The mip level it was decoded from. */
  level: number;
  /** At most `size` on the longer side. */
  width: number;
  height: number;
  /** An 8-bit RGBA PNG, base64. */
  png: string;
}

interface Pending {
  "packer/thumbnail": { params: ThumbnailParams; result: ThumbnailResult };
}

/** The generated `Requests`, and the methods above. */
export type ClientRequests = Requests & Pending;
export type ClientMethod = keyof ClientRequests;

// Fails to compile once ./protocol has `packer/thumbnail`: use its types then.
const stillPending: "packer/thumbnail" extends RequestMethod ? never : true = true;
void stillPending;
