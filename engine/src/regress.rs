//! The seeded regression catalogue: realistic bugs an engine change could introduce, compiled in
//! only with the `regressions` feature and selected at run time, so the harness can prove it
//! catches each one (`sim mutants`).
//!
//! Selection: [`with`] sets the active regression for the current thread (what `sim mutants`
//! does); otherwise the `ENGINE_REGRESSION` environment variable selects one for the whole
//! process (what `just mutants-props` does for the props and snapshots suites).

use std::cell::Cell;
use std::sync::OnceLock;

/// One seeded bug. Each variant's doc is its one-line description.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Regression {
    /// file_hashout drops the exec byte.
    DropExecByte,
    /// The hashout is rendered zero-padded (`{:016x}`).
    ZeroPaddedHashout,
    /// `is_passthrough` ignores the tmp condition (cacheable revisions pass through).
    GateIgnoresTmp,
    /// The exec driver marks its outputs passthrough (a dangling sandbox path).
    ExecMarksPassthrough,
    /// The plugin ABI carries the passthrough flag across.
    AbiKeepsPassthrough,
    /// Only `reader()` verifies; `walk()` entries are unverified.
    WalkUnverified,
    /// Only the first chunk of a file is hashed.
    HashFirstChunkOnly,
    /// Verification uses the live exec bit instead of the recorded one.
    LiveExecBitVerify,
    /// Failure is not sticky: a read after a failed EOF returns Ok(0) (heph's behaviour).
    NonStickyFailure,
    /// A zero-length read triggers verification on a partial hash (heph's behaviour).
    ZeroLengthReadVerifies,
    /// The ABI chunked read maps read errors to EOF (heph's behaviour).
    AbiErrorToEof,
    /// The packer defers reading a File to consume time instead of packing it.
    PackAtConsumeTime,
    /// Verification is skipped for files under 4 KiB.
    SkipSmallVerify,
    /// The walker trusts size + mtime even for racy entries, in the racy mode.
    RacyTrustsCache,
    /// The OS copy stops at the size declared at open instead of reading to EOF.
    CopyStopsAtDeclaredSize,
    /// The exec sandbox is kept after caching.
    SandboxKept,
    /// Materializing an executable entry indexes a two-entry mode table one past its end (a panic).
    ModeTableOffByOne,
    /// Hashin concatenates the input hashouts in input order instead of sorted.
    HashinUnsorted,
    /// An exec target's key leaves out its definition (steps, outputs, consumer path).
    KeyIgnoresDefinition,
    /// The walker cache validates by mtime alone, ignoring the size.
    WalkerIgnoresSize,
    /// The async verifying reader hashes everything filled in the ReadBuf, not only the new bytes.
    AsyncRehashesFilled,
    /// The async verifying reader's failure is not sticky: a read after it returns Ok.
    AsyncNonSticky,
    /// Tar unpacking drops the exec bit of every entry.
    UnpackDropsExecBit,
    /// Use_tmp_cache ignores shell mode: a cached shell target packs into the local cache.
    ShellCaches,
    /// Fs:glob skips empty files.
    GlobSkipsEmptyFiles,
    /// A View's hashout leaves out its relocation prefix.
    ViewHashoutIgnoresRelocate,
    /// A plugin reuses the sandbox a failed run left, and materialization only ever adds +x:
    /// the engine's own bug before the oracle read sandboxes (a truncated file keeps its mode).
    PluginSandboxReused,
    /// Tar unpacking reads names from the 100-byte header field, cutting long names.
    LongNameTruncated,
    /// The OS copy opens each input's sources only when it gets to them, after reading the
    /// earlier inputs (SPEC §6 opens every source while collecting, before any read).
    CopyOpensLazily,
    /// An exec output is recorded without its exec bit (the sandbox file's mode is ignored).
    ExecOutputDropsMode,
    /// git's stat match leaves out the inode number.
    GitIgnoresInode,
    /// ccache's "too new" test compares the file's stamps with the recording time, not the
    /// compile's start.
    CcacheTooNewFromRecording,
    /// Cargo's dep-info keeps the time it was written instead of being rewound to the build's
    /// start.
    CargoDepInfoNotRewound,
    /// Mercurial's "unsure" window is the file system's step, not at least a second.
    MercurialUnsureAtGranularity,
    /// Bazel's guard does not look into views: sources reached through a group go unchecked.
    GuardSkipsViews,
    /// ccache's "too new" check of the source reads its mtime only, not its ctime.
    TooNewIgnoresCtime,
    /// Fs:glob skips a matched file on any I/O error (EIO too), not only when it cannot be read.
    GlobSkipsIoErrors,
    /// Fs:glob fails on a matched file it may not read instead of skipping it.
    GlobFailsOnDenied,
    /// A plugin exposes a source with the hash the walker recorded for it earlier, without asking the walker (no stat, no read).
    PluginReusesRecordedHash,
    /// Ordering takes a target reached a second time (a diamond) for a dependency cycle.
    SpuriousCycle,
    /// A read loop retries interrupted reads without its bound.
    InterruptsUnbounded,
    /// The async consumer paths no longer report EOF at their probe point.
    AsyncSkipsEofProbe,
    /// A glob's definition hash leaves out its excludes (a serde skip on the field).
    DefHashSkipsExcludes,
    /// The walker hashes exactly the size its stat gave: zeros past an early EOF, nothing past it.
    HashPadsToStatSize,
    /// Verification at EOF re-hashes the file at its path instead of the bytes it streamed.
    VerifyRehashesPath,
    /// The tmp cache keeps a blob over its per-entry limit in memory instead of spilling it.
    TmpKeepsOversizedBlobs,
    /// A consumer whose materialization fails removes its sandbox (a cleanup on the error path).
    SandboxRemovedOnFailure,
    /// A verification failure's message leaves out the source path.
    VerifyMessageOmitsPath,
    /// An fs:file target whose path is a directory produces no artifact instead of failing.
    DirectoryYieldsNothing,
    /// The walker takes the exec bit from a symlink's own mode instead of its target's.
    ExecBitFromLink,
    /// Cache tars are named after their group alone, without the role prefix.
    TarNameOmitsRole,
    /// A local entry's manifest is written even when one of its tars could not be.
    CommitDespiteFailedTar,
    /// A target with nothing to pack still writes an (empty) cache entry.
    WritesEmptyEntries,
    /// A path generated in place (`.heph*`) is hashed like a source and gets an artifact.
    GeneratedPathsHashed,
    /// Caching accepts a target whose outputs repeat a group name.
    DuplicateGroupsAccepted,
    /// Ours stamps a hash with the path's `stat` taken before the open, not the opened file's.
    OursStampsFromPath,
    /// The tmp cache spills a blob exactly at its per-entry limit (`<` for `<=`).
    TmpSpillsAtLimit,
    /// The reader-based consumer paths relocate a View nested in a View by its own prefix only.
    NestedViewLosesPrefix,
    /// The glob walk stops two directories below the workspace root (deeper ones are skipped).
    GlobSkipsDeepDirs,
    /// A sound manifest is served whatever key it names (an entry copied under another key).
    ManifestKeyUnchecked,
    /// The glob walk skips generated `.heph*` paths only at the workspace root, not in its
    /// directories (a path's first component compared instead of the entry's name).
    GeneratedSkippedAtRootOnly,
    /// A plugin's inputs are not put through the ABI's wire form, so a View is read as if it
    /// could cross it.
    ViewsCrossAbi,
    /// heph's listing cache compares the directory's inode instead of its mtime, so a listing
    /// stands after entries were added or removed.
    ListingIgnoresMtime,
    /// Ours trusts a directory listing read within its directory's timestamp step.
    OursListingSkipsRacyTest,
    /// The exec bit is the owner's x bit alone, not any of the three.
    ExecBitOwnerOnly,
    /// The glob walk prunes a directory an exclude matches, leaving out the files beneath it
    /// that no exclude matches.
    GlobPrunesExcludedDirs,
    /// A path is taken as generated in place only by its file name or a root `.heph`
    /// directory, not by a `.heph*` directory deeper in it.
    GeneratedDirMissedBelowRoot,
    /// The packer checks a sandbox file against its hashout for outputs only, packing a log
    /// written since it was hashed.
    PackSkipsLogCheck,
    /// heph's listing cache trusts a directory whose mtime went back, not only an unchanged one.
    ListingTrustsOlderMtime,
    /// `Target::fs_glob` builds its target with the cache on.
    GlobConstructorCaches,
    /// The verifying reader's failure names the expected hash but not the one it read.
    VerifyMessageOmitsReadHash,
    /// The guard checks the sources a View holds directly, not those of a View nested in it.
    GuardChecksOneViewDeep,
    /// Bazel's proxy guard compares the stamp of the file's newest digest, not of the digest
    /// the target's key was computed from.
    GuardTrustsNewestDigest,
    /// Ours trusts a remembered listing while the directory's mtime and inode are unchanged,
    /// without its ctime.
    OursListingIgnoresCtime,
    /// A source is taken as an external repository's when its path merely begins with the
    /// characters `external`, not when its first component is `external`.
    GuardExternalByPrefix,
    /// The tmp cache counts a blob put again at a path it holds in memory without taking off
    /// the bytes it replaces, so its account of memory grows past what it holds.
    TmpCountsReplacedBlob,
    /// Two targets with one hashin that pack in one instant of the clock share a tmp key, so
    /// the second's tars replace the first's.
    TmpKeySharedAcrossTargets,
    /// The local cache quarantines a tar it found damaged and never lets it go, so the entry
    /// rewritten in its place is still refused as damaged.
    DamageQuarantineSticky,
    /// A target whose outputs all pass through still writes their tars into the local cache:
    /// the gate holds back only the manifest.
    TarsBeforeGate,
    /// MemFs's rename leaves the mtime of the directory the name lands in alone (a rename across
    /// directories stamps only the one it left; blind set L's `09`).
    MemfsRenameKeepsTargetDirMtime,
    /// A glob pattern that does not parse is left out of the set instead of refused: the glob
    /// quietly matches with the rest (with none, nothing).
    BadGlobPatternSkipped,
    /// A sandbox that cannot be removed after a success is left behind silently: the target
    /// reports success with its sandbox still there.
    SandboxRemovalErrorIgnored,
    /// The ABI decoder takes bytes after the header of a non-`Raw` artifact as padding instead
    /// of refusing the frame.
    WireKeepsTrailingBytes,
    /// Fs:glob does not descend into hidden directories (`.name/`), as if only `.heph*` ones
    /// were not generated in place (blind set M's `03`).
    GlobSkipsHiddenDirs,
    /// After the stream verified, the reader checks the file's size at its path once more and
    /// fails when it moved: a change made after the last byte was read fails a consumer that
    /// was delivered exactly the bytes hashed.
    VerifyGuardsSizeByPath,
    /// The listing cache keeps the first listing it read of a directory and never replaces
    /// it (blind set M's `02`): from the second change on, the directory is read every time.
    ListingKeepsFirst,
    /// The walker cache keeps the first hash it recorded of a file and never replaces it: once
    /// a file changed, every later build hashes it again instead of answering from memory.
    WalkerKeepsFirst,
    /// The walker hashes an empty file afresh instead of looking it up (as cheap as the
    /// lookup, so "an optimisation"): an empty file's remembered hash, stale or not, is never
    /// answered, unlike every other file's.
    EmptySkipsWalkerCache,
    /// A path is refused as escaping when its text holds `..` anywhere, not only as a
    /// component (blind set N's `11`): a source named `f0..v2.txt` fails to build.
    DotdotSubstringRefused,
}

