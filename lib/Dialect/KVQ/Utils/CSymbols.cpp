//===- CSymbols.cpp - C symbols for MLIR function names ---------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/Utils/CSymbols.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Twine.h"

#include <cctype>

using namespace mlir;
using namespace mlir::kvq;

bool mlir::kvq::isCIdentifier(StringRef name) {
  if (name.empty() || isdigit(static_cast<unsigned char>(name.front())))
    return false;
  return llvm::all_of(name, [](char c) {
    return isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

/// C23 keywords, and `main`, which a library must not define.
static bool isCKeyword(StringRef name) {
  static const char *const keywords[] = {
      "alignas",      "alignof",  "auto",          "bool",      "break",
      "case",         "char",     "const",         "constexpr", "continue",
      "default",      "do",       "double",        "else",      "enum",
      "extern",       "false",    "float",         "for",       "goto",
      "if",           "inline",   "int",           "long",      "nullptr",
      "register",     "restrict", "return",        "short",     "signed",
      "sizeof",       "static",   "static_assert", "struct",    "switch",
      "thread_local", "true",     "typedef",       "typeof",    "typeof_unqual",
      "union",        "unsigned", "void",          "volatile",  "while",
      "main"};
  return llvm::is_contained(keywords, name);
}

/// Functions of the C library (string, stdlib, math, stdio) that a library
/// defining them would interpose for the whole process: the generated code
/// calls some of them, its users call the rest.
static bool isCLibraryFunction(StringRef name) {
  static const char *const functions[] = {
      // <stdlib.h>, <string.h>, <stdio.h>
      "abort", "abs", "aligned_alloc", "atexit", "atof", "atoi", "atol",
      "bsearch", "calloc", "div", "exit", "free", "getenv", "labs", "malloc",
      "memchr", "memcmp", "memcpy", "memmove", "memset", "perror", "printf",
      "fprintf", "puts", "putchar", "qsort", "rand", "realloc", "snprintf",
      "sprintf", "srand", "strcat", "strchr", "strcmp", "strcpy", "strlen",
      "strncmp", "strncpy", "strstr", "strtod", "strtof", "strtol", "system",
      "fopen", "fclose", "fread", "fwrite", "fflush", "posix_memalign",
      // <math.h>, double and float
      "acos", "acosf", "acosh", "acoshf", "asin", "asinf", "asinh", "asinhf",
      "atan", "atanf", "atan2", "atan2f", "atanh", "atanhf", "cbrt", "cbrtf",
      "ceil", "ceilf", "copysign", "copysignf", "cos", "cosf", "cosh", "coshf",
      "erf", "erff", "erfc", "erfcf", "exp", "expf", "exp2", "exp2f", "expm1",
      "expm1f", "fabs", "fabsf", "fdim", "fdimf", "floor", "floorf", "fma",
      "fmaf", "fmax", "fmaxf", "fmin", "fminf", "fmod", "fmodf", "frexp",
      "frexpf", "hypot", "hypotf", "ldexp", "ldexpf", "lgamma", "lgammaf",
      "log", "logf", "log10", "log10f", "log1p", "log1pf", "log2", "log2f",
      "lrint", "lrintf", "lround", "lroundf", "modf", "modff", "nearbyint",
      "nearbyintf", "pow", "powf", "remainder", "remainderf", "rint", "rintf",
      "round", "roundf", "roundeven", "roundevenf", "sin", "sinf", "sinh",
      "sinhf", "sqrt", "sqrtf", "tan", "tanf", "tanh", "tanhf", "tgamma",
      "tgammaf", "trunc", "truncf",
      // Defined by every kvq library for lowered memref copies.
      "memrefCopy"};
  return llvm::is_contained(functions, name);
}

std::string mlir::kvq::whyNotExportable(StringRef name) {
  if (!isCIdentifier(name))
    return "is not a C identifier";
  if (name == "main")
    return "is the C program's entry point";
  if (isCKeyword(name))
    return "is a C keyword";
  if (name.starts_with("_"))
    return "starts with '_', which C reserves";
  if (name.starts_with("kvq_"))
    return "starts with 'kvq_', which the kvq ABI reserves";
  if (isCLibraryFunction(name))
    return "is a C library function's";
  return "";
}

CSymbolTable::CSymbolTable(StringRef libraryName,
                           const llvm::StringSet<> &taken) {
  for (char c : libraryName)
    prefix += isalnum(static_cast<unsigned char>(c)) ? c : '_';
  if (prefix.empty() || !isalpha(static_cast<unsigned char>(prefix.front())) ||
      StringRef(prefix + "_").starts_with("kvq_"))
    prefix = "lib" + prefix;
  for (const auto &symbol : taken)
    used.insert(symbol.getKey());
}

bool CSymbolTable::isFree(StringRef symbol,
                          ArrayRef<StringRef> suffixes) const {
  if (used.contains(symbol))
    return false;
  return llvm::none_of(suffixes, [&](StringRef suffix) {
    return used.contains((symbol + suffix).str());
  });
}

bool CSymbolTable::tryReserve(StringRef symbol, ArrayRef<StringRef> suffixes) {
  if (!whyNotExportable(symbol).empty() || !isFree(symbol, suffixes))
    return false;
  used.insert(symbol);
  for (StringRef suffix : suffixes)
    used.insert((symbol + suffix).str());
  return true;
}

std::string CSymbolTable::map(StringRef mlirName,
                              ArrayRef<StringRef> suffixes) {
  std::string base = prefix + "_";
  for (char c : mlirName)
    base += isalnum(static_cast<unsigned char>(c)) ? c : '_';
  std::string symbol = base;
  for (int n = 2; !tryReserve(symbol, suffixes); ++n)
    symbol = base + "_" + std::to_string(n);
  return symbol;
}
