//! The memory timeline of one build, as plain data: what each rustc (and the linker under it)
//! held over time, the governor's events, and the budget; parsed from the files the wrappers
//! write (or from the store), and turned into bands over a time grid for the report. No I/O here.
//!
//! The run file (`<target>/lowmem/report/build-<ms>.run`, which `cargo lowmem report` redraws)
//! is tab-separated text, one record per line, its first field the kind:
//! - `run  started_ms  ended_ms  budget_kib|-  limit_kib|-  budget text  settings text`
//! - `advice  text` (the fixes the report would advise)
//! - `planned  package  version  link(0|1)  expected_kib  source` (the estimate per crate)
//! - `event  ms  kind  crate  detail` (waiting, retrying, oom-killed, ...)
//! - `unit  crate  package  version  kind  start_ms  end_ms  expected_kib  peak_anon_kib
//!   max_rss_kib  status  wrapper_cpu_ms  rustc_cpu_ms  sampler_cpu_us` (one rustc run),
//!   followed by its
//! - `s  ms  rss_kib  anon_kib  children_rss_kib` samples.
//!
//! Unknown kinds and malformed lines are skipped, so later versions may add kinds.

use lowmem_build::store::Record;

/// One sample of a rustc's process tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sample {
    /// When, ms since the epoch.
    pub t_ms: u64,
    /// Summed `VmRSS` of rustc and its children, KiB.
    pub rss_kib: u64,
    /// Summed `RssAnon`, KiB.
    pub anon_kib: u64,
    /// `VmRSS` of the children alone (the linker), KiB.
    pub children_rss_kib: u64,
}

/// One run of rustc (a killed and retried crate has two).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitRun {
    pub krate: String,
    pub package: String,
    pub version: String,
    pub kind: String,
    pub start_ms: u64,
    pub end_ms: u64,
    /// What the governor reserved for it.
    pub expected_kib: u64,
    /// Its sampled anonymous peak (the figure the store records).
    pub peak_anon_kib: u64,
    /// `ru_maxrss` after it exited.
    pub max_rss_kib: u64,
    /// `0` (success), another exit code, `sig<N>`, `oom-killed`, `gave-way` or `hit` (as the
    /// store).
    pub status: String,
    /// CPU time the wrapper itself spent (starting, admission, waiting, sampling), ms.
    pub wrapper_cpu_ms: u64,
    /// CPU time of its sampler alone (sampling and pressure checks), µs.
    pub sampler_cpu_us: u64,
    /// CPU time of rustc and its children, ms.
    pub rustc_cpu_ms: u64,
    pub samples: Vec<Sample>,
}

/// Something the governor or the kernel did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub t_ms: u64,
    pub kind: String,
    pub krate: String,
    pub detail: String,
}

impl Event {
    /// One line of the governor's `events` file: `ms  kind  crate  detail` (the detail may
    /// hold tabs).
    pub fn parse(line: &str) -> Option<Event> {
        let f: Vec<&str> = line.splitn(4, '\t').collect();
        Some(Event {
            t_ms: f.first()?.parse().ok()?,
            kind: f.get(1)?.to_string(),
            krate: f.get(2)?.to_string(),
            detail: f.get(3)?.to_string(),
        })
    }
}

/// What the estimate said for a crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub package: String,
    pub version: String,
    pub link: bool,
    pub kib: u64,
    pub source: String,
}

/// One build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Run {
    pub started_ms: u64,
    pub ended_ms: u64,
    pub budget_kib: Option<u64>,
    pub limit_kib: Option<u64>,
    pub budget_text: String,
    pub settings: String,
    pub advice: Vec<String>,
    pub planned: Vec<Planned>,
    pub events: Vec<Event>,
    pub units: Vec<UnitRun>,
}

/// One band of the stacked area: a rustc, or the linker (and other children) under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Band {
    /// The index of its unit in [`Run::units`].
    pub unit: usize,
    /// The children of rustc (the linker) rather than rustc itself.
    pub linker: bool,
    /// Its RSS at each time of the grid, KiB.
    pub values: Vec<u64>,
}

/// The build over a time grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    /// The grid, ms since the build started.
    pub times: Vec<u64>,
    /// The bands, in the order of their units' start.
    pub bands: Vec<Band>,
    /// The summed RSS at each time, KiB.
    pub total_rss: Vec<u64>,
    /// The summed anonymous memory at each time, KiB.
    pub total_anon: Vec<u64>,
    /// The grid index of the summed RSS's peak.
    pub peak_at: usize,
    /// The grid index of the anonymous peak.
    pub anon_peak_at: usize,
    /// The units running at the RSS peak with what each held (RSS KiB), largest first.
    pub at_peak: Vec<(usize, u64)>,
}

