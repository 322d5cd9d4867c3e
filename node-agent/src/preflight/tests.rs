use std::path::Path;

use super::{PreflightError, check_tun, effective_capabilities};

#[test]
fn reads_the_effective_set() {
    let status = "Name:\tnode-agent\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n";
    assert_eq!(effective_capabilities(status), Some(0x1ff_ffff_ffff));
    assert_eq!(effective_capabilities("CapEff:\tzz\n"), None);
    assert_eq!(effective_capabilities("Name:\tx\n"), None);
}

#[test]
fn a_missing_tun_device_is_named_with_the_fix() {
    let err = check_tun(Path::new("/nonexistent/net/tun")).expect_err("no such device");
    assert!(matches!(err, PreflightError::NoTun { .. }));
    let text = err.to_string();
    assert!(text.contains("/nonexistent/net/tun"), "{text}");
    assert!(text.contains("modprobe tun"), "{text}");
}

#[test]
fn not_privileged_names_the_capability() {
    let text = PreflightError::NotPrivileged { effective: 0 }.to_string();
    assert!(text.contains("CAP_NET_ADMIN"), "{text}");
    assert!(text.contains("run it as root"), "{text}");
}
