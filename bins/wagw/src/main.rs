//! `wagw`: the daemon and operator CLI. Thin: parsing, wiring, output.

fn main() {
    println!("wagw {}", env!("CARGO_PKG_VERSION"));
}
