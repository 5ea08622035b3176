//! The memory report: one self-contained HTML file (inline SVG and CSS, no script, nothing
//! fetched when it is viewed) drawn from a [`Run`] and its [`Timeline`]. Plain text in, text out.
//!
//! The picture: the summed RSS of the build as a stacked area, one band per rustc and one per
//! linker (the crates that never held much share one grey band), the summed anonymous memory as a
//! line, the budget and the cgroup limit as dashed lines, and a mark for each thing the governor
//! or the kernel did. Each band's `<title>` is its tooltip; the table below gives every run.

use crate::timeline::{Run, Timeline};
use std::fmt::Write;

const WIDTH: f64 = 1200.0;
const HEIGHT: f64 = 440.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 40.0;
/// Bands of crates whose peak is under this share of the build's peak are drawn as one.
const SMALL_SHARE: f64 = 0.03;

/// Escapes text for HTML.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// KiB as MiB or GiB.
pub fn size(kib: u64) -> String {
    if kib >= 1024 * 1024 {
        format!("{:.2} GiB", kib as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} MiB", (kib + 512) / 1024)
    }
}

fn secs(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// A colour per crate name, stable from run to run.
fn colour(name: &str, linker: bool) -> String {
    let hash = name.bytes().fold(2166136261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16777619)
    });
    let hue = hash % 360;
    if linker {
        format!("hsl({hue},45%,35%)")
    } else {
        format!("hsl({hue},65%,62%)")
    }
}

/// What a run is called: its crate, or its package's build script.
fn label(unit: &crate::timeline::UnitRun) -> String {
    if unit.kind == "build-script" && !unit.package.is_empty() {
        format!("{} build script", unit.package)
    } else {
        unit.krate.clone()
    }
}

/// A store status in words.
fn status(text: &str) -> String {
    match text {
        "0" => "ok".to_string(),
        "gave-way" => "killed to make room".to_string(),
        "oom-killed" => "OOM-killed by the kernel".to_string(),
        "hit" => "sccache hit (no rustc ran)".to_string(),
        "sig9" => "killed (SIGKILL)".to_string(),
        other => match other.strip_prefix("sig") {
            Some(n) => format!("killed (signal {n})"),
            None => format!("failed (exit {other})"),
        },
    }
}

/// What the events are called in the legend, and their colours.
fn event_style(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "waiting" => ("held back", "#b58900"),
        "retrying" => ("retried alone", "#cb4b16"),
        "stopped" => ("stopped to make room", "#268bd2"),
        "resumed" => ("resumed", "#2aa198"),
        "oom-killed" => ("OOM-killed by the kernel", "#dc322f"),
        "gave-up-waiting" => ("started after waiting too long", "#6c71c4"),
        "feature-rule" => ("feature rule broken", "#d33682"),
        _ => ("other", "#586e75"),
    }
}

/// The whole report.
pub fn render(run: &Run, t: &Timeline, title: &str) -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>\
body{{font:14px/1.4 system-ui,sans-serif;margin:16px 24px;color:#222}}\
h1{{font-size:20px;margin:0 0 8px}}table{{border-collapse:collapse;font-size:13px}}\
td,th{{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}}td.n{{text-align:right}}\
.summary td{{border:none;padding:1px 12px 1px 0}}.legend span{{display:inline-block;margin:2px 12px 2px 0}}\
.sw{{display:inline-block;width:12px;height:12px;vertical-align:middle;margin-right:4px}}\
</style></head><body>\n<h1>{}</h1>\n",
        esc(title),
        esc(title)
    );

    summary(&mut html, run, t);
    picture(&mut html, run, t);
    tables(&mut html, run);
    html.push_str("</body></html>\n");
    html
}

