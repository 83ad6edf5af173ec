// Package doccheck keeps the README true: its test fails when the code reads an environment variable
// the README's configuration tables do not name.
package doccheck
