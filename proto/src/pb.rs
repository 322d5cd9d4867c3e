//! Code generated from `proto/clustermesh/v1/*.proto`.

tonic::include_proto!("clustermesh.v1");

/// The encoded `FileDescriptorSet` of the whole contract, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/clustermesh_descriptor.bin"));

#[cfg(test)]
mod tests {
    #[test]
    fn descriptor_set_describes_every_service() {
        let set = super::FILE_DESCRIPTOR_SET;
        for service in ["Mesh", "PeerExport", "Admin", "RaftReplication"] {
            let name = service.as_bytes();
            assert!(set.windows(name.len()).any(|w| w == name), "{service}");
        }
    }
}