impl Regression {
    /// Every regression, in catalogue order.
    pub const ALL: [Regression; 89] = [
        Regression::DropExecByte,
        Regression::ZeroPaddedHashout,
        Regression::GateIgnoresTmp,
        Regression::ExecMarksPassthrough,
        Regression::AbiKeepsPassthrough,
        Regression::WalkUnverified,
        Regression::HashFirstChunkOnly,
        Regression::LiveExecBitVerify,
        Regression::NonStickyFailure,
        Regression::ZeroLengthReadVerifies,
        Regression::AbiErrorToEof,
        Regression::PackAtConsumeTime,
        Regression::SkipSmallVerify,
        Regression::RacyTrustsCache,
        Regression::CopyStopsAtDeclaredSize,
        Regression::SandboxKept,
        Regression::ModeTableOffByOne,
        Regression::HashinUnsorted,
        Regression::KeyIgnoresDefinition,
        Regression::WalkerIgnoresSize,
        Regression::AsyncRehashesFilled,
        Regression::AsyncNonSticky,
        Regression::UnpackDropsExecBit,
        Regression::ShellCaches,
        Regression::GlobSkipsEmptyFiles,
        Regression::ViewHashoutIgnoresRelocate,
        Regression::PluginSandboxReused,
        Regression::LongNameTruncated,
        Regression::CopyOpensLazily,
        Regression::ExecOutputDropsMode,
        Regression::GitIgnoresInode,
        Regression::CcacheTooNewFromRecording,
        Regression::CargoDepInfoNotRewound,
        Regression::MercurialUnsureAtGranularity,
        Regression::GuardSkipsViews,
        Regression::TooNewIgnoresCtime,
        Regression::GlobSkipsIoErrors,
        Regression::GlobFailsOnDenied,
        Regression::PluginReusesRecordedHash,
        Regression::SpuriousCycle,
        Regression::InterruptsUnbounded,
        Regression::AsyncSkipsEofProbe,
        Regression::DefHashSkipsExcludes,
        Regression::HashPadsToStatSize,
        Regression::VerifyRehashesPath,
        Regression::TmpKeepsOversizedBlobs,
        Regression::SandboxRemovedOnFailure,
        Regression::VerifyMessageOmitsPath,
        Regression::DirectoryYieldsNothing,
        Regression::ExecBitFromLink,
        Regression::TarNameOmitsRole,
        Regression::CommitDespiteFailedTar,
        Regression::WritesEmptyEntries,
        Regression::GeneratedPathsHashed,
        Regression::DuplicateGroupsAccepted,
        Regression::OursStampsFromPath,
        Regression::TmpSpillsAtLimit,
        Regression::NestedViewLosesPrefix,
        Regression::GlobSkipsDeepDirs,
        Regression::ManifestKeyUnchecked,
        Regression::GeneratedSkippedAtRootOnly,
        Regression::ViewsCrossAbi,
        Regression::ListingIgnoresMtime,
        Regression::OursListingSkipsRacyTest,
        Regression::ExecBitOwnerOnly,
        Regression::GlobPrunesExcludedDirs,
        Regression::GeneratedDirMissedBelowRoot,
        Regression::PackSkipsLogCheck,
        Regression::ListingTrustsOlderMtime,
        Regression::GlobConstructorCaches,
        Regression::VerifyMessageOmitsReadHash,
        Regression::GuardChecksOneViewDeep,
        Regression::GuardTrustsNewestDigest,
        Regression::OursListingIgnoresCtime,
        Regression::GuardExternalByPrefix,
        Regression::TmpCountsReplacedBlob,
        Regression::TmpKeySharedAcrossTargets,
        Regression::DamageQuarantineSticky,
        Regression::TarsBeforeGate,
        Regression::MemfsRenameKeepsTargetDirMtime,
        Regression::BadGlobPatternSkipped,
        Regression::SandboxRemovalErrorIgnored,
        Regression::WireKeepsTrailingBytes,
        Regression::GlobSkipsHiddenDirs,
        Regression::VerifyGuardsSizeByPath,
        Regression::ListingKeepsFirst,
        Regression::WalkerKeepsFirst,
        Regression::EmptySkipsWalkerCache,
        Regression::DotdotSubstringRefused,
    ];

