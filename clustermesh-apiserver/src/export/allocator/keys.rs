//! Store keys of the identity allocator; the layout is described in the parent module.

use std::num::NonZeroU16;

use clustermesh_proto::ClusterName;

pub(super) struct Keys {
    cluster: ClusterName,
    /// `<cluster>/identity-alloc/`
    root: String,
}

impl Keys {
    pub(super) fn new(cluster: ClusterName) -> Self {
        let root = format!("{cluster}/identity-alloc/");
        Self { cluster, root }
    }

    pub(super) fn cluster(&self) -> &ClusterName {
        &self.cluster
    }

    pub(super) fn by_labels_prefix(&self) -> String {
        format!("{}by-labels/", self.root)
    }

    pub(super) fn by_labels(&self, canonical: &str) -> String {
        format!("{}by-labels/{canonical}", self.root)
    }

    pub(super) fn by_id_prefix(&self) -> String {
        format!("{}by-id/", self.root)
    }

    pub(super) fn by_id(&self, local: NonZeroU16) -> String {
        format!("{}by-id/{local}", self.root)
    }

    pub(super) fn next(&self) -> String {
        format!("{}next", self.root)
    }

    /// The canonical label set named by a `by-labels/` key.
    pub(super) fn canonical_of<'k>(&self, key: &'k str) -> Option<&'k str> {
        key.strip_prefix(&self.by_labels_prefix())
    }

    /// The local id named by a `by-id/` key; `None` for anything else.
    pub(super) fn id_from_by_id_key(&self, key: &str) -> Option<NonZeroU16> {
        key.strip_prefix(&self.by_id_prefix())?.parse().ok()
    }
}

/// Every local id once, starting at `hint` and wrapping around after 65535.
pub(super) fn candidates(hint: NonZeroU16) -> impl Iterator<Item = NonZeroU16> {
    (hint.get()..=u16::MAX)
        .chain(1..hint.get())
        .filter_map(NonZeroU16::new)
}

/// The id after `local`, wrapping to 1, as the next hint.
pub(super) fn after(local: NonZeroU16) -> NonZeroU16 {
    local.checked_add(1).unwrap_or(NonZeroU16::MIN)
}