/// The summary on top: the peaks, who held memory then, the budget, the settings, what the
/// governor did, the fixes and what the measuring cost.
fn summary(html: &mut String, run: &Run, t: &Timeline) {
    let peak = t.total_rss.get(t.peak_at).copied().unwrap_or(0);
    let anon_peak = t.total_anon.get(t.anon_peak_at).copied().unwrap_or(0);
    let when = t.times.get(t.peak_at).copied().unwrap_or(0);
    let running: Vec<String> = t
        .at_peak
        .iter()
        .map(|&(u, kib)| format!("{} {}", label(&run.units[u]), size(kib)))
        .collect();
    let wrappers_ms: u64 = run.units.iter().map(|u| u.wrapper_cpu_ms).sum();
    let sampler_us: u64 = run.units.iter().map(|u| u.sampler_cpu_us).sum();
    let rustc: u64 = run.units.iter().map(|u| u.rustc_cpu_ms).sum();
    let killed = run.events.iter().filter(|e| e.kind == "oom-killed").count();
    let retried = run.events.iter().filter(|e| e.kind == "retrying").count();
    let made_room = run
        .events
        .iter()
        .filter(|e| e.kind == "retrying" && e.detail.starts_with("killed to make room"))
        .count();
    let waited = run.events.iter().filter(|e| e.kind == "waiting").count();
    let stopped = run.events.iter().filter(|e| e.kind == "stopped").count();
    html.push_str("<table class=\"summary\">\n");
    let mut row = |k: &str, v: String| {
        let _ = writeln!(html, "<tr><td><b>{}</b></td><td>{}</td></tr>", esc(k), v);
    };
    row(
        "peak (summed RSS)",
        format!(
            "{} at {}, while {} ran",
            size(peak),
            secs(when),
            esc(&running.join(", "))
        ),
    );
    row(
        "peak (anonymous)",
        format!(
            "{} at {}",
            size(anon_peak),
            secs(t.times.get(t.anon_peak_at).copied().unwrap_or(0))
        ),
    );
    row(
        "budget",
        match run.budget_kib {
            Some(b) if run.budget_text.is_empty() => size(b),
            Some(_) | None if !run.budget_text.is_empty() => esc(&run.budget_text),
            _ => "unknown".to_string(),
        },
    );
    if let Some(limit) = run.limit_kib {
        row("cgroup limit", size(limit));
    }
    if !run.settings.is_empty() {
        row("settings", esc(&run.settings));
    }
    row(
        "governor",
        format!("{waited} held back, {stopped} stopped to make room, {made_room} killed to make room, {retried} retried alone, {killed} OOM-killed by the kernel"),
    );
    for (i, a) in run.advice.iter().enumerate() {
        row(&format!("fix {}", i + 1), esc(a));
    }
    if rustc > 0 {
        row(
            "cost of measuring",
            format!(
                "sampling {} ms of CPU, {:.2}% of rustc's {} ms; the wrappers in all (starting, admission, waiting, sampling) {} ms, {:.2}%",
                sampler_us / 1000,
                100.0 * sampler_us as f64 / 1000.0 / rustc as f64,
                rustc,
                wrappers_ms,
                100.0 * wrappers_ms as f64 / rustc as f64,
            ),
        );
    }
    html.push_str("</table>\n");
}

/// How far above the peak the picture's scale reaches for the budget and the limit.
const SCALE_ABOVE_PEAK: u64 = 4;