/// At most this many grid points (the picture is about 1,200 pixels wide).
const MAX_POINTS: u64 = 1200;
/// The finest grid, ms (the wrappers keep a sample every 100 ms).
pub const STEP_MS: u64 = 100;

/// The last sample at or before `t` while the unit ran (zeros outside its run).
fn at(unit: &UnitRun, t: u64) -> Sample {
    if t < unit.start_ms || t > unit.end_ms {
        return Sample::default();
    }
    let i = unit.samples.partition_point(|s| s.t_ms <= t);
    if i == 0 {
        Sample::default()
    } else {
        unit.samples[i - 1]
    }
}

/// The bands and totals of `run` over a grid of `STEP_MS` or coarser.
pub fn timeline(run: &Run) -> Timeline {
    let start = run.started_ms;
    let end = run
        .units
        .iter()
        .map(|u| u.end_ms)
        .chain([run.ended_ms])
        .max()
        .unwrap_or(start)
        .max(start);
    let span = end - start;
    let step = STEP_MS.max(span.div_ceil(MAX_POINTS));
    let times: Vec<u64> = (0..=span / step).map(|k| k * step).collect();
    let mut order: Vec<usize> = (0..run.units.len()).collect();
    order.sort_unstable_by_key(|&u| (run.units[u].start_ms, u));
    let mut bands = Vec::new();
    let mut total_rss = vec![0; times.len()];
    let mut total_anon = vec![0; times.len()];
    for &u in &order {
        let unit = &run.units[u];
        let samples: Vec<Sample> = times.iter().map(|&t| at(unit, start + t)).collect();
        for (k, s) in samples.iter().enumerate() {
            total_rss[k] += s.rss_kib;
            total_anon[k] += s.anon_kib;
        }
        bands.push(Band {
            unit: u,
            linker: false,
            values: samples
                .iter()
                .map(|s| s.rss_kib.saturating_sub(s.children_rss_kib))
                .collect(),
        });
        if samples.iter().any(|s| s.children_rss_kib > 0) {
            bands.push(Band {
                unit: u,
                linker: true,
                values: samples.iter().map(|s| s.children_rss_kib).collect(),
            });
        }
    }
    let argmax = |v: &[u64]| {
        v.iter()
            .enumerate()
            .max_by_key(|&(k, &x)| (x, std::cmp::Reverse(k)))
            .map_or(0, |(k, _)| k)
    };
    let peak_at = argmax(&total_rss);
    let anon_peak_at = argmax(&total_anon);
    let mut at_peak: Vec<(usize, u64)> = order
        .iter()
        .filter_map(|&u| {
            let held = at(
                &run.units[u],
                start + times.get(peak_at).copied().unwrap_or(0),
            );
            (held.rss_kib > 0).then_some((u, held.rss_kib))
        })
        .collect();
    at_peak.sort_unstable_by_key(|&(u, kib)| (std::cmp::Reverse(kib), u));
    Timeline {
        times,
        bands,
        total_rss,
        total_anon,
        peak_at,
        anon_peak_at,
        at_peak,
    }
}

/// The units of a store's records from `since_ms` on (no samples: each held its peaks for its
/// whole run), for a report drawn from the store.
pub fn from_records(records: &[Record], since_ms: u64) -> Run {
    let mut run = Run::default();
    let units: Vec<UnitRun> = records
        .iter()
        .filter(|r| r.start_ms >= since_ms && r.start_ms > 0)
        .map(|r| {
            let end = r.start_ms + r.wall_ms;
            let flat = |t_ms| Sample {
                t_ms,
                rss_kib: r.rss_kib,
                anon_kib: r.anon_kib,
                children_rss_kib: 0,
            };
            UnitRun {
                krate: r.krate.clone(),
                package: r.package.clone(),
                version: r.version.clone(),
                kind: r.kind.clone(),
                start_ms: r.start_ms,
                end_ms: end,
                expected_kib: 0,
                peak_anon_kib: r.anon_kib,
                max_rss_kib: r.rss_kib,
                status: r.status.clone(),
                wrapper_cpu_ms: 0,
                sampler_cpu_us: 0,
                rustc_cpu_ms: r.cpu_ms,
                samples: vec![flat(r.start_ms), flat(end)],
            }
        })
        .collect();
    run.started_ms = units.iter().map(|u| u.start_ms).min().unwrap_or(0);
    run.ended_ms = units.iter().map(|u| u.end_ms).max().unwrap_or(0);
    run.units = units;
    run
}

