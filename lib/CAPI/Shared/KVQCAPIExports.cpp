//===- KVQCAPIExports.cpp - libKVQ-C.so -----------------------------------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// libKVQ-C.so has no code of its own: it links the kvq C API (KVQCAPI) and
// MLIR's core C API whole, over libMLIR.so (lib/CAPI/CMakeLists.txt).
//
//===----------------------------------------------------------------------===//
