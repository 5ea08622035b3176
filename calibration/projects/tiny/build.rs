fn main() {
    lowmem_build::check();
}
