// Package shuffle holds the reference solutions of notebook 07's exercises
// (Spark shuffle skew): a salted aggregation with its merge step
// (shuffle/salt), AQE's skew-join split rule (shuffle/skewsplit) and the
// speculation rule (shuffle/speculate). Package shuffle/drill checks a
// learner's versions against them and against pkg/shuffle, which the
// simulator runs.
package shuffle