    /// The snake_case name.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    }

    /// The one-line description (the variant's doc).
    pub fn description(self) -> &'static str {
        match self {
            Regression::DropExecByte => "file_hashout drops the exec byte",
            Regression::ZeroPaddedHashout => "the hashout is rendered zero-padded ({:016x})",
            Regression::GateIgnoresTmp => {
                "is_passthrough ignores the tmp condition (cacheable revisions pass through)"
            }
            Regression::ExecMarksPassthrough => {
                "the exec driver marks its outputs passthrough (a dangling sandbox path)"
            }
            Regression::AbiKeepsPassthrough => "the plugin ABI carries the passthrough flag across",
            Regression::WalkUnverified => "only reader() verifies; walk() entries are unverified",
            Regression::HashFirstChunkOnly => "only the first chunk of a file is hashed",
            Regression::LiveExecBitVerify => {
                "verification uses the live exec bit instead of the recorded one"
            }
            Regression::NonStickyFailure => {
                "failure is not sticky: a read after a failed EOF returns Ok(0)"
            }
            Regression::ZeroLengthReadVerifies => {
                "a zero-length read triggers verification on a partial hash"
            }
            Regression::AbiErrorToEof => "the ABI chunked read maps read errors to EOF",
            Regression::PackAtConsumeTime => {
                "the packer defers reading a File to consume time instead of packing it"
            }
            Regression::SkipSmallVerify => "verification is skipped for files under 4 KiB",
            Regression::RacyTrustsCache => {
                "the walker trusts size + mtime even for racy entries, in the racy mode"
            }
            Regression::CopyStopsAtDeclaredSize => {
                "the OS copy stops at the size declared at open instead of reading to EOF"
            }
            Regression::SandboxKept => "the exec sandbox is kept after caching",
            Regression::ModeTableOffByOne => {
                "materializing an executable entry indexes its mode table one past the end (panic)"
            }
            Regression::HashinUnsorted => "hashin concatenates the input hashouts in input order instead of sorted",
            Regression::KeyIgnoresDefinition => "an exec target's key leaves out its definition (steps, outputs, consumer path)",
            Regression::WalkerIgnoresSize => "the walker cache validates by mtime alone, ignoring the size",
            Regression::AsyncRehashesFilled => "the async verifying reader hashes everything filled in the ReadBuf, not only the new bytes",
            Regression::AsyncNonSticky => "the async verifying reader's failure is not sticky: a read after it returns Ok",
            Regression::UnpackDropsExecBit => "tar unpacking drops the exec bit of every entry",
            Regression::ShellCaches => "use_tmp_cache ignores shell mode: a cached shell target packs into the local cache",
            Regression::GlobSkipsEmptyFiles => "fs:glob skips empty files",
            Regression::ViewHashoutIgnoresRelocate => "a View's hashout leaves out its relocation prefix",
            Regression::PluginSandboxReused => {
                "a plugin reuses the sandbox a failed run left, and materializing only ever adds +x"
            }
            Regression::CopyOpensLazily => {
                "the OS copy opens each input's sources only after reading the earlier inputs"
            }
            Regression::LongNameTruncated => "tar unpacking reads names from the 100-byte header field, cutting long names",
            Regression::ExecOutputDropsMode => {
                "an exec output is recorded without its exec bit (the sandbox file's mode is ignored)"
            }
            Regression::GitIgnoresInode => "git's stat match leaves out the inode number",
            Regression::CcacheTooNewFromRecording => {
                "ccache's too-new test uses the recording time instead of the compile's start"
            }
            Regression::CargoDepInfoNotRewound => {
                "Cargo's dep-info keeps its write time instead of the build's start"
            }
            Regression::MercurialUnsureAtGranularity => {
                "Mercurial's unsure window is the file system's step, not at least a second"
            }
            Regression::GuardSkipsViews => {
                "Bazel's guard does not look into views (sources reached through a group)"
            }
            Regression::TooNewIgnoresCtime => {
                "ccache's too-new check of the source reads its mtime only, not its ctime"
            }
            Regression::GlobSkipsIoErrors => {
                "fs:glob skips a matched file on any I/O error (EIO too), not only when it cannot be read"
            }
            Regression::GlobFailsOnDenied => {
                "fs:glob fails on a matched file it may not read instead of skipping it"
            }
            Regression::PluginReusesRecordedHash => "a plugin exposes a source with the walker's recorded hash, without asking the walker",
            Regression::SpuriousCycle => "ordering takes a target reached a second time (a diamond) for a cycle",
            Regression::InterruptsUnbounded => "a read loop retries interrupted reads without its bound",
            Regression::AsyncSkipsEofProbe => "the async consumer paths no longer report EOF at their probe point",
            Regression::DefHashSkipsExcludes => "a glob's definition hash leaves out its excludes",
            Regression::HashPadsToStatSize => "the walker hashes exactly the size its stat gave (zeros past an early EOF)",
            Regression::VerifyRehashesPath => "verification at EOF re-hashes the file at its path instead of the bytes streamed",
            Regression::TmpKeepsOversizedBlobs => "the tmp cache keeps a blob over its per-entry limit in memory instead of spilling it",
            Regression::SandboxRemovedOnFailure => "a consumer whose materialization fails removes its sandbox",
            Regression::VerifyMessageOmitsPath => "a verification failure's message leaves out the source path",
            Regression::DirectoryYieldsNothing => "an fs:file target whose path is a directory produces no artifact instead of failing",
            Regression::ExecBitFromLink => "the walker takes the exec bit from a symlink's own mode, not its target's",
            Regression::TarNameOmitsRole => "cache tars are named after their group alone, without the role prefix",
            Regression::CommitDespiteFailedTar => "a local entry's manifest is written even when one of its tars could not be",
            Regression::WritesEmptyEntries => "a target with nothing to pack still writes an empty cache entry",
            Regression::GeneratedPathsHashed => "a path generated in place (.heph*) is hashed like a source and gets an artifact",
            Regression::DuplicateGroupsAccepted => "caching accepts a target whose outputs repeat a group name",
            Regression::OursStampsFromPath => "ours stamps a hash with the path's stat taken before the open, not the opened file's",
            Regression::TmpSpillsAtLimit => "the tmp cache spills a blob exactly at its per-entry limit instead of keeping it in memory",
            Regression::NestedViewLosesPrefix => "the reader-based consumer paths drop the outer relocation of a View nested in a View",
            Regression::GlobSkipsDeepDirs => "the glob walk skips directories more than two levels below the workspace root",
            Regression::ManifestKeyUnchecked => "a local entry is served whatever key its manifest names",
            Regression::GeneratedSkippedAtRootOnly => "the glob walk skips generated .heph paths only at the workspace root",
            Regression::ViewsCrossAbi => "a plugin's inputs skip the ABI's wire form: a View crosses it",
            Regression::ListingIgnoresMtime => {
                "heph's listing cache compares the directory's inode, not its mtime"
            }
            Regression::OursListingSkipsRacyTest => {
                "ours trusts a directory listing read within its directory's step"
            }
            Regression::ExecBitOwnerOnly => "the exec bit is the owner's x bit alone (0o100)",
            Regression::GlobPrunesExcludedDirs => {
                "the glob walk prunes directories an exclude matches"
            }
            Regression::GeneratedDirMissedBelowRoot => {
                "a .heph* directory below the root does not make a path generated"
            }
            Regression::PackSkipsLogCheck => {
                "the packer checks outputs against their hashout but packs logs unchecked"
            }
            Regression::ListingTrustsOlderMtime => {
                "heph's listing cache trusts a directory whose mtime went back"
            }
            Regression::GlobConstructorCaches => "Target::fs_glob builds its target with the cache on",
            Regression::VerifyMessageOmitsReadHash => {
                "the verifying reader's failure names the expected hash, not the one it read"
            }
            Regression::GuardChecksOneViewDeep => {
                "the guard checks a View's own sources, not those of a View nested in it"
            }
            Regression::GuardTrustsNewestDigest => {
                "Bazel's proxy guard compares the newest digest's stamp, not the key's"
            }
            Regression::GuardExternalByPrefix => {
                "a source is external when its path begins with the characters `external`"
            }
            Regression::OursListingIgnoresCtime => {
                "ours trusts a listing while its directory's mtime and inode hold, ignoring ctime"
            }
            Regression::TmpKeySharedAcrossTargets => {
                "two targets with one hashin packing in one clock instant share a tmp key"
            }
            Regression::DamageQuarantineSticky => {
                "a tar found damaged stays refused after its entry is rewritten"
            }
            Regression::TarsBeforeGate => {
                "a target whose outputs all pass through still writes their tars"
            }
            Regression::MemfsRenameKeepsTargetDirMtime => {
                "MemFs's rename leaves the target directory's mtime alone"
            }
            Regression::BadGlobPatternSkipped => {
                "a glob pattern that does not parse is skipped, not refused"
            }
            Regression::SandboxRemovalErrorIgnored => {
                "a sandbox that cannot be removed after success is left silently"
            }
            Regression::WireKeepsTrailingBytes => {
                "the ABI decoder ignores bytes after a non-Raw artifact's header"
            }
            Regression::GlobSkipsHiddenDirs => "fs:glob skips every hidden directory",
            Regression::DotdotSubstringRefused => "a path holding `..` anywhere in its text is refused as escaping",
            Regression::EmptySkipsWalkerCache => "the walker hashes an empty file afresh instead of looking it up",
            Regression::WalkerKeepsFirst => "the walker cache keeps a file's first hash and never replaces it",
            Regression::ListingKeepsFirst => "the listing cache keeps a directory's first listing and never replaces it",
            Regression::VerifyGuardsSizeByPath => "verification at EOF fails when the file's size at its path moved after the last read",
            Regression::TmpCountsReplacedBlob => {
                "the tmp cache counts a blob put again at a held path twice, spilling too soon"
            }

        }
    }

    /// Parses a snake_case name.
    pub fn parse(name: &str) -> Option<Regression> {
        Regression::ALL.into_iter().find(|r| r.name() == name)
    }
}

