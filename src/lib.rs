//! Keeps a Rust build within the memory it has: from `build.rs` it estimates what *this*
//! build needs from its own dependency graph and warns with the exact fixes when memory is
//! short; the `cargo lowmem` tool in this package runs the build so that it fits.
//!
//! A crate such as polars-core takes 1.2-2.4 GiB in one rustc process (measured by feature set
//! and debuginfo level); with parallel jobs, full debuginfo and a 2-4 GB container the kernel
//! kills rustc and cargo prints only `signal: 9, SIGKILL: kill`.
//!
//! # The two halves
//! - **The library** (this crate, as a build-dependency): [`check()`] finds the memory that
//!   really applies (container limits included, this build's own running processes not counted
//!   as taken), reads the build settings in effect, estimates the build's need from its
//!   dependency graph (Cargo.lock and the manifests, narrowed to the target and the features
//!   cargo resolves), and when memory is short prints `cargo:warning` lines with the fixes that
//!   change this estimate. It hands your crate `cargo:rustc-env`/`cfg` hints, and checks the
//!   feature rules you set. It never fails a build unless you ask (`LOWMEM_BUILD=deny`).
//! - **The tool**, `cargo lowmem` (the `cargo-lowmem` binary; `cargo install lowmem_build`):
//!   `preflight` prints the same report before any build, with the plan it would follow;
//!   `build`, `check`, `test`, ... run cargo with itself as `RUSTC_WRAPPER`: each rustc starts
//!   only when its expected peak fits, the newest gives way under pressure (stopped while memory
//!   is tight, killed and retried alone when it runs out), every governed build under one memory
//!   limit shares one queue, every rustc's measured peak goes into the store in the target
//!   directory (which later estimates read first; behind sccache, the peak of the rustc its
//!   server runs), and after an OOM kill it says which crate and what to change.
//!   With `--report` it draws where the memory went (an HTML file under the target directory;
//!   `cargo lowmem report <file>` redraws one). Building this crate as a dependency never builds
//!   the binary.
//!
//! ```no_run
//! // build.rs
//! # #[allow(clippy::needless_doctest_main)]
//! fn main() {
//!     lowmem_build::check();
//! }
//! ```
//! or, configured:
//! ```no_run
//! # #[allow(clippy::needless_doctest_main)]
//! fn main() {
//!     lowmem_build::Config::new()
//!         .policy(lowmem_build::Policy::Deny)
//!         .check();
//! }
//! ```
//! or, leaving the failing to you ([`try_check()`] prints what warn mode prints and returns
//! [`Error`] when the policy fails the build):
//! ```no_run
//! fn main() -> Result<(), lowmem_build::Error> {
//!     lowmem_build::try_check()?;
//!     Ok(())
//! }
//! ```
//! The same check without printing anything, e.g. in a test or a tool:
//! ```
//! let report = lowmem_build::Config::new()
//!     .cargo_directives(false)
//!     .memory(2 << 30) // pretend a 2 GiB runner
//!     .manifest_path(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
//!     .check();
//! println!("{report}");
//! assert_eq!(report.budget_mib(), 2048);
//! let estimate = report.estimate.expect("this package has a Cargo.lock");
//! assert!(estimate.crates >= 1);
//! ```
//!
//! # The estimate
//! What the build needs: the smallest memory limit under which it finishes without an OOM
//! kill. That is close to the build's peak of *anonymous* memory, not of summed RSS (concurrent
//! rustc processes share the compiler's library, and a linker's resident set is mostly mapped
//! input files the kernel reclaims): measured, a web-service build whose summed RSS peaked at
//! 770 MiB finished in a 520 MiB memory cgroup. The estimate works it out from:
//! - **the graph**: the packages this build compiles, from the workspace's Cargo.lock and the
//!   manifests (without running cargo), with cargo's feature resolution and the target's `cfg`
//!   (from cargo's `CARGO_CFG_*`; `rustc --print cfg` outside a build script or for the host
//!   when cross-compiling); which are built for the host (build scripts' and proc-macros'
//!   dependencies, always with `debug = 0`); cached in the target directory.
//! - **each crate's peak**, from the best source there is: measured on this machine by an
//!   earlier build (the store `cargo lowmem` writes, [`store`]); else the table shipped in this
//!   crate, measured from real builds of tokio/axum, arrow/parquet, polars, datafusion and the
//!   syn/serde family by debuginfo level and opt-level (features that matter, such as polars'
//!   dtypes, pick the row); else a model of the crate's size and dependencies fitted on that
//!   corpus.
//! - **the build's heaviest moment**: the crate at its peak plus what cargo runs beside it at
//!   the jobs in effect. Measured, cargo starts a library's dependents when its metadata is
//!   ready (pipelining), so they compile beside its code generation, where a large crate peaks;
//!   crates with no dependency between them seldom peak together. The shares are fitted on the
//!   corpus. A final link counts from the size of what it links.
//!
//! The repository's README publishes the model's error against measured builds.
//!
//! # Feature sets
//! The same `Config` verifies that the minimal feature sets your build relies on are what cargo
//! actually resolved: one crate anywhere in the graph that turns on `polars/dtype-full` (or
//! leaves polars' default `dtype-slim` on) silently brings back gigabytes of compile memory.
//! Checking the resolved graph is behind the crate's `feature-check` cargo feature, which is off
//! by default because it makes building this crate about 28% slower (the README's costs):
//! ```toml
//! [build-dependencies]
//! lowmem_build = { version = "0.1", features = ["feature-check"] }
//! ```
//! Without it the rule setters below still compile, but `check()` cannot check the rules: it
//! warns once with that line (deny mode fails, since nothing would enforce the rules).
//! ```no_run
//! lowmem_build::Config::new()
//!     .polars_minimal_dtypes()                  // polars and polars-core: at most the five dtypes
//!     .forbid_features("arrow", &["ffi"])       // these must be off
//!     .allow_only_features("polars", "dtype-*", &["dtype-i8", "dtype-date"])
//!     .require_features("polars", &["lazy"])    // these must be on
//!     .check();
//! ```
//! The rules can also be declared as data, where `cargo lowmem` reads them too (it checks each
//! rustc's features as the crate is about to compile, and in deny mode stops the build there):
//! ```toml
//! [package.metadata.lowmem_build]               # or [workspace.metadata.lowmem_build]
//! polars-minimal-dtypes = true
//! forbid-features = { arrow = ["ffi"] }
//! allow-only-features = { polars = { pattern = "dtype-*", allowed = ["dtype-i8", "dtype-date"] } }
//! require-features = { polars = ["lazy"] }
//! ```
//! "Resolved" means what rustc receives for this build: the calling package, its active
//! features, the build's target, normal dependencies only, as
//! `cargo tree -e normal,features --target <TARGET>` shows it (not `cargo metadata`'s union over
//! dev and build dependencies and every platform). The nested cargo runs with `--locked
//! --offline`, your `CARGO_ENCODED_RUSTFLAGS` and a 20 s timeout; it never writes Cargo.lock
//! and never reaches the network. A second, inverted `cargo tree` runs only when a rule is broken,
//! to say who turned the features on. A violation is one line naming the crate, the features,
//! the chain that enabled them and the fix, e.g. "feature `full` of crate `helper` enables
//! `polars/dtype-full` (app -> helper/full -> polars/dtype-full); fix: app/Cargo.toml: remove
//! `full` from the features of `helper`". A fix is only an edit in the workspace's own manifests
//! that gives up nothing but the forbidden features or what the workspace's own crates define.
//! Where none is known to be safe, the line gives the choices instead: a crate outside the
//! workspace that turns the features on in its own manifest cannot be changed from here (on
//! polars 0.55.2, "no fix in this workspace: `polars-time` is not a package of it and turns them
//! on itself; it comes in through the dependencies on `polars`, `polars-io` in Cargo.toml;
//! choices: allow them in the feature rules, or change those dependencies (another version,
//! other features)"), and dropping a feature of someone else's crate that implies forbidden
//! ones may break the build in ways the graph does not show ("no sure fix: ..."). When `cargo
//! tree` cannot run, one warning says why and the build goes on. A rule about a crate that is not
//! in the graph is no violation (a note in verbose mode). In a registry or git dependency's build
//! script the check is skipped (it would see the wrong workspace).
//!
//! The verdict is cached in `OUT_DIR`, keyed by the workspace's manifests, Cargo.lock, the
//! target, the active features, the rules and the rustflags, and `rerun-if-changed` is printed
//! for those files. Cargo does not rerun a build script when only the selection of packages
//! changes (`cargo build -p app` then `cargo build --workspace` can turn on features another
//! member enables without rerunning app's build script), so also run the check from a test,
//! which CI runs regardless of build caching:
//! ```no_run
//! #[test]
//! fn polars_stays_minimal() {
//!     let report = lowmem_build::Config::new()
//!         .cargo_directives(false)
//!         .polars_minimal_dtypes()
//!         .manifest_path(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
//!         .check();
//!     for violation in &report.features.violations {
//!         eprintln!("{violation}");
//!     }
//!     assert!(report.features.violations.is_empty());
//! }
//! ```
//! (with `lowmem_build = { version = "0.1", features = ["feature-check"] }` also under
//! `[dev-dependencies]`).
//!
//! # Environment variables
//! Each overrides the matching [`Config`] setter, so CI can change a build without touching
//! `build.rs`. A malformed value gives one warning naming the variable, the value and the
//! accepted forms, and the build goes on with the setter's value or the default.
//! - `LOWMEM_BUILD=off|warn|deny`: the [`Policy`]. `off` skips the feature check and prints
//!   the hints and `rerun-if` lines, warning only about malformed knobs (and the whole report
//!   with `LOWMEM_BUILD_VERBOSE=1`); `deny` fails the build when the tier is `low` or
//!   `critical`, a feature rule is broken, or rules are set without the `feature-check`
//!   feature.
//! - `LOWMEM_BUILD_MEMORY=<size>`: pretend this budget (to see what a 2 GiB CI runner would get).
//! - `LOWMEM_BUILD_MIN_MEMORY=<size>`: a budget below this is `critical`.
//! - `LOWMEM_BUILD_VERBOSE=1`: print the whole report as warnings, even when all is fine.
//! - `LOWMEM_BUILD_STORE=<file>`: the store of measured peaks to read (default
//!   `<target-dir>/lowmem/peaks.tsv`; format in [`store`]).
//!
//! Sizes accept `2GiB`, `1.5G`, `1536MiB`, `1536M` and plain bytes (units are binary).
//!
//! Read to learn the build settings (none of them is changed): `NUM_JOBS`, `OUT_DIR` (the profile
//! name, and the target directory above it), `PROFILE`, `OPT_LEVEL`, `DEBUG`, `TARGET`, `HOST`,
//! `CARGO_CFG_*` (the target's platform, for the graph), `CARGO_ENCODED_RUSTFLAGS`,
//! `CARGO_INCREMENTAL`, `CARGO_BUILD_JOBS`, `CARGO_BUILD_INCREMENTAL`, `CARGO_TARGET_DIR` and `CARGO_BUILD_TARGET_DIR` (outside a build script, with `[build] target-dir`: where the store is),
//! `CARGO_PROFILE_<NAME>_{DEBUG,OPT_LEVEL,CODEGEN_UNITS,LTO,INCREMENTAL,SPLIT_DEBUGINFO,INHERITS}`,
//! `CARGO_TARGET_<TRIPLE>_LINKER`, `CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME`,
//! `CARGO_PKG_RUST_VERSION`, `CARGO_HOME` (or `HOME`, to find the registry's sources), `RUSTC`,
//! `RUSTC_WRAPPER` (and `CARGO_BUILD_RUSTC_WRAPPER`), `CARGO` and `PATH` (to find mold or lld),
//! `LOWMEM_GOVERNOR_DIR` (set by `cargo lowmem`: the build runs under the governor); with
//! feature rules also `CARGO_MANIFEST_PATH`, `CARGO_CFG_FEATURE` (or `CARGO_FEATURE_*` on cargo
//! before 1.84). Settings are taken in cargo's order: rustflags, then `CARGO_PROFILE_*`
//! variables, then `.cargo/config.toml` files (nearest first, then `$CARGO_HOME`), then the
//! workspace's `Cargo.toml` `[profile.*]` (following `inherits`; `[profile.<name>.package."*"]`
//! counts for debug and codegen units, since the heavy crates are dependencies), then cargo's
//! defaults.
//!
//! # Directives printed
//! All in the single-colon `cargo:` form unless noted, so any cargo understands them. Each kind
//! has its own switch: [`Config::cargo_warnings`], [`Config::rustc_hints`],
//! [`Config::rerun_directives`]; [`Config::cargo_directives`]`(false)` prints none.
//! - `cargo:warning=lowmem_build: ...`: the headline (the need, where its peak is and the
//!   heaviest crates there) and one line per fix, when the tier is `tight`, `low` or
//!   `critical`, then the split
//!   build when one crate is the problem and, when memory is short and the build does not run
//!   under `cargo lowmem`, one line pointing to it; one per broken feature rule (`feature check:
//!   ...`), one when `cargo tree` could not run, and one when rules are set without the
//!   `feature-check` feature; the whole report with `LOWMEM_BUILD_VERBOSE=1`; one per malformed
//!   knob or declared rule. Cargo shows these for workspace members and path dependencies only,
//!   and not with `-q`.
//! - `cargo:rustc-env=LOWMEM_BUILD_TIER=<unknown|ok|tight|low|critical>`,
//!   `cargo:rustc-env=LOWMEM_BUILD_BUDGET_MB=<n>` (the budget in MiB, 0 when unknown) and
//!   `cargo:rustc-env=LOWMEM_BUILD_JOBS_HINT=<n>` (the most jobs, up to the build's own, whose
//!   estimate stays within 85% of the budget; the build's jobs when the budget or the estimate
//!   is unknown): read them in your code with `env!`.
//! - `cargo:rustc-cfg=lowmem` when the tier is `low` or `critical`, and
//!   `cargo:rustc-check-cfg=cfg(lowmem)` always on cargo 1.80+ (older cargo does not know it), so
//!   `#[cfg(lowmem)]` never gives an `unexpected_cfgs` warning.
//! - `cargo:rerun-if-env-changed=<VAR>` for every variable above that you can set, and
//!   `cargo:rerun-if-changed=<file>` for every manifest and config file read, Cargo.lock (the
//!   graph), and with feature rules the workspace members' manifests. Note that any
//!   `rerun-if` directive turns off cargo's default "rerun when any file of the package changes"
//!   for your build script.
//! - In deny mode, when memory is short, a feature rule is broken, or rules are set without the
//!   `feature-check` feature:
//!   `cargo::error=lowmem_build: ...` (double colon) on cargo
//!   1.84+ when your package's `rust-version` is 1.77 or later (or unset); otherwise the message
//!   goes to stderr and the build script exits with status 1, which fails the build on any cargo.
//!   Only [`check()`] does this (printed whatever the switches say); [`try_check()`] prints the
//!   same lines as warnings and returns them as its [`Error`].
//!
//! # Tiers
//! `unknown`: the budget or the estimate could not be read (the report's [`Diagnostic`]s say
//! why); `ok`: the estimate is at most 85% of the budget; `tight`: at most 100%; `low`: over,
//! but the leanest settings (debug 0, one job, at least 16 codegen units, no fat LTO) would
//! fit; `critical`: even those would not, or the budget is below `LOWMEM_BUILD_MIN_MEMORY`. The
//! budget is the smaller of available memory and the cgroup's headroom, each with what this
//! build's own cargo and the processes it started hold added back.
//!
//! A reading the machine gets wrong (a cgroup file that is empty, cut short or garbage, a limit
//! of 0, a missing `/proc/self/mountinfo`) is ignored with a note naming the file (a
//! [`Diagnostic`] in [`Report::diagnostics`], printed with `LOWMEM_BUILD_VERBOSE=1`), and the
//! next source decides; usage over a cgroup's limit leaves no
//! headroom (a real shortage). Deny never fails because a probe, a file or `cargo tree`
//! misbehaved. TESTING.md in the repository lists every kind of bad input tried.
//!
//! # What it cannot do
//! From a build script it cannot change the running build's `-j` or profile: cargo decided them
//! before any build script ran, and in a large graph cargo runs your build script late (it
//! starts first the crates many others depend on: in a polars build, lowmem_build was unit 144
//! of 146, seconds before polars-core was killed). Deny stops what comes after your build
//! script, not the heavy crates already compiling; `cargo lowmem` acts before they start. It
//! runs only when cargo reruns the build script (when a variable or file above changes), so
//! memory freed or taken later is not seen until then.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

