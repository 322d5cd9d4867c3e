//! Compiles the gRPC contract with `protox`, so building needs no `protoc`.

use std::{env, error::Error, fs, path::PathBuf};

const PROTOS: &[&str] = &[
    "proto/clustermesh/v1/records.proto",
    "proto/clustermesh/v1/events.proto",
    "proto/clustermesh/v1/mesh.proto",
    "proto/clustermesh/v1/peer.proto",
    "proto/clustermesh/v1/drill.proto",
    "proto/clustermesh/v1/admin.proto",
    "proto/clustermesh/v1/raft.proto",
];

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=proto");
    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler
        .include_source_info(true)
        .include_imports(true)
        .open_files(PROTOS)?;

    // Served by gRPC reflection, so tools like grpcurl work without the .proto files.
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(
        out_dir.join("clustermesh_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;

    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // Ordered maps encode deterministically, so equal records give equal bytes in the
        // store and compare-and-swap does not see spurious changes.
        .btree_map(".")
        // Records pass through feeds and importers as the bytes they arrived in.
        .bytes(".clustermesh.v1.Upsert.record")
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