thread_local! {
    static ACTIVE: Cell<Option<Option<Regression>>> = const { Cell::new(None) };
}

fn from_env() -> Option<Regression> {
    static ENV: OnceLock<Option<Regression>> = OnceLock::new();
    *ENV.get_or_init(|| {
        let name = std::env::var("ENGINE_REGRESSION").ok()?;
        let parsed = Regression::parse(&name);
        if parsed.is_none() && !name.is_empty() {
            // A misspelt name would otherwise run the reference engine and report "survived".
            let known: Vec<String> = Regression::ALL.iter().map(|r| r.name()).collect();
            eprintln!(
                "error: ENGINE_REGRESSION={name:?} names no seeded regression (known: {})",
                known.join(", ")
            );
            std::process::exit(2);
        }
        parsed
    })
}

/// The regression active on this thread.
#[inline]
pub fn active() -> Option<Regression> {
    ACTIVE.with(|a| a.get()).unwrap_or_else(from_env)
}

/// Runs `f` with `regression` active on this thread (None: the reference engine).
pub fn with<T>(regression: Option<Regression>, f: impl FnOnce() -> T) -> T {
    let before = ACTIVE.with(|a| a.replace(Some(regression)));
    let out = f();
    ACTIVE.with(|a| a.set(before));
    out
}

/// True when `regression` is active (the `regressed!` macro's expansion).
#[inline]
pub fn is(regression: Regression) -> bool {
    active() == Some(regression)
}
