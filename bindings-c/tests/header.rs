//! The committed header bindings-c/include/kpipe.h, and the Go binding's copy of it
//! (bindings-go/include/kpipe.h: the Go module must build from the module cache, without this
//! folder), must equal a fresh cbindgen run. `KPIPE_BLESS=1 cargo test -p kpipe-capi --test
//! header` rewrites both.

use std::path::PathBuf;

#[test]
fn header_is_current() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut fresh = Vec::new();
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut fresh);
    let fresh = String::from_utf8(fresh).unwrap();
    for rel in ["include/kpipe.h", "../bindings-go/include/kpipe.h"] {
        let path = crate_dir.join(rel);
        if std::env::var_os("KPIPE_BLESS").is_some() {
            std::fs::write(&path, &fresh).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == fresh,
            "{} is stale: run `KPIPE_BLESS=1 cargo test -p kpipe-capi --test header` and commit it",
            path.display()
        );
    }
}
