//! The `ctl` binary; everything lives in the library.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    ctl::main().await
}
