// Package testutil holds the test helpers the guide asks for.
package testutil

import (
	"context"
	"net"
	"testing"
	"time"
)

// WithShortDeadline returns a context derived from t.Context() with a 2-second deadline.
func WithShortDeadline(t *testing.T) context.Context {
	t.Helper()
	return WithTimeout(t, 2*time.Second)
}

// WithTimeout returns a context derived from t.Context(), cancelled when the test ends.
func WithTimeout(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// GetFreePort returns a TCP port that is free right now.
func GetFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