/// Where the store's latest build starts: records are split into builds where nothing ran for
/// half a minute.
pub fn last_build_start(records: &[Record]) -> u64 {
    let mut spans: Vec<(u64, u64)> = records
        .iter()
        .filter(|r| r.start_ms > 0)
        .map(|r| (r.start_ms, r.start_ms + r.wall_ms))
        .collect();
    spans.sort_unstable();
    let mut start = 0;
    let mut end = 0;
    for (s, e) in spans {
        if s > end + 30_000 {
            start = s;
        }
        end = end.max(e);
    }
    start
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// Tabs and line breaks cannot be in a field.
fn clean(text: &str) -> String {
    text.replace(['\t', '\n', '\r'], " ")
}

/// The `unit` line and the `s` lines of one rustc run.
pub fn render_unit(u: &UnitRun) -> String {
    let mut text = format!(
        "unit\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
        clean(&u.krate),
        clean(&u.package),
        clean(&u.version),
        clean(&u.kind),
        u.start_ms,
        u.end_ms,
        u.expected_kib,
        u.peak_anon_kib,
        u.max_rss_kib,
        clean(&u.status),
        u.wrapper_cpu_ms,
        u.rustc_cpu_ms,
        u.sampler_cpu_us
    );
    for s in &u.samples {
        text.push_str(&format!(
            "s\t{}\t{}\t{}\t{}\n",
            s.t_ms, s.rss_kib, s.anon_kib, s.children_rss_kib
        ));
    }
    text
}

/// The whole run as a run file (see the module docs).
pub fn render(run: &Run) -> String {
    let mut text = format!(
        "# lowmem_build run 1\nrun\t{}\t{}\t{}\t{}\t{}\t{}\n",
        run.started_ms,
        run.ended_ms,
        opt(run.budget_kib),
        opt(run.limit_kib),
        clean(&run.budget_text),
        clean(&run.settings)
    );
    for a in &run.advice {
        text.push_str(&format!("advice\t{}\n", clean(a)));
    }
    for p in &run.planned {
        text.push_str(&format!(
            "planned\t{}\t{}\t{}\t{}\t{}\n",
            clean(&p.package),
            clean(&p.version),
            u8::from(p.link),
            p.kib,
            clean(&p.source)
        ));
    }
    for e in &run.events {
        text.push_str(&format!(
            "event\t{}\t{}\t{}\t{}\n",
            e.t_ms,
            clean(&e.kind),
            clean(&e.krate),
            clean(&e.detail)
        ));
    }
    for u in &run.units {
        text.push_str(&render_unit(u));
    }
    text
}

/// Reads a run file, or the concatenated unit files of the wrappers (see the module docs).
pub fn parse(text: &str) -> Run {
    let mut run = Run::default();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
        let text = |i: usize| f.get(i).copied().unwrap_or_default().to_string();
        match f[0] {
            "run" if f.len() >= 7 => {
                run.started_ms = num(1).unwrap_or(0);
                run.ended_ms = num(2).unwrap_or(0);
                run.budget_kib = num(3);
                run.limit_kib = num(4);
                run.budget_text = text(5);
                run.settings = text(6);
            }
            "advice" if f.len() >= 2 => run.advice.push(text(1)),
            "planned" if f.len() >= 6 => {
                if let Some(kib) = num(4) {
                    run.planned.push(Planned {
                        package: text(1),
                        version: text(2),
                        link: f[3] == "1",
                        kib,
                        source: text(5),
                    });
                }
            }
            "event" if f.len() >= 5 => {
                if let Some(t_ms) = num(1) {
                    run.events.push(Event {
                        t_ms,
                        kind: text(2),
                        krate: text(3),
                        detail: text(4),
                    });
                }
            }
            "unit" if f.len() >= 13 => {
                let (Some(start_ms), Some(end_ms)) = (num(5), num(6)) else {
                    continue;
                };
                run.units.push(UnitRun {
                    krate: text(1),
                    package: text(2),
                    version: text(3),
                    kind: text(4),
                    start_ms,
                    end_ms: end_ms.max(start_ms),
                    expected_kib: num(7).unwrap_or(0),
                    peak_anon_kib: num(8).unwrap_or(0),
                    max_rss_kib: num(9).unwrap_or(0),
                    status: text(10),
                    wrapper_cpu_ms: num(11).unwrap_or(0),
                    rustc_cpu_ms: num(12).unwrap_or(0),
                    sampler_cpu_us: num(13).unwrap_or(0),
                    samples: Vec::new(),
                });
            }
            "s" if f.len() >= 5 => {
                let (Some(unit), Some(t_ms)) = (run.units.last_mut(), num(1)) else {
                    continue;
                };
                unit.samples.push(Sample {
                    t_ms,
                    rss_kib: num(2).unwrap_or(0),
                    anon_kib: num(3).unwrap_or(0),
                    children_rss_kib: num(4).unwrap_or(0),
                });
            }
            _ => {}
        }
    }
    for unit in &mut run.units {
        unit.samples.sort_unstable_by_key(|s| s.t_ms);
    }
    if run.started_ms == 0 {
        run.started_ms = run.units.iter().map(|u| u.start_ms).min().unwrap_or(0);
    }
    run
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(krate: &str, start: u64, end: u64, samples: &[(u64, u64, u64, u64)]) -> UnitRun {
        UnitRun {
            krate: krate.into(),
            package: krate.replace('_', "-"),
            version: "1.0.0".into(),
            kind: "lib".into(),
            start_ms: start,
            end_ms: end,
            expected_kib: 1000,
            peak_anon_kib: samples.iter().map(|s| s.2).max().unwrap_or(0),
            max_rss_kib: samples.iter().map(|s| s.1).max().unwrap_or(0),
            status: "0".into(),
            wrapper_cpu_ms: 3,
            sampler_cpu_us: 1500,
            rustc_cpu_ms: 900,
            samples: samples
                .iter()
                .map(|&(t_ms, rss_kib, anon_kib, children_rss_kib)| Sample {
                    t_ms,
                    rss_kib,
                    anon_kib,
                    children_rss_kib,
                })
                .collect(),
        }
    }

    /// Two crates overlapping, the second linking: bands per rustc and per linker, totals, the
    /// peak and who held memory then.
    fn two_crates() -> Run {
        Run {
            started_ms: 10_000,
            ended_ms: 11_000,
            budget_kib: Some(4000),
            events: vec![Event {
                t_ms: 10_300,
                kind: "waiting".into(),
                krate: "b".into(),
                detail: "until a".into(),
            }],
            units: vec![
                unit(
                    "a",
                    10_000,
                    10_600,
                    &[
                        (10_000, 100, 50, 0),
                        (10_200, 800, 600, 0),
                        (10_400, 1500, 1200, 0),
                    ],
                ),
                unit(
                    "b",
                    10_300,
                    11_000,
                    &[(10_300, 200, 100, 0), (10_500, 900, 300, 700)],
                ),
            ],
            ..Run::default()
        }
    }

    #[test]
    fn bands_and_totals_follow_the_samples() {
        let t = timeline(&two_crates());
        assert_eq!(t.times, (0..=10).map(|k| k * 100).collect::<Vec<_>>());
        // a, b, and b's linker.
        assert_eq!(t.bands.len(), 3);
        assert_eq!(
            t.bands[0].values,
            [100, 100, 800, 800, 1500, 1500, 1500, 0, 0, 0, 0]
        );
        assert_eq!(
            t.bands[1].values,
            [0, 0, 0, 200, 200, 200, 200, 200, 200, 200, 200]
        );
        assert!(t.bands[2].linker);
        assert_eq!(
            t.bands[2].values,
            [0, 0, 0, 0, 0, 700, 700, 700, 700, 700, 700]
        );
        // At 500-600 ms: a 1500 + b 900 (200 rustc, 700 linker).
        assert_eq!(t.total_rss[5], 2400);
        assert_eq!(t.peak_at, 5);
        assert_eq!(t.at_peak, vec![(0, 1500), (1, 900)]);
        assert_eq!(t.total_anon[5], 1500);
        assert_eq!(t.anon_peak_at, 5);
        // After a ends only b is left.
        assert_eq!(t.total_rss[7], 900);
    }

    #[test]
    fn event_lines_read_as_the_governor_writes_them() {
        assert_eq!(
            Event::parse("12\tretrying\ttokio\tOOM-killed;\tagain"),
            Some(Event {
                t_ms: 12,
                kind: "retrying".into(),
                krate: "tokio".into(),
                detail: "OOM-killed;\tagain".into(),
            })
        );
        assert_eq!(Event::parse("x\twaiting\ta\tb"), None);
        assert_eq!(Event::parse("12\twaiting\ta"), None);
    }

    #[test]
    fn a_long_build_gets_a_coarser_grid() {
        let mut run = two_crates();
        run.ended_ms = run.started_ms + 3_600_000;
        let t = timeline(&run);
        assert!(t.times.len() <= 1201, "{}", t.times.len());
        assert_eq!(t.times[1], 3000);
    }

    #[test]
    fn an_empty_run_is_one_point_of_nothing() {
        let t = timeline(&Run::default());
        assert_eq!(t.times, [0]);
        assert!(t.bands.is_empty());
        assert_eq!(t.total_rss, [0]);
        assert!(t.at_peak.is_empty());
    }

    #[test]
    fn the_run_file_reads_back() {
        let mut run = two_crates();
        run.limit_kib = Some(8000);
        run.budget_text = "cgroup memory.limit_in_bytes 2.0 GiB".into();
        run.settings = "dev, debug 2, jobs 2".into();
        run.advice = vec!["export CARGO_PROFILE_DEV_DEBUG=0".into()];
        run.planned = vec![Planned {
            package: "a".into(),
            version: "1.0.0".into(),
            link: false,
            kib: 1400,
            source: "table".into(),
        }];
        run.events[0].detail = "tab\tand\nnewline".into();
        let text = render(&run);
        let back = parse(&text);
        run.events[0].detail = "tab and newline".into();
        assert_eq!(back, run);
        // Garbage, unknown kinds and a sample before any unit are skipped.
        let noisy = format!("s\t1\t2\t3\t4\nwhatever\t1\n\u{0}\n{text}unit\tshort\n");
        assert_eq!(parse(&noisy), run);
    }

    /// A run recorded by `scripts/report-screenshot`: calibration/projects/web built with
    /// `cargo lowmem build -j2 --report` in a 320 MiB memory cgroup, where tokio was OOM-killed,
    /// retried alone and OOM-killed again.
    #[test]
    fn a_recorded_build_reads_and_adds_up() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/report/web-320mib.run"
        ))
        .unwrap();
        let run = parse(&text);
        assert_eq!(run.units.len(), 59);
        assert_eq!(run.limit_kib, Some(320 * 1024));
        // Every sample lies within its run, as the wrappers took them.
        for u in &run.units {
            assert!(
                u.samples
                    .iter()
                    .all(|s| s.t_ms >= u.start_ms && s.t_ms <= u.end_ms + 1),
                "{}",
                u.krate
            );
        }
        // The two kills are tokio's two runs, and each event names the peak its run recorded.
        let tokio: Vec<&UnitRun> = run.units.iter().filter(|u| u.krate == "tokio").collect();
        assert_eq!(tokio.len(), 2);
        assert!(tokio.iter().all(|u| u.status == "sig9"));
        let kills: Vec<&Event> = run
            .events
            .iter()
            .filter(|e| e.kind == "oom-killed")
            .collect();
        assert_eq!(kills.len(), 2);
        for (kill, unit) in kills.iter().zip(&tokio) {
            assert_eq!(
                kill.detail,
                format!("{} KiB at its last sample", unit.peak_anon_kib)
            );
        }
        // The kernel kept the anonymous memory under the limit; the RSS, with mapped files, was
        // not; tokio alone held the RSS peak.
        let t = timeline(&run);
        let limit = run.limit_kib.unwrap();
        assert!(t.total_anon[t.anon_peak_at] < limit);
        assert!(t.total_rss[t.peak_at] > limit);
        assert_eq!(run.units[t.at_peak[0].0].krate, "tokio");
        // Rendering it again gives the same file.
        assert_eq!(parse(&render(&run)), run);
    }

    #[test]
    fn a_store_gives_flat_units() {
        let mut r = Record::default();
        r.start_ms = 5000;
        r.wall_ms = 2000;
        r.krate = "polars_core".into();
        r.anon_kib = 1_700_000;
        r.rss_kib = 1_900_000;
        r.status = "ok".into();
        let mut old = r.clone();
        old.start_ms = 100;
        // Builds are told apart by half a minute with nothing running.
        let mut late = r.clone();
        late.start_ms = 100_000;
        assert_eq!(last_build_start(&[r.clone(), late.clone()]), 100_000);
        let mut beside = late.clone();
        beside.start_ms = 101_500;
        assert_eq!(last_build_start(&[beside, r.clone(), late]), 100_000);
        assert_eq!(last_build_start(&[]), 0);
        let run = from_records(&[old, r], 1000);
        assert_eq!(run.units.len(), 1);
        assert_eq!((run.started_ms, run.ended_ms), (5000, 7000));
        let t = timeline(&run);
        assert_eq!(t.total_rss[0], 1_900_000);
        assert_eq!(*t.total_rss.last().unwrap(), 1_900_000);
    }
}
