//! Errors name what is missing: the interface, or CAP_NET_ADMIN.

use super::*;
use crate::{exec::Routes, netns_testing::in_netns};

#[test]
fn a_missing_interface_is_an_error_naming_it() {
    in_netns(
        &harness_path(module_path!(), "a_missing_interface_is_an_error_naming_it"),
        |_| {},
        || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            runtime.block_on(async {
                let routes = NetlinkRoutes::new("cmt-nope0").expect("a netlink connection");
                let observe = routes.observe().await.expect_err("no interface");
                let add = routes
                    .add(&cidr("10.5.0.0/16"))
                    .await
                    .expect_err("no interface");
                let remove = routes
                    .remove(&cidr("10.5.0.0/16"))
                    .await
                    .expect_err("no interface");
                for error in [observe, add, remove] {
                    let message = error.to_string();
                    assert!(
                        message.contains("interface cmt-nope0") && message.contains("no such"),
                        "{message}"
                    );
                }
            });
        },
    );
}

/// Set in the copy of the test that runs without capabilities.
const UNPRIVILEGED: &str = "CLUSTERMESH_ROUTES_UNPRIVILEGED";

/// Inside the namespace, the test re-runs itself as root stripped of every capability
/// (`setpriv`), where adding and removing must fail with an error that names the
/// missing CAP_NET_ADMIN, while reading still works.
#[test]
fn without_cap_net_admin_the_error_names_it() {
    let test = harness_path(module_path!(), "without_cap_net_admin_the_error_names_it");
    netns_test(
        module_path!(),
        "without_cap_net_admin_the_error_names_it",
        &[],
        |routes| async move {
            if std::env::var_os(UNPRIVILEGED).is_none() {
                let exe = std::env::current_exe()?;
                let output = Command::new("setpriv")
                    .args(["--inh-caps=-all", "--bounding-set=-all", "--"])
                    .arg(exe)
                    .args(["--exact", &test, "--nocapture", "--test-threads=1"])
                    .env(UNPRIVILEGED, "1")
                    .output()?;
                let stdout = String::from_utf8_lossy(&output.stdout);
                anyhow::ensure!(
                    output.status.success() && stdout.contains("1 passed"),
                    "unprivileged run failed:\n{stdout}\n{}",
                    String::from_utf8_lossy(&output.stderr)
                );
                return Ok(());
            }
            assert_eq!(routes.observe().await?, set(&[]));
            let add = routes
                .add(&cidr("10.6.0.0/16"))
                .await
                .expect_err("no CAP_NET_ADMIN");
            let remove = routes
                .remove(&cidr("10.6.0.0/16"))
                .await
                .expect_err("no CAP_NET_ADMIN");
            for error in [add, remove] {
                let message = error.to_string();
                assert!(message.contains("10.6.0.0/16 via cmt-wg0"), "{message}");
                assert!(message.contains("CAP_NET_ADMIN"), "{message}");
            }
            Ok(())
        },
    );
}
