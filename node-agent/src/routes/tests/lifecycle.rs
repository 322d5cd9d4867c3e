//! Adding, observing and removing, IPv4 and IPv6, and idempotence.

use super::*;
use crate::exec::Routes;

#[test]
fn adds_observes_and_removes_ipv4_and_ipv6() {
    netns_test(
        module_path!(),
        "adds_observes_and_removes_ipv4_and_ipv6",
        &[],
        |routes| async move {
            assert_eq!(routes.observe().await?, set(&[]));
            routes.add(&cidr("10.1.0.0/16")).await?;
            routes.add(&cidr("fd00:1::/64")).await?;
            assert_eq!(
                routes.observe().await?,
                set(&["10.1.0.0/16", "fd00:1::/64"])
            );
            let v4 = ip(&["-4", "route", "show", "10.1.0.0/16"]);
            assert!(v4.contains("dev cmt-wg0 proto 149"), "{v4}");
            let v6 = ip(&["-6", "route", "show", "fd00:1::/64"]);
            assert!(v6.contains("dev cmt-wg0 proto 149"), "{v6}");

            routes.remove(&cidr("10.1.0.0/16")).await?;
            assert_eq!(routes.observe().await?, set(&["fd00:1::/64"]));
            routes.remove(&cidr("fd00:1::/64")).await?;
            assert_eq!(routes.observe().await?, set(&[]));
            assert!(!all_routes().contains("proto 149"), "{}", all_routes());
            Ok(())
        },
    );
}

#[test]
fn add_and_remove_are_idempotent() {
    netns_test(
        module_path!(),
        "add_and_remove_are_idempotent",
        &[],
        |routes| async move {
            for _ in 0..2 {
                routes.add(&cidr("10.2.0.0/16")).await?;
                routes.add(&cidr("fd00:2::/64")).await?;
            }
            assert_eq!(
                routes.observe().await?,
                set(&["10.2.0.0/16", "fd00:2::/64"])
            );
            for _ in 0..2 {
                routes.remove(&cidr("10.2.0.0/16")).await?;
                routes.remove(&cidr("fd00:2::/64")).await?;
            }
            routes.remove(&cidr("10.3.0.0/16")).await?;
            assert_eq!(routes.observe().await?, set(&[]));
            Ok(())
        },
    );
}
