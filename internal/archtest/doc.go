// Package archtest holds the repository's architecture checks, run as tests: rules that the
// compiler cannot enforce, such as "a status changes only through its aggregate's transitions".
package archtest
