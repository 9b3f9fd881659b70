//! The directory-listing cache of heph's walker (SPEC §2): a glob's walk reuses a directory's
//! remembered names while the policy trusts the directory's `stat`, instead of reading the
//! directory again.
//!
//! heph reuses a listing while the directory's mtime is unchanged, so a file created within one
//! timestamp step of the listing is missing from every later glob until the directory changes
//! again (a consumer silently builds without it). Ours trusts a listing only when the
//! directory's mtime, ctime and inode are unchanged and neither timestamp lies within the step
//! of the moment the listing was read (git's racy test, on a directory). Every other policy
//! lists the directory each time: their tools keep no listing cache of this kind.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::policy::{Policy, Stamp};
use crate::ctx::Ctx;
use crate::trace::Event;

/// At most this many directories' listings are remembered; beyond it all are forgotten.
pub const MAX_LISTINGS: usize = 1 << 16;

#[derive(Clone, Debug)]
struct Remembered {
    stamp: Stamp,
    names: Arc<[String]>,
}

/// Directory listings remembered with the `stat` of the directory they were read under.
#[derive(Debug, Default)]
pub struct ListingCache {
    entries: Mutex<BTreeMap<PathBuf, Remembered>>,
}

impl ListingCache {
    /// The names in `dir` (sorted, as `Fs::read_dir` gives them): remembered ones when
    /// `policy` trusts the directory's `stat`, else read afresh (and remembered when `policy`
    /// keeps listings).
    ///
    /// Architecture Invariant: the directory is stat'ed *before* it is read, so an entry added
    /// between the two changes the directory's mtime after the stamp; only a change within the
    /// same timestamp step can hide from the rule.
    pub fn list(&self, ctx: &Ctx, policy: Policy, dir: &Path) -> io::Result<Arc<[String]>> {
        if !policy.caches_listings() {
            return ctx.fs.read_dir(dir).map(Arc::from);
        }
        let meta = ctx.fs.metadata(dir)?;
        let granularity = ctx.fs.mtime_granularity_ns();
        if let Some(names) = self.lookup(dir, |was| policy.trusts_listing(was, &meta, granularity))
        {
            ctx.emit(Event::ListingCached { dir: dir.into() });
            return Ok(names);
        }
        let names: Arc<[String]> = ctx.fs.read_dir(dir)?.into();
        let stamp = Stamp {
            len: meta.len,
            mtime_ns: meta.mtime_ns,
            ctime_ns: meta.ctime_ns,
            ino: meta.ino,
            mode: meta.mode,
            recorded_at_ns: ctx.fs.now_nanos(),
            build_start_ns: 0,
        };
        debug_assert!(names.windows(2).all(|w| w[0] < w[1]), "read_dir sorts");
        self.remember(dir, stamp, names.clone());
        Ok(names)
    }

    fn lookup(&self, dir: &Path, trusted: impl Fn(&Stamp) -> bool) -> Option<Arc<[String]>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let remembered = entries.get(dir)?;
        trusted(&remembered.stamp).then(|| remembered.names.clone())
    }

    fn remember(&self, dir: &Path, stamp: Stamp, names: Arc<[String]>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_LISTINGS && !entries.contains_key(dir) {
            entries.clear();
        }
        if crate::regressed!(ListingKeepsFirst) {
            entries
                .entry(dir.to_path_buf())
                .or_insert(Remembered { stamp, names });
        } else {
            entries.insert(dir.to_path_buf(), Remembered { stamp, names });
        }
        debug_assert!(entries.len() <= MAX_LISTINGS);
    }

    /// Forgets everything (a fresh process).
    #[cfg(any(test, feature = "test-support"))]
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::{Fs, MemFs, MemFsConfig};
    use std::sync::Arc;

    const SECOND: u64 = 1_000_000_000;

    /// `d/a` is written and `d` listed half a second later, then `between` runs and `d` is listed again:
    /// the names the second listing gives and whether they came from the cache.
    fn second_listing(
        policy: Policy,
        granularity_ns: u64,
        between: impl Fn(&MemFs),
    ) -> (Vec<String>, bool) {
        let fs = Arc::new(MemFs::new(MemFsConfig {
            mtime_granularity_ns: granularity_ns,
            ..MemFsConfig::default()
        }));
        fs.advance_clock(SECOND / 10);
        fs.write(Path::new("d/a"), b"a").unwrap();
        // Half a second later: the same step at one second, long past it at one nanosecond.
        fs.advance_clock(SECOND / 2);
        let ctx = Ctx::new(fs.clone());
        let cache = ListingCache::default();
        assert_eq!(cache.list(&ctx, policy, Path::new("d")).unwrap()[..], ["a"]);
        between(&fs);
        let names = cache.list(&ctx, policy, Path::new("d")).unwrap();
        let cached = ctx
            .trace
            .events()
            .iter()
            .any(|e| matches!(e, Event::ListingCached { .. }));
        (names.to_vec(), cached)
    }

    /// `(policy, granularity, between, expected names, from the cache)`.
    type Case = (Policy, u64, fn(&MemFs), &'static [&'static str], bool);

    /// One line per case.
    fn check(cases: &[Case]) {
        for &(policy, granularity, between, names, cached) in cases {
            let got = second_listing(policy, granularity, between);
            let want: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            assert_eq!(got, (want, cached), "{policy:?} at {granularity} ns");
        }
    }

    #[test]
    fn each_policy_trusts_a_listing_by_its_own_rule() {
        fn nothing(_: &MemFs) {}
        fn add(fs: &MemFs) {
            fs.write(Path::new("d/b"), b"b").unwrap()
        }
        fn wait_then_add(fs: &MemFs) {
            fs.advance_clock(SECOND);
            add(fs)
        }
        fn wait(fs: &MemFs) {
            fs.advance_clock(SECOND);
        }
        use Policy::*;
        check(&[
            // heph's hole: an entry added in the listing's own step keeps the directory's mtime.
            (Heph, SECOND, add, &["a"], true),
            (Heph, 1, add, &["a", "b"], false),
            (Heph, SECOND, wait_then_add, &["a", "b"], false),
            (Heph, SECOND, nothing, &["a"], true),
            // Ours: a listing read within its directory's step is never trusted.
            (Ours, SECOND, add, &["a", "b"], false),
            (Ours, SECOND, nothing, &["a"], false),
            (Ours, SECOND, wait_then_add, &["a", "b"], false),
            (Ours, 1, wait, &["a"], true),
            // Every other tool lists the directory each time.
            (Git, SECOND, add, &["a", "b"], false),
            (Git, 1, wait, &["a"], false),
        ]);
    }

    #[test]
    fn a_full_cache_is_cleared_only_for_a_new_directory() {
        let cache = ListingCache::default();
        let stamp = Stamp {
            len: 0,
            mtime_ns: 0,
            ctime_ns: 0,
            ino: 1,
            mode: 0o755,
            recorded_at_ns: 0,
            build_start_ns: 0,
        };
        for i in 0..MAX_LISTINGS {
            cache.remember(Path::new(&format!("d{i}")), stamp, Arc::from([]));
        }
        cache.remember(Path::new("d0"), stamp, Arc::from([]));
        assert_eq!(cache.entries.lock().unwrap().len(), MAX_LISTINGS);
        cache.remember(Path::new("new"), stamp, Arc::from([]));
        assert_eq!(cache.entries.lock().unwrap().len(), 1);
    }
}
