//! The `clustermesh-apiserver` command line: init, issue-cert and run.
