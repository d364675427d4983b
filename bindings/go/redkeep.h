/*
 * The header every cgo file of this package includes. It is not the C
 * library's header: that one, and the static library, are built and put
 * next to this file by `bash scripts/build-go-lib.sh` (run in the redkeep
 * repository) as libredkeep.h and libredkeep.a. They sit in the package
 * directory, not a subdirectory, so that `go mod vendor` keeps them.
 *
 * When they are missing, the first line of the build error is this hint
 * instead of "No such file or directory".
 */
#ifndef REDKEEP_GO_H
#define REDKEEP_GO_H

#if defined(__has_include)
#if !__has_include("libredkeep.h") || !__has_include("libredkeep.a")
#error "redkeep: the C library is not built: run `bash scripts/build-go-lib.sh` in the redkeep repository (the directory two levels above this file), then build again"
#endif
#endif

#include "libredkeep.h"

#endif
