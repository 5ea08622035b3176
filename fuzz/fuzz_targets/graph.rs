#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lowmem_build::fuzz::graph(data));