/// The picture: the stacked bands, the anonymous line, the budget and limit, the event marks
/// and the legend.
fn picture(html: &mut String, run: &Run, t: &Timeline) {
    let peak = t.total_rss.get(t.peak_at).copied().unwrap_or(0);
    // A budget or limit far above the peak (a build with memory to spare) would flatten the
    // bands to a sliver: beyond this many times the peak it is drawn at the top edge, marked
    // off the scale.
    let on_scale = |kib: &u64| *kib <= peak.max(1024).saturating_mul(SCALE_ABOVE_PEAK);
    let top = [
        Some(peak),
        run.budget_kib.filter(on_scale),
        run.limit_kib.filter(on_scale),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(0)
    .max(1024);
    let span = t.times.last().copied().unwrap_or(0).max(1);
    let x = |ms: u64| LEFT + (WIDTH - LEFT - RIGHT) * ms as f64 / span as f64;
    let y = |kib: u64| HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * kib as f64 / (top as f64 * 1.05);
    let _ = writeln!(
        html,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"memory over time\">"
    );
    let _ = writeln!(
        html,
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{}\" height=\"{}\" fill=\"#fafafa\" stroke=\"#ccc\"/>",
        WIDTH - LEFT - RIGHT,
        HEIGHT - TOP - BOTTOM
    );
    // Axes: a tick every "round" size and time.
    let size_step = [64u64, 128, 256, 512, 1024, 2048, 4096, 8192]
        .into_iter()
        .map(|m| m * 1024)
        .find(|s| top / s <= 8)
        .unwrap_or(16384 * 1024);
    let mut tick = 0;
    while tick <= top {
        let _ = writeln!(
            html,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#e4e4e4\"/><text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            y(tick),
            y(tick),
            LEFT - 4.0,
            y(tick) + 4.0,
            size(tick)
        );
        tick += size_step;
    }
    let time_step = [1u64, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600]
        .into_iter()
        .map(|s| s * 1000)
        .find(|s| span / s <= 12)
        .unwrap_or(7_200_000);
    let mut tick = 0;
    while tick <= span {
        let _ = writeln!(
            html,
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
            x(tick),
            HEIGHT - BOTTOM + 16.0,
            secs(tick)
        );
        tick += time_step;
    }
    // The bands, stacked in start order; the small ones summed into one.
    let small = |values: &[u64]| {
        (values.iter().copied().max().unwrap_or(0) as f64) < SMALL_SHARE * peak as f64
    };
    let mut below = vec![0u64; t.times.len()];
    let mut others = vec![0u64; t.times.len()];
    let mut others_count = 0;
    let mut legend: Vec<(String, String)> = Vec::new();
    for band in &t.bands {
        if small(&band.values) {
            for (o, v) in others.iter_mut().zip(&band.values) {
                *o += v;
            }
            others_count += 1;
            continue;
        }
        let unit = &run.units[band.unit];
        let name = if band.linker {
            format!("{} (linker)", label(unit))
        } else {
            label(unit)
        };
        let fill = colour(&unit.krate, band.linker);
        let band_peak = band.values.iter().copied().max().unwrap_or(0);
        let tip = format!(
            "{name}: {} to {}, peak RSS {}, anonymous {}, expected {}{}",
            secs(unit.start_ms.saturating_sub(run.started_ms)),
            secs(unit.end_ms.saturating_sub(run.started_ms)),
            size(band_peak),
            size(unit.peak_anon_kib),
            size(unit.expected_kib),
            if unit.status == "0" {
                String::new()
            } else {
                format!(", {}", status(&unit.status))
            }
        );
        area(html, t, &mut below, &band.values, &fill, &tip, &x, &y);
        legend.push((fill, name));
    }
    if others_count > 0 {
        let tip = format!("{others_count} smaller rustc and linker runs");
        area(html, t, &mut below, &others, "#bbbbbb", &tip, &x, &y);
        legend.push(("#bbbbbb".into(), tip));
    }
    // The anonymous total, the budget and the limit.
    let mut line = String::new();
    for (k, &ms) in t.times.iter().enumerate() {
        let _ = write!(line, "{:.1},{:.1} ", x(ms), y(t.total_anon[k]));
    }
    let _ = writeln!(
        html,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#111\" stroke-width=\"1.5\"><title>summed anonymous memory</title></polyline>",
        line.trim_end()
    );
    // The budget's label at the right end, the limit's at the left, so that they never overlap;
    // one line when they are the same.
    let same = run.budget_kib.is_some() && run.budget_kib == run.limit_kib;
    for (kib, label, colour, left) in [
        (
            run.budget_kib,
            if same {
                "budget = cgroup limit"
            } else {
                "budget"
            },
            "#d00",
            false,
        ),
        (
            run.limit_kib.filter(|_| !same),
            "cgroup limit",
            "#700",
            true,
        ),
    ] {
        if let Some(kib) = kib {
            let (at, off) = if on_scale(&kib) {
                (kib, "")
            } else {
                ((top as f64 * 1.05) as u64, " (off the scale)")
            };
            let (label_x, anchor) = if left {
                (LEFT + 4.0, "start")
            } else {
                (WIDTH - RIGHT - 4.0, "end")
            };
            let _ = writeln!(
                html,
                "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{colour}\" stroke-width=\"2\" stroke-dasharray=\"8 4\"><title>{label} {}</title></line><text x=\"{label_x}\" y=\"{:.1}\" font-size=\"12\" fill=\"{colour}\" text-anchor=\"{anchor}\">{label} {}{off}</text>",
                WIDTH - RIGHT,
                y(at),
                y(at),
                size(kib),
                y(at) + if off.is_empty() { -4.0 } else { 14.0 },
                size(kib)
            );
        }
    }
    // The events: a mark on the time axis and a thin line up.
    for e in &run.events {
        let ms = e.t_ms.saturating_sub(run.started_ms);
        let (what, colour) = event_style(&e.kind);
        let _ = writeln!(
            html,
            "<g><title>{} {}: {} ({})</title><line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{TOP}\" y2=\"{}\" stroke=\"{colour}\" stroke-opacity=\"0.5\"/><circle cx=\"{:.1}\" cy=\"{}\" r=\"5\" fill=\"{colour}\"/></g>",
            secs(ms),
            esc(&e.krate),
            what,
            esc(&crate::governed::humanize(&e.detail)),
            x(ms),
            x(ms),
            HEIGHT - BOTTOM,
            x(ms),
            HEIGHT - BOTTOM
        );
    }
    html.push_str("</svg>\n<div class=\"legend\">");
    for (fill, name) in &legend {
        let _ = write!(
            html,
            "<span><i class=\"sw\" style=\"background:{fill}\"></i>{}</span>",
            esc(name)
        );
    }
    html.push_str("<span><i class=\"sw\" style=\"background:#111;height:2px\"></i>summed anonymous memory</span>");
    let mut kinds: Vec<&str> = run.events.iter().map(|e| e.kind.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    for kind in kinds {
        let (what, colour) = event_style(kind);
        let _ = write!(
            html,
            "<span><i class=\"sw\" style=\"background:{colour};border-radius:6px\"></i>{what}</span>"
        );
    }
    html.push_str("</div>\n");
}

/// The events and every rustc run, as tables.
fn tables(html: &mut String, run: &Run) {
    if !run.events.is_empty() {
        html.push_str("<h2>What the governor did</h2>\n<table><tr><th>at</th><th>crate</th><th>what</th><th>detail</th></tr>\n");
        for e in &run.events {
            let _ = writeln!(
                html,
                "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                secs(e.t_ms.saturating_sub(run.started_ms)),
                esc(&e.krate),
                event_style(&e.kind).0,
                esc(&crate::governed::humanize(&e.detail))
            );
        }
        html.push_str("</table>\n");
    }
    html.push_str("<h2>Every rustc</h2>\n<table><tr><th>crate</th><th>version</th><th>kind</th><th>start</th><th>end</th><th>peak RSS (sampled)</th><th>anonymous peak</th><th>ru_maxrss</th><th>expected</th><th>estimate from</th><th>status</th></tr>\n");
    let mut order: Vec<usize> = (0..run.units.len()).collect();
    order.sort_unstable_by_key(|&u| (run.units[u].start_ms, u));
    for u in order {
        let unit = &run.units[u];
        let rss_peak = unit.samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
        let source = run
            .planned
            .iter()
            .find(|p| p.package == unit.package && p.version == unit.version)
            .map_or("-", |p| p.source.as_str());
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\" data-anon-kib=\"{}\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(&label(unit)),
            esc(&unit.version),
            esc(&unit.kind),
            secs(unit.start_ms.saturating_sub(run.started_ms)),
            secs(unit.end_ms.saturating_sub(run.started_ms)),
            size(rss_peak),
            unit.peak_anon_kib,
            size(unit.peak_anon_kib),
            size(unit.max_rss_kib),
            if unit.expected_kib > 0 { size(unit.expected_kib) } else { "-".into() },
            esc(source),
            esc(&status(&unit.status))
        );
    }
    html.push_str("</table>\n");
}

/// One band: a polygon from the stack so far up by `values`; the stack is raised.
#[allow(clippy::too_many_arguments)]
fn area(
    html: &mut String,
    t: &Timeline,
    below: &mut [u64],
    values: &[u64],
    fill: &str,
    tip: &str,
    x: &impl Fn(u64) -> f64,
    y: &impl Fn(u64) -> f64,
) {
    let mut upper = String::new();
    let mut lower = String::new();
    for (k, &ms) in t.times.iter().enumerate() {
        let _ = write!(upper, "{:.1},{:.1} ", x(ms), y(below[k] + values[k]));
    }
    for (k, &ms) in t.times.iter().enumerate().rev() {
        let _ = write!(lower, "{:.1},{:.1} ", x(ms), y(below[k]));
    }
    for (b, v) in below.iter_mut().zip(values) {
        *b += v;
    }
    let _ = writeln!(
        html,
        "<polygon points=\"{}{}\" fill=\"{fill}\" stroke=\"#fff\" stroke-width=\"0.3\"><title>{}</title></polygon>",
        upper,
        lower.trim_end(),
        esc(tip)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::{timeline, Event, Planned, Sample, UnitRun};

    fn run() -> Run {
        let unit = |krate: &str, start: u64, end: u64, rss: u64, link: u64| UnitRun {
            krate: krate.into(),
            package: krate.into(),
            version: "1.0.0".into(),
            kind: "lib".into(),
            start_ms: start,
            end_ms: end,
            expected_kib: 500_000,
            peak_anon_kib: rss / 2,
            max_rss_kib: rss,
            status: if krate == "big" {
                "sig9".into()
            } else {
                "0".into()
            },
            wrapper_cpu_ms: 5,
            sampler_cpu_us: 2000,
            rustc_cpu_ms: 1000,
            samples: vec![
                Sample {
                    t_ms: start,
                    rss_kib: rss,
                    anon_kib: rss / 2,
                    children_rss_kib: link,
                },
                Sample {
                    t_ms: end,
                    rss_kib: rss,
                    anon_kib: rss / 2,
                    children_rss_kib: link,
                },
            ],
        };
        Run {
            started_ms: 1000,
            ended_ms: 9000,
            budget_kib: Some(2 * 1024 * 1024),
            limit_kib: Some(3 * 1024 * 1024),
            budget_text: "2.0 GiB (cgroup <limit>)".into(),
            settings: "dev, debug 2".into(),
            advice: vec!["export CARGO_PROFILE_DEV_DEBUG=0".into()],
            planned: vec![Planned {
                package: "big".into(),
                version: "1.0.0".into(),
                link: false,
                kib: 500_000,
                source: "table".into(),
            }],
            events: vec![Event {
                t_ms: 4000,
                kind: "oom-killed".into(),
                krate: "big".into(),
                detail: "1.2 GiB at its last sample".into(),
            }],
            units: vec![
                unit("big", 1000, 4000, 1_500_000, 0),
                unit("app", 2000, 9000, 900_000, 600_000),
                unit("tiny", 1000, 1100, 10_000, 0),
            ],
        }
    }

    /// With memory to spare, the budget does not flatten the bands: it is marked off the scale,
    /// and the axis stops a little above the peak.
    #[test]
    fn a_budget_far_above_the_peak_is_off_the_scale() {
        let mut run = run();
        run.budget_kib = Some(100 * 1024 * 1024);
        run.limit_kib = None;
        let html = render(&run, &timeline(&run), "cargo lowmem build: demo");
        assert!(
            html.contains(">budget 100.00 GiB (off the scale)</text>"),
            "{html}"
        );
        assert!(
            html.contains(">2.00 GiB</text>"),
            "the axis reaches the peak"
        );
        assert!(
            !html.contains(">16.00 GiB</text>"),
            "the axis stops near the peak"
        );
        let on = render(&self::run(), &timeline(&self::run()), "demo");
        assert!(!on.contains("off the scale"));
    }

    #[test]
    fn the_report_shows_the_peak_the_bands_the_budget_and_the_events() {
        let run = run();
        let html = render(&run, &timeline(&run), "cargo lowmem build: demo");
        assert!(html.starts_with("<!DOCTYPE html>"));
        // Self-contained: nothing fetched, no script.
        // The one address is the SVG namespace, which is never fetched.
        assert_eq!(html.matches("http").count(), 1);
        assert!(html.contains("xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(!html.contains("<script"));
        // Peak: big 1.43 GiB + app 900 MiB at 1.0 s.
        assert!(
            html.contains("2.29 GiB at 1.0 s, while big 1.43 GiB, app 879 MiB ran"),
            "{html}"
        );
        assert!(html.contains("2.0 GiB (cgroup &lt;limit&gt;)"));
        assert!(html.contains(">budget 2.00 GiB</text>"));
        assert!(html.contains("text-anchor=\"start\">cgroup limit 3.00 GiB</text>"));
        assert!(html.contains(">cgroup limit 3.00 GiB</text>"));
        assert!(html.contains("<title>big: 0.0 s to 3.0 s, peak RSS 1.43 GiB"));
        assert!(html.contains("<title>app (linker):"));
        assert!(
            html.contains("1 smaller rustc and linker runs"),
            "tiny is under 3%"
        );
        assert!(html.contains("OOM-killed by the kernel (1.2 GiB at its last sample)"));
        assert!(html.contains(
            "0 held back, 0 stopped to make room, 0 killed to make room, 0 retried alone, 1 OOM-killed by the kernel"
        ));
        assert!(html.contains("fix 1"));
        assert!(html.contains(
            "sampling 6 ms of CPU, 0.20% of rustc's 3000 ms; the wrappers in all (starting, admission, waiting, sampling) 15 ms, 0.50%"
        ));
        assert!(html.contains("<td>table</td><td>killed (SIGKILL)</td>"));
        assert!(html.contains("<td>-</td><td>ok</td>"));
        assert!(html.contains("data-anon-kib=\"750000\""));
    }

    /// The recorded run of `timeline::tests::a_recorded_build_reads_and_adds_up`, drawn.
    #[test]
    fn a_recorded_oom_kill_is_drawn() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/report/web-320mib.run"
        ))
        .unwrap();
        let run = crate::timeline::parse(&text);
        let html = render(&run, &timeline(&run), "web in 320 MiB");
        assert!(html.contains("6 held back, 0 stopped to make room, 0 killed to make room, 1 retried alone, 2 OOM-killed"));
        assert_eq!(
            html.matches("fill=\"#dc322f\"/></g>").count(),
            2,
            "two OOM marks"
        );
        assert!(html.contains("OOM-killed by the kernel (290 MiB at its last sample)"));
        assert!(html.contains("held back (~301 MiB until tracing_attributes (~77 MiB) finishes)"));
        assert!(
            html.contains("<td>tokio</td><td>1.54.1</td><td>lib</td>"),
            "{html}"
        );
    }

    #[test]
    fn an_empty_run_still_renders() {
        let run = Run::default();
        let html = render(&run, &timeline(&run), "empty");
        assert!(html.contains("0 MiB at 0.0 s"));
        assert!(html.ends_with("</html>\n"));
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size(0), "0 MiB");
        assert_eq!(size(1536), "2 MiB");
        assert_eq!(size(1024 * 1024), "1.00 GiB");
        assert_eq!(esc("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
    }
}
