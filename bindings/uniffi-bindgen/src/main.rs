//! `cargo run -p uniffi-bindgen -- generate <library> --language kotlin|swift --out-dir <dir>`

fn main() {
    uniffi::uniffi_bindgen_main()
}