mod assess;
mod config;
mod diagnostic;
mod env;
mod error;
mod estimate;
mod features;
mod files;
#[cfg(any(test, feature = "unstable-internals"))]
#[doc(hidden)]
pub mod fuzz;
mod glob;
mod graph;
mod options;
mod order;
mod output;
mod probe;
mod process;
mod report;
mod settings;
mod size;
pub mod store;
mod workspace;

pub use assess::{Advice, SplitPlan, Tier};
pub use config::Config;
pub use diagnostic::{Diagnostic, DiagnosticKind};
pub use error::{Error, ErrorKind};
pub use estimate::{CratePeak, Estimate, PeakSource, Phase};
pub use features::{FeatureReport, FeatureRule, FeatureViolation};
pub use options::Policy;
pub use probe::{BudgetSource, CgroupLimit, CgroupMemory, MemorySnapshot, ThisBuild};
pub use report::Report;
pub use settings::{BuildSettings, Debuginfo, Linker, Lto, Origin, RustcVersion, Setting};

/// Runs the check with the defaults: `Config::new().check()`.
///
/// Call it from `build.rs`. It prints warnings when memory is short and the `rustc-env`/`cfg`
/// hints always, and returns the [`Report`].
pub fn check() -> Report {
    Config::new().check()
}

/// Runs the check with the defaults and never fails the build itself:
/// `Config::new().try_check()`.
///
/// ```no_run
/// // build.rs
/// fn main() -> Result<(), lowmem_build::Error> {
///     lowmem_build::try_check()?;
///     Ok(())
/// }
/// ```
pub fn try_check() -> Result<Report, Error> {
    Config::new().try_check()
}
