//go:build !cgo

package redkeep

// This package calls the redkeep C library through cgo: a build with
// CGO_ENABLED=0 (or without a C compiler) stops at the line below, whose
// message says so, instead of at "undefined: redkeep.EnsureServer". (A type,
// because the compiler checks type declarations first, and this file's
// name sorts before the others: its error is the first one.)
type needsCgo redkeep_needs_cgo__build_with_CGO_ENABLED_1_and_a_C_compiler
