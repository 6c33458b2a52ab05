//! A bound on the pixels and sound samples a build holds in memory at once.
//!
//! Cooking a texture holds its decoded pixels, the floating-point copies a
//! mip level is filtered from and the levels made so far: about
//! [`BYTES_PER_PIXEL`] bytes per source pixel at its peak, so an 8192²
//! source takes 2 GiB. With one texture per worker thread, a few such
//! textures at once would take more memory than a workstation has. Each
//! unit of work takes its share of a budget before it starts and gives it
//! back when done; a unit that would not fit waits for others to finish.
//! A unit larger than the whole budget runs when nothing else holds any,
//! alone, so it is never refused.
//!
//! A thread that holds a share never waits for another: a rayon worker that
//! waits for the strips of its own texture may be handed another unit
//! meanwhile (work stealing), and waiting there for its own share to come
//! back would never end. Such a nested unit runs over the budget instead.

use std::sync::{Condvar, Mutex};

/// Peak bytes a texture's cook holds per source pixel: RGBA8 (4), two f32
/// RGBA levels being filtered (16 + 4), the RGBA8 chain (about 5.3) and the
/// encoded chain (at most 1.4).
pub const BYTES_PER_PIXEL: u64 = 32;

/// The budget of a build: 4 GiB of pixels in flight.
pub const DEFAULT_BUDGET: u64 = 4 << 30;

/// Bytes of memory the units of a build may hold at once.
pub struct Budget {
    total: u64,
    held: Mutex<u64>,
    freed: Condvar,
}

/// A share of the budget, given back when dropped.
pub struct Share<'a> {
    budget: &'a Budget,
    bytes: u64,
}

impl Budget {
    pub fn new(total: u64) -> Budget {
        Budget { total: total.max(1), held: Mutex::new(0), freed: Condvar::new() }
    }

    /// Takes `bytes` of the budget, waiting until they fit (a share larger
    /// than the whole budget waits until nothing else is held).
    pub fn take(&self, bytes: u64) -> Share<'_> {
        let bytes = bytes.min(self.total);
        let mut held = self.held.lock().expect("budget lock");
        let nested = HOLDING.with(|h| h.get() > 0);
        while !nested && *held + bytes > self.total {
            held = self.freed.wait(held).expect("budget lock");
        }
        *held += bytes;
        HOLDING.with(|h| h.set(h.get() + 1));
        Share { budget: self, bytes }
    }

    /// Bytes held now.
    #[cfg(test)]
    fn held(&self) -> u64 {
        *self.held.lock().expect("budget lock")
    }
}

thread_local! {
    /// Shares the current thread holds.
    static HOLDING: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

impl Drop for Share<'_> {
    fn drop(&mut self) {
        HOLDING.with(|h| h.set(h.get() - 1));
        let mut held = self.budget.held.lock().expect("budget lock");
        *held -= self.bytes;
        self.budget.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn shares_never_exceed_the_budget_and_a_huge_one_runs_alone() {
        let budget = Budget::new(100);
        let peak = AtomicU64::new(0);
        std::thread::scope(|s| {
            for size in [60, 50, 40, 1_000, 30, 70] {
                let (budget, peak) = (&budget, &peak);
                s.spawn(move || {
                    let _share = budget.take(size);
                    peak.fetch_max(budget.held(), Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                });
            }
        });
        assert!(peak.load(Ordering::SeqCst) <= 100);
        assert_eq!(budget.held(), 0);
    }

    #[test]
    fn a_thread_holding_a_share_never_waits_for_another() {
        let budget = Budget::new(100);
        let outer = budget.take(80);
        let inner = budget.take(80);
        assert_eq!(budget.held(), 160);
        drop(inner);
        drop(outer);
        assert_eq!(budget.held(), 0);
    }
}
