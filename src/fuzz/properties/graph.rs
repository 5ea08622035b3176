//! The dependency graph's parsers: Cargo.lock, pruned manifests, target conditions, the cache.

use super::*;

/// The tokens of manifests and lock files, for pruning and the lock reader to branch on.
const MANIFEST_PIECES: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "=",
    " = ",
    ".",
    ",",
    "\"",
    "'",
    "\"\"\"",
    "'''",
    "#",
    "\\",
    "\n",
    "package",
    "lib",
    "bin",
    "dependencies",
    "build-dependencies",
    "dev-dependencies",
    "target",
    "'cfg(unix)'",
    "\"cfg(windows)\"",
    "features",
    "[features]",
    "default",
    "\"dep:x\"",
    "\"x/y\"",
    "\"x?/y\"",
    "default-features",
    "default_features",
    "name",
    "version",
    "optional",
    "true",
    "proc-macro",
    "crate-type",
    "\"cdylib\"",
    "build",
    "\"build.rs\"",
    "false",
    "path",
    "\"x\"",
    "workspace",
    "[[package]]",
    "dependencies = [",
    " \"x\",",
    " \"x 1.0.0\",",
    "]\n",
    "version = 4\n",
    "source = \"registry+r\"\n",
];

const CONDITION_PIECES: &[&str] = &[
    "cfg(",
    "(",
    ")",
    "all",
    "any",
    "not",
    ",",
    "=",
    "\"",
    "unix",
    "windows",
    "target_os",
    "\"linux\"",
    "true",
    "false",
    " ",
    "x86_64-unknown-linux-gnu",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn graph_parsers_never_panic_on_any_bytes(data in bytes()) {
        graph(&data);
    }

    #[test]
    fn graph_parsers_never_panic_on_manifest_like_text(
        lock in soup(MANIFEST_PIECES),
        manifest in soup(MANIFEST_PIECES),
        condition in soup(CONDITION_PIECES),
    ) {
        graph(format!("{lock}\0{manifest}\0{condition}\0").as_bytes());
    }

    /// Cache files that are nearly right: a header, tab-separated fields, dependency fields.
    #[test]
    fn graph_cache_reads_back_what_it_reads(
        lines in prop::collection::vec(
            soup(&["a", "1.0.0", "registry+r", "\t", "src/lib.rs", "-", "?", "pbl", "---", "12",
                   "n-+x", "b?-y|t=cfg(unix)", "d--z", "|as=w", "|f=a,b", "|v=^1", ":std=", ":f=dep:x,y?/z",
                   ",", " "]),
            0..8,
        )
    ) {
        let text = format!("lowmem_build graph cache 2\n{}", lines.join("\n"));
        graph(format!("\0\0\0{text}").as_bytes());
    }
}

/// Pieces of valid manifests, some meant to mislead a pass that reads lines rather than TOML:
/// brackets and headers inside strings, comments and multi-line values.
const SECTIONS: &[&str] = &[
    "[package]\nname = \"gen\"\nversion = \"1.0.0\"\n",
    "[package]\nname = 'gen'\nbuild = false # no [build]\nautolib = false\n",
    "[package]\nname = \"gen\"\ndescription = \"\"\"\n[dependencies.fake]\noptional = true\n\"\"\"\nbuild = \"b.rs\"\n",
    "[package.metadata.docs]\nx = '''\n[lib]\nproc-macro = true\n'''\n",
    "[features]\ndefault = [\n    \"a\", # ]\n    'b]',\n]\nx = [\"[dependencies]\"]\n",
    "[lib]\nname = \"gen_lib\"\npath = \"src/g.rs\"\n",
    "[lib]\nproc-macro = true\ncrate-type = [\"proc-macro\"]\n",
    "[lib]\ncrate-type = [\n  \"cdylib\",\n]\n",
    "[[bin]]\nname = \"tool\"\npath = \"src/main.rs\"\n",
    "[[bench]]\nname = \"b\"\n[[bin]]\nname = \"tool2\"\n",
    "[dependencies]\nplain = \"1\"\ninline = { version = \"1\", package = \"real\", optional = true, features = [\"x\"] }\ndotted.version = \"1\"\ndotted.optional = true\n",
    "[dependencies]\nnodef = { version = \"2\", default-features = false }\nold = { version = \"0.1\", default_features = false, package = \"plain\" }\n",
    "[features]\ndefault = [\"std\", \"dep:inline\"]\nstd = [\"serde/std\", \"win?/x\"]\n'quoted' = []\n",
    "[features]\nx = [\n  \"serde\",  # [dependencies]\n]\n",
    "[target.\"cfg(any(target_arch = \\\"x86\\\", unix))\".dependencies.asm]\nversion = \"0.5\"\nfeatures = [\"a\\\\b\", 'c\\d']\n",
    "[dependencies.tab]\nversion = \"1\"\ndefault_features = false\ndefault-features = true\n",
    "[dev-dependencies]\ntrail = { version = \"1\", features = [\"x\",], optional = false, }\n",
    "[lib]\ncrate_type = [\"dylib\"]\nproc_macro = false\n",
    "[package]\nname = \"gen\"\nbuild = true\nautobins = false\nmetadata.x = 1\n",
    "[[bin]]\npath = \"src/bin/a.rs\"\nname = \"a\\tb\"\n",
    "[dependencies.serde]\nversion = \"1\"\nfeatures = [\"derive\", \"]\"]\noptional = true\n",
    "[build-dependencies.cc]\nversion = \"1\"\n",
    "[dev-dependencies.t]\nversion = \"1\"\npackage = \"tester\"\n",
    "[target.'cfg(windows)'.dependencies.win]\nversion = \"0.3\"\npackage = \"winapi\"\n",
    "[target.\"cfg(unix)\".build-dependencies]\nlibc = { version = \"0.2\", optional = true }\n",
    "[target.x86_64-pc-windows-gnu]\ndependencies.gnu = \"1\"\n",
    "# a comment [dependencies]\n",
    "[badges]\nmaintenance = { status = \"none\" }\n",
    "[lints.rust]\nunsafe_code = \"forbid\"\n",
];

proptest! {
    #![proptest_config(config())]

    /// Manifests assembled from valid sections: where the whole parses, the pruned text parses
    /// to the same entries, and reading straight from the text (when it does) gives them too
    /// (asserted inside `graph`).
    #[test]
    fn the_fast_ways_keep_the_entries_of_generated_manifests(
        picks in prop::sample::subsequence(SECTIONS.to_vec(), 0..=SECTIONS.len()).prop_shuffle()
    ) {
        let manifest = picks.concat();
        graph(format!("\0{manifest}\0\0").as_bytes());
    }
}
