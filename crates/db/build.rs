//! Rebuilds the crate when `migrations/` changes: `embed_migrations!` reads the folder at compile
//! time, and cargo does not otherwise notice a new migration.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
