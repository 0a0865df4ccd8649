// Package visbench holds the visibility benchmark (visbench_test.go): it
// loads a million closed runs into each configured backend and times the
// queries listings depend on. It is a benchmark, not a test: plain
// `go test` runs nothing here. See docs/PERFORMANCE.md for how to run it.
package visbench
