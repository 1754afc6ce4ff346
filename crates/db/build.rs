//! `sqlx::migrate!` embeds `migrations/` at compile time, but Cargo does not know the macro
//! read it: without this a new migration file would not rebuild the crate, and a server would
//! run without it.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
