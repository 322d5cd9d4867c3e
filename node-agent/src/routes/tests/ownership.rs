//! Only routes with our protocol are observed, removed and cleaned up.

use super::*;
use crate::exec::Routes;

/// Routes of another protocol, even on our interface and for the same prefix at
/// another metric, are never observed nor removed.
#[test]
fn foreign_routes_are_never_observed_nor_removed() {
    let setup: &[&[&str]] = &[
        &[
            "ip",
            "route",
            "add",
            "10.50.0.0/16",
            "dev",
            WG,
            "proto",
            "static",
        ],
        &["ip", "route", "add", "10.51.0.0/16", "dev", WG],
        &[
            "ip",
            "-6",
            "route",
            "add",
            "fd50::/64",
            "dev",
            WG,
            "proto",
            "static",
        ],
        &[
            "ip",
            "route",
            "add",
            "10.60.0.0/16",
            "dev",
            "cmt-wg1",
            "proto",
            "static",
            "metric",
            "50",
        ],
    ];
    netns_test(
        module_path!(),
        "foreign_routes_are_never_observed_nor_removed",
        setup,
        |routes| async move {
            assert_eq!(routes.observe().await?, set(&[]));
            routes.add(&cidr("10.60.0.0/16")).await?;
            assert_eq!(routes.observe().await?, set(&["10.60.0.0/16"]));
            for foreign in ["10.50.0.0/16", "10.51.0.0/16", "fd50::/64", "10.60.0.0/16"] {
                routes.remove(&cidr(foreign)).await?;
            }
            assert_eq!(routes.observe().await?, set(&[]));
            let left = all_routes();
            for kept in [
                "10.50.0.0/16 dev cmt-wg0 proto static",
                // `ip` leaves out `proto boot`, the default.
                "10.51.0.0/16 dev cmt-wg0 scope link",
                "fd50::/64 dev cmt-wg0 proto static",
                "10.60.0.0/16 dev cmt-wg1 proto static",
            ] {
                assert!(left.contains(kept), "{kept} is gone:\n{left}");
            }
            Ok(())
        },
    );
}

/// Ours on another interface is not observed (the planner only owns one interface),
/// but cleanup removes it along with the rest of ours, and nothing else.
#[test]
fn cleanup_removes_every_route_of_ours_and_only_those() {
    let setup: &[&[&str]] = &[
        &[
            "ip",
            "route",
            "add",
            "10.50.0.0/16",
            "dev",
            WG,
            "proto",
            "static",
        ],
        &[
            "ip",
            "-6",
            "route",
            "add",
            "fd50::/64",
            "dev",
            WG,
            "proto",
            "static",
        ],
        &[
            "ip",
            "route",
            "add",
            "10.70.0.0/16",
            "dev",
            "cmt-wg1",
            "proto",
            "149",
        ],
    ];
    netns_test(
        module_path!(),
        "cleanup_removes_every_route_of_ours_and_only_those",
        setup,
        |routes| async move {
            routes.add(&cidr("10.4.0.0/16")).await?;
            routes.add(&cidr("fd00:4::/64")).await?;
            assert_eq!(
                routes.observe().await?,
                set(&["10.4.0.0/16", "fd00:4::/64"])
            );
            assert_eq!(routes.cleanup().await?, 3);
            assert_eq!(routes.observe().await?, set(&[]));
            let left = all_routes();
            assert!(!left.contains("proto 149"), "{left}");
            assert!(
                left.contains("10.50.0.0/16 dev cmt-wg0 proto static"),
                "{left}"
            );
            assert!(
                left.contains("fd50::/64 dev cmt-wg0 proto static"),
                "{left}"
            );
            assert_eq!(routes.cleanup().await?, 0);
            Ok(())
        },
    );
}

/// A foreign route at the same prefix and metric is left alone and the add fails,
/// naming the conflict; ours on another interface is moved to ours.
#[test]
fn existing_routes_for_the_prefix_are_settled_by_owner() {
    let setup: &[&[&str]] = &[
        &[
            "ip",
            "route",
            "add",
            "10.80.0.0/16",
            "dev",
            "cmt-wg1",
            "proto",
            "static",
            "metric",
            "0",
        ],
        &[
            "ip",
            "route",
            "add",
            "10.90.0.0/16",
            "dev",
            "cmt-wg1",
            "proto",
            "149",
            "metric",
            "0",
        ],
    ];
    netns_test(
        module_path!(),
        "existing_routes_for_the_prefix_are_settled_by_owner",
        setup,
        |routes| async move {
            let error = routes
                .add(&cidr("10.80.0.0/16"))
                .await
                .expect_err("a conflict");
            let message = error.to_string();
            assert!(
                message.contains("10.80.0.0/16") && message.contains("protocol 4"),
                "{message}"
            );
            let foreign = ip(&["-4", "route", "show", "10.80.0.0/16"]);
            assert!(foreign.contains("dev cmt-wg1 proto static"), "{foreign}");

            routes.add(&cidr("10.90.0.0/16")).await?;
            assert_eq!(routes.observe().await?, set(&["10.90.0.0/16"]));
            let moved = ip(&["-4", "route", "show", "10.90.0.0/16"]);
            assert!(
                moved.contains("dev cmt-wg0 proto 149") && !moved.contains("cmt-wg1"),
                "{moved}"
            );
            Ok(())
        },
    );
}
