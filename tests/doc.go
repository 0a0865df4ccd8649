// Package tests holds Sundial's black-box tests: the official
// go.temporal.io/sdk client and workers run against a real server, either
// in-process (internal/server) or as a separate `sundial start-dev` process.
// The tests observe only what a Temporal user can observe: results, errors,
// gRPC codes and workflow histories.
package tests
