// Package causal is the causal metadata of a multi-region store: Lamport
// clocks, vector clocks (one entry per region), hybrid logical clocks,
// session tokens, a causal delivery buffer that applies a remote event
// only after everything it depends on, and a checker that finds any
// region that applied an effect before its cause.
//
// The definitions are the literature's: Lamport, "Time, Clocks, and the
// Ordering of Events in a Distributed System" (CACM 1978) for logical
// clocks and happened-before; Fidge (1988) and Mattern (1989) for vector
// clocks; Kulkarni, Demirbas, Madappa, Avva and Leone, "Logical Physical
// Clocks" (OPODIS 2014) for hybrid logical clocks; Birman, Schiper and
// Stephenson (1991) for causal broadcast delivery; Lloyd et al., COPS
// (SOSP 2011) for exposing remote writes only after their dependencies.
package causal
