//! The models fitted on the corpus (`data/model.tsv`, generated, never typed in): a crate's peak
//! and artifact size from the size of its sources and its number of dependencies, a link's peak
//! from its inputs, and the build's need from the heaviest crates that compile together.
//!
//! Format: `#` lines are comments; other lines are `what  class  coefficients...`,
//! tab-separated:
//! - `crate <class> a b c`: ln(anonymous peak, MiB) = a + b·ln(.rs bytes) + c·ln(1 + dependencies)
//! - `out <class> a b c`: ln(artifact, KiB) = a + b·ln(.rs bytes) + c·ln(1 + dependencies)
//! - `link <class> a b`: a link's anonymous peak, MiB = a + b·(its inputs, MiB)
//! - `build - p i c`: the build's need, MiB = the heaviest moment (see `overlap.rs`: the crate at
//!   its peak, plus `p` of each library dependent cargo pipelines beside it and `i` of each
//!   independent crate, as many as the jobs allow) + c (cargo, and the file-backed working set
//!   the kernel cannot drop)
//! - `script - peak`: compiling and linking one build script, MiB
//!
//! `<class>` is `d0`, `lt`, `d2` or `release`, as in the table.

use super::Class;

/// The shipped model's text.
pub(crate) const SHIPPED: &str = include_str!("../../data/model.tsv");

/// The coefficients, by class where they depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Model {
    pub(crate) krate: [[f64; 3]; 4],
    pub(crate) out: [[f64; 3]; 4],
    pub(crate) link: [[f64; 2]; 4],
    /// `p`, `i` and `c` of the build's need.
    pub(crate) build: [f64; 3],
    /// A build script's peak, MiB.
    pub(crate) script_mib: f64,
}

impl Model {
    /// Reads the model text; lines it does not know are skipped.
    pub(crate) fn parse(text: &str) -> Model {
        let mut model = Model {
            build: [1.0, 1.0, 0.0],
            ..Model::default()
        };
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let f: Vec<&str> = line.split('\t').collect();
            if f.len() < 3 {
                continue;
            }
            let nums: Vec<f64> = f[2..].iter().filter_map(|n| n.parse().ok()).collect();
            let class = Class::from_name(f[1]).map(Class::index);
            match (f[0], class, nums.as_slice()) {
                ("crate", Some(i), &[a, b, c]) => model.krate[i] = [a, b, c],
                ("out", Some(i), &[a, b, c]) => model.out[i] = [a, b, c],
                ("link", Some(i), &[a, b]) => model.link[i] = [a, b],
                ("build", None, &[p, i, c]) => model.build = [p, i, c],
                ("script", None, &[peak]) => model.script_mib = peak,
                _ => {}
            }
        }
        model
    }

    /// A crate's anonymous peak, MiB.
    pub(crate) fn crate_mib(&self, class: Class, bytes: u64, deps: usize) -> f64 {
        log_linear(self.krate[class.index()], bytes, deps)
    }

    /// A crate's artifact, KiB.
    pub(crate) fn out_kib(&self, class: Class, bytes: u64, deps: usize) -> f64 {
        log_linear(self.out[class.index()], bytes, deps)
    }

    /// A link's anonymous peak, MiB, from its inputs in MiB.
    pub(crate) fn link_mib(&self, class: Class, inputs_mib: f64) -> f64 {
        let [a, b] = self.link[class.index()];
        a + b * inputs_mib
    }

    /// What of a crate's peak shows at another's peak, by how they relate.
    pub(crate) fn shares(&self) -> super::overlap::Shares {
        super::overlap::Shares {
            pipelined: self.build[0],
            independent: self.build[1],
        }
    }

    /// The build's need, MiB, from its heaviest moment, MiB.
    pub(crate) fn need_mib(&self, moment: f64) -> f64 {
        moment + self.build[2]
    }
}

fn log_linear([a, b, c]: [f64; 3], bytes: u64, deps: usize) -> f64 {
    (a + b * (bytes.max(1) as f64).ln() + c * (1.0 + deps as f64).ln()).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_kind_of_line() {
        let m = Model::parse(
            "# comment\ncrate\td2\t1\t0.5\t0.1\nout\td0\t2\t1\t0\nlink\trelease\t50\t0.5\nbuild\t-\t0.8\t0.1\t10\nscript\t-\t40\nbogus\td0\t1\n",
        );
        assert_eq!(m.krate[Class::Full.index()], [1.0, 0.5, 0.1]);
        assert_eq!(m.out[Class::D0.index()], [2.0, 1.0, 0.0]);
        assert_eq!(m.link_mib(Class::Release, 100.0), 100.0);
        assert_eq!(m.need_mib(100.0), 110.0);
        assert_eq!(m.shares().pipelined, 0.8);
        assert_eq!(m.script_mib, 40.0);
        let peak = m.crate_mib(Class::Full, 1_000_000, 9);
        assert!((peak - (1.0 + 0.5 * 1e6f64.ln() + 0.1 * 10f64.ln()).exp()).abs() < 1e-6);
    }

    #[test]
    fn the_shipped_model_predicts_more_for_larger_crates() {
        let m = Model::parse(SHIPPED);
        for class in [Class::D0, Class::LineTables, Class::Full, Class::Release] {
            let small = m.crate_mib(class, 10_000, 2);
            let large = m.crate_mib(class, 2_000_000, 40);
            assert!(
                small > 5.0 && large > small * 2.0,
                "{class:?}: {small} {large}"
            );
            assert!(
                m.link_mib(class, 500.0) > m.link_mib(class, 10.0),
                "{class:?}"
            );
        }
        assert!((0.0..=1.0).contains(&m.build[0]), "{:?}", m.build);
        assert!((0.0..=1.0).contains(&m.build[1]), "{:?}", m.build);
    }
}
