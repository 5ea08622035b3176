//! The memory report's shell: gathers what the wrappers of one build wrote (`--report`), saves
//! the run and its HTML under `<target>/lowmem/report/`, and redraws a saved run or a store
//! (`cargo lowmem report <file>`). The model is `timeline.rs`, the drawing `html.rs`.

use crate::timeline::{self, Event, Run};
use lowmem_build::store;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The run the wrappers recorded in `timeline_dir`, with the governor's `events` file.
pub fn gather(timeline_dir: &Path, events: &Path) -> Run {
    let mut text = String::new();
    if let Ok(entries) = std::fs::read_dir(timeline_dir) {
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
            .collect();
        files.sort_unstable();
        for file in files {
            if let Ok(unit) = std::fs::read_to_string(&file) {
                text.push_str(&unit);
                if !unit.ends_with('\n') {
                    text.push('\n');
                }
            }
        }
    }
    let mut run = timeline::parse(&text);
    run.events = std::fs::read_to_string(events)
        .unwrap_or_default()
        .lines()
        .filter_map(Event::parse)
        .collect();
    run
}

/// Saves `run` as `<dir>/<stem>.run` and draws it as `<dir>/<stem>.html`; the HTML's path.
pub fn save(run: &Run, dir: &Path, stem: &str, title: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(format!("{stem}.run")), timeline::render(run))?;
    let html = dir.join(format!("{stem}.html"));
    std::fs::write(
        &html,
        crate::html::render(run, &timeline::timeline(run), title),
    )?;
    Ok(html)
}

/// Says where the report is, as cargo says where its timings are.
pub fn announce(path: &Path) {
    eprintln!("      Memory report saved to {}", path.display());
}

/// `cargo lowmem report <file>`: a saved run, or a store (its latest build), drawn beside it.
pub fn redraw(file: &Path) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!(
                "error: cargo-lowmem: cannot read {} ({e}); give a saved run (<target>/lowmem/report/build-*.run) or a store (<target>/lowmem/peaks.tsv)",
                file.display()
            );
            return ExitCode::from(2);
        }
    };
    let dir = file.parent().unwrap_or(Path::new("."));
    let (run, dir, stem) = if text.starts_with("# lowmem_build store") {
        let records = store::read(file);
        let since = timeline::last_build_start(&records);
        (
            timeline::from_records(&records, since),
            dir.join("report"),
            format!("store-{since}"),
        )
    } else {
        let stem = file
            .file_stem()
            .map_or_else(|| "run".to_string(), |s| s.to_string_lossy().into_owned());
        (timeline::parse(&text), dir.to_path_buf(), stem)
    };
    if run.units.is_empty() {
        eprintln!(
            "error: cargo-lowmem: {} holds no rustc runs; give a saved run (<target>/lowmem/report/build-*.run) or a store (<target>/lowmem/peaks.tsv)",
            file.display()
        );
        return ExitCode::from(2);
    }
    let title = format!("Build memory: {}", file.display());
    match save(&run, &dir, &stem, &title) {
        Ok(path) => {
            announce(&path);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "error: cargo-lowmem: cannot write the report in {} ({e})",
                dir.display()
            );
            ExitCode::from(1)
        }
    }
}
