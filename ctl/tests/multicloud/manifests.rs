//! Editing a cloud's manifests where its apiserver reads them
//! (`$CLUSTERMESH_DEMO_DIR/<cloud>/manifests/cluster.yaml`, written by
//! `lib/manifests.sh` from `manifests.yaml.in`). Each edit is atomic, as the script's own
//! write and a ConfigMap update are: a hidden temp file in the same directory (the
//! source ignores dotfiles), then a rename over the original.

use crate::demo::Demo;

const GLOBAL: &str = "    clustermesh.io/global: \"true\"";
const AFFINITY: &str = "    clustermesh.io/affinity:";

/// Sets `clustermesh.io/affinity` on `cloud`'s default/echo Service (`None` removes it:
/// the default, `none`).
pub fn set_affinity(demo: &Demo, cloud: &str, affinity: Option<&str>) {
    edit(demo, cloud, |text| {
        let mut out = String::new();
        let mut globals = 0;
        for line in text.lines().filter(|l| !l.starts_with(AFFINITY)) {
            out.push_str(line);
            out.push('\n');
            if line == GLOBAL {
                globals += 1;
                if let Some(affinity) = affinity {
                    out.push_str(&format!("{AFFINITY} {affinity}\n"));
                }
            }
        }
        assert_eq!(
            globals, 1,
            "one global Service in {cloud}'s manifests:\n{text}"
        );
        out
    });
}

/// Sets the `ready` condition of `cloud`'s echo endpoint (its EndpointSlice).
pub fn set_echo_ready(demo: &Demo, cloud: &str, ready: bool) {
    edit(demo, cloud, |text| {
        let mut out = String::new();
        let mut found = 0;
        for line in text.lines() {
            if line.trim() == "ready: true" || line.trim() == "ready: false" {
                found += 1;
                let indent = &line[..line.len() - line.trim_start().len()];
                out.push_str(&format!("{indent}ready: {ready}\n"));
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        assert_eq!(
            found, 1,
            "one endpoint condition in {cloud}'s manifests:\n{text}"
        );
        out
    });
}

fn edit(demo: &Demo, cloud: &str, change: impl FnOnce(&str) -> String) {
    let path = demo.manifests(cloud);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let tmp = path.with_file_name(".cluster.yaml.test.tmp");
    std::fs::write(&tmp, change(&text)).expect("write the new manifests");
    std::fs::rename(&tmp, &path).expect("rename the new manifests into place");
}
