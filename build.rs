//! The migrations are embedded in the binary (`diesel_migrations`): build
//! again whenever one is added or changed, or the binary would carry the
//! old set.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
