// Package kernelcfg reads OTP config files (`erl -config F1 F2 …`) exactly as OTP reads them
// and turns them into a typed kernel configuration.
//
// It has its own lexer and recursive-descent parser for Erlang terms as config files use them
// (atoms, quoted atoms, strings with every escape, integers with bases, $c and _, floats,
// lists with tails, tuples, maps, binaries, comments, UTF-8 or a latin-1 coding comment),
// producing a term tree with positions. Load merges files key by key (later wins), follows
// includes in a file named sys.config, applies OTP 25's duplicate checks and `-App Par Val`
// overrides, and validates:
//
//   - everything OTP refuses at boot (syntax, structure, kernel `distributed`,
//     `sync_nodes_timeout`, `start_dist_ac`, duplicates, includes);
//   - what OTP accepts but that breaks a node later: a negative failover timeout, a node
//     written as a string, a non-atom or a nested tuple inside a tier, sync lists that are not
//     lists of atoms (even when sync_nodes_timeout is unset), bad permissions, listen ports and
//     net_ticktime, and any error in the `gotp` section.
//
// Every error is an *Error; content errors print as one line "FILE:LINE:COL: what was found,
// what was expected" (columns in code points, a tab counting one), an unreadable file as
// "FILE: why". Known limits (all refused with a clear error, none seen in real config files):
// nesting deeper than 10000 levels; bitstrings (binaries that are not whole bytes); binary
// segment types other than integer, float and utf8/16/32; a timeout too large for a time.Duration (about 292 years).
package kernelcfg
