package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// newLogger returns a structured logger at level writing to w as text
// (logfmt; "console" and "" are accepted too, as Temporal's log.format)
// or as JSON lines.
func newLogger(w io.Writer, level slog.Level, format string) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(format) {
	case "", "text", "console", "logfmt":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}
