fn main() {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    println!("{} lines, tier {}", meminfo.lines().count(), env!("LOWMEM_BUILD_TIER"));
}
