//! Parsing `/proc/meminfo`.

/// The lines of `/proc/meminfo` the budget needs, in bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MemInfo {
    pub(crate) total: Option<u64>,
    pub(crate) available: Option<u64>,
    pub(crate) free: Option<u64>,
    pub(crate) buffers: Option<u64>,
    pub(crate) cached: Option<u64>,
    pub(crate) swap_total: Option<u64>,
    pub(crate) swap_free: Option<u64>,
}

impl MemInfo {
    /// Available memory: `MemAvailable`, or on kernels before 3.14 (which lack it) the old
    /// estimate `MemFree + Buffers + Cached`. The flag says whether the estimate was used.
    pub(crate) fn available_or_estimate(&self) -> Option<(u64, bool)> {
        if let Some(available) = self.available {
            return Some((available, false));
        }
        let estimate = self
            .free?
            .saturating_add(self.buffers.unwrap_or(0))
            .saturating_add(self.cached.unwrap_or(0));
        Some((estimate, true))
    }
}

/// Parses `/proc/meminfo`. Lines that do not parse are skipped; values are in kB there.
pub(crate) fn parse_meminfo(text: &str) -> MemInfo {
    let mut info = MemInfo::default();
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let Some(Ok(number)) = fields.next().map(str::parse::<u64>) else {
            continue;
        };
        let bytes = match fields.next() {
            Some("kB") => number.checked_mul(1024),
            None => Some(number),
            Some(_) => None,
        };
        let slot = match key.trim() {
            "MemTotal" => &mut info.total,
            "MemAvailable" => &mut info.available,
            "MemFree" => &mut info.free,
            "Buffers" => &mut info.buffers,
            "Cached" => &mut info.cached,
            "SwapTotal" => &mut info.swap_total,
            "SwapFree" => &mut info.swap_free,
            _ => continue,
        };
        *slot = bytes;
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_lines_in_bytes() {
        let info = parse_meminfo(
            "MemTotal:       24591480 kB\nMemFree:        23000000 kB\n\
             MemAvailable:   23872356 kB\nBuffers:           1000 kB\nCached:           2000 kB\n\
             SwapTotal:             0 kB\nSwapFree:              0 kB\nHugePages_Total:       0\n",
        );
        assert_eq!(info.total, Some(24591480 * 1024));
        assert_eq!(info.available, Some(23872356 * 1024));
        assert_eq!(info.swap_total, Some(0));
        assert_eq!(info.available_or_estimate(), Some((23872356 * 1024, false)));
    }

    #[test]
    fn old_kernels_estimate_available() {
        let info = parse_meminfo("MemTotal: 100 kB\nMemFree: 10 kB\nBuffers: 1 kB\nCached: 5 kB\n");
        assert_eq!(info.available, None);
        assert_eq!(info.available_or_estimate(), Some((16 * 1024, true)));
    }

    #[test]
    fn garbage_is_skipped() {
        let info = parse_meminfo("MemTotal: lots kB\nMemAvailable: 5 MB\nSwapTotal: 1");
        assert_eq!(info.total, None);
        assert_eq!(info.available, None);
        assert_eq!(info.swap_total, Some(1));
        assert_eq!(parse_meminfo(""), MemInfo::default());
        assert_eq!(
            parse_meminfo("MemTotal: 99999999999999999999 kB").total,
            None
        );
    }
}
