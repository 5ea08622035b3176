//! Warns from `build.rs` before a heavy build runs out of memory, and says exactly what to change.
//!
//! Crates such as polars or arrow take 1-3.5 GB per rustc process; with parallel jobs, full
//! debuginfo and a 2-4 GB container the kernel kills rustc and cargo prints only
//! `signal: 9, SIGKILL: kill`. `lowmem_build` runs in your build script, finds the memory that
//! really applies (container limits included), reads the build settings in effect, estimates the
//! peak, and when memory is short prints `cargo:warning` lines with the fixes, ranked by their
//! measured effect.
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
//! The same check without printing anything, e.g. in a test or a tool:
//! ```
//! let report = lowmem_build::Config::new()
//!     .cargo_directives(false)
//!     .memory(2 << 30) // pretend a 2 GiB runner
//!     .check();
//! println!("{report}");
//! assert_eq!(report.budget_mib(), 2048);
//! ```
//!
//! # Environment variables
//! Each overrides the matching [`Config`] setter, so CI can change a build without touching
//! `build.rs`. A malformed value gives one warning naming the variable, the value and the
//! accepted forms, and the build goes on with the setter's value or the default.
//! - `LOWMEM_BUILD=off|warn|deny`: the [`Policy`]. `off` prints nothing but the hints; `deny`
//!   fails the build when the tier is `low` or `critical`.
//! - `LOWMEM_BUILD_MEMORY=<size>`: pretend this budget (to see what a 2 GiB CI runner would get).
//! - `LOWMEM_BUILD_MIN_MEMORY=<size>`: a budget below this is `critical`.
//! - `LOWMEM_BUILD_VERBOSE=1`: print the whole report as warnings, even when all is fine.
//!
//! Sizes accept `2GiB`, `1.5G`, `1536MiB`, `1536M` and plain bytes (units are binary).
//!
//! Read to learn the build settings (none of them is changed): `NUM_JOBS`, `OUT_DIR` (the profile
//! name), `PROFILE`, `OPT_LEVEL`, `DEBUG`, `TARGET`, `HOST`, `CARGO_ENCODED_RUSTFLAGS`,
//! `CARGO_INCREMENTAL`, `CARGO_BUILD_JOBS`, `CARGO_BUILD_INCREMENTAL`,
//! `CARGO_PROFILE_<NAME>_{DEBUG,OPT_LEVEL,CODEGEN_UNITS,LTO,INCREMENTAL,SPLIT_DEBUGINFO,INHERITS}`,
//! `CARGO_TARGET_<TRIPLE>_LINKER`, `CARGO_MANIFEST_DIR`, `CARGO_PKG_RUST_VERSION`, `CARGO_HOME`
//! (or `HOME`), `RUSTC`, `RUSTC_WRAPPER`, `CARGO` and `PATH` (to find mold or lld). Settings are
//! taken in cargo's order: rustflags, then `CARGO_PROFILE_*` variables, then `.cargo/config.toml`
//! files (nearest first, then `$CARGO_HOME`), then the workspace's `Cargo.toml` `[profile.*]`
//! (following `inherits`; `[profile.<name>.package."*"]` counts for debug and codegen units,
//! since the heavy crates are dependencies), then cargo's defaults.
//!
//! # Directives printed
//! All in the single-colon `cargo:` form unless noted, so any cargo understands them.
//! - `cargo:warning=lowmem_build: ...`: the headline and one line per fix, when the tier is not
//!   `ok`; the whole report with `LOWMEM_BUILD_VERBOSE=1`; one per malformed knob. Cargo shows
//!   these for workspace members and path dependencies only, and not with `-q`.
//! - `cargo:rustc-env=LOWMEM_BUILD_TIER=<ok|tight|low|critical>`,
//!   `cargo:rustc-env=LOWMEM_BUILD_BUDGET_MB=<n>` (0 when unknown) and
//!   `cargo:rustc-env=LOWMEM_BUILD_JOBS_HINT=<n>`: read them in your code with `env!`.
//! - `cargo:rustc-cfg=lowmem` when the tier is `low` or `critical`, and
//!   `cargo:rustc-check-cfg=cfg(lowmem)` always on cargo 1.80+ (older cargo does not know it), so
//!   `#[cfg(lowmem)]` never gives an `unexpected_cfgs` warning.
//! - `cargo:rerun-if-env-changed=<VAR>` for every variable above that you can set, and
//!   `cargo:rerun-if-changed=<file>` for every manifest and config file read. Note that any
//!   `rerun-if` directive turns off cargo's default "rerun when any file of the package changes"
//!   for your build script.
//! - In deny mode, when memory is short: `cargo::error=lowmem_build: ...` (double colon) on cargo
//!   1.84+ when your package's `rust-version` is 1.77 or later (or unset); otherwise the message
//!   goes to stderr and the build script exits with status 1, which fails the build on any cargo.
//!
//! # Tiers
//! The estimate is the larger of the compile phase (the largest crate, grown by fewer codegen
//! units and by every job that runs beside it) and the final link, both by debuginfo level. It
//! scales a measured reference build ([`Workload::polars`]); give your own with
//! [`Config::workload`]. `ok`: the estimate is at most 85% of the budget; `tight`: at most 100%;
//! `low`: over, but the leanest settings (debug 0, one job) would fit; `critical`: even those
//! would not, or the budget is below `LOWMEM_BUILD_MIN_MEMORY`.
//!
//! # What it cannot do
//! It cannot change the running build's `-j` or profile: cargo decided them before any build
//! script ran. It advises; the next build applies the fixes. It runs only when cargo reruns the
//! build script (when a variable or file above changes), so memory freed or taken later is not
//! seen until then.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

mod assess;
mod config;
mod env;
mod features;
mod options;
mod output;
mod probe;
mod process;
mod report;
mod settings;
mod size;

pub use assess::{Advice, Estimate, Phase, Tier, Workload};
pub use config::Config;
pub use features::{FeatureReport, FeatureViolation};
pub use options::Policy;
pub use probe::{BudgetSource, CgroupLimit, CgroupMemory, MemorySnapshot};
pub use report::Report;
pub use settings::{BuildSettings, Debuginfo, Linker, Lto, Origin, RustcVersion, Setting};

/// Runs the check with the defaults: `Config::new().check()`.
///
/// Call it from `build.rs`. It prints warnings when memory is short and the `rustc-env`/`cfg`
/// hints always, and returns the [`Report`].
pub fn check() -> Report {
    Config::new().check()
}
