// Package scripts holds the project's shell scripts (see each script's
// header) and tests that run them with stand-ins for the commands they call.
// It has no Go code of its own; scripts/bench is the load benchmark.
package scripts
