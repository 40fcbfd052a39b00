//! The committed header bindings-go/include/kpipe.h must equal a fresh cbindgen run.
//! `KPIPE_BLESS=1 cargo test -p kpipe-capi --test header` rewrites it.

use std::path::PathBuf;

#[test]
fn header_is_current() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut fresh = Vec::new();
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut fresh);
    let fresh = String::from_utf8(fresh).unwrap();
    let path = crate_dir.join("../include/kpipe.h");
    if std::env::var_os("KPIPE_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "bindings-go/include/kpipe.h is stale: run `KPIPE_BLESS=1 cargo test -p kpipe-capi --test header` and commit it"
    );
}
