//! System tests live in tests/tests/*.rs.
