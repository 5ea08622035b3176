//! Reads the hints lowmem_build handed over at build time.

#[cfg(lowmem)]
const MODE: &str = "lowmem";
#[cfg(not(lowmem))]
const MODE: &str = "normal";

fn main() {
    println!("tier={}", env!("LOWMEM_BUILD_TIER"));
    println!("budget_mb={}", env!("LOWMEM_BUILD_BUDGET_MB"));
    println!("jobs_hint={}", env!("LOWMEM_BUILD_JOBS_HINT"));
    println!("mode={MODE}");
}
